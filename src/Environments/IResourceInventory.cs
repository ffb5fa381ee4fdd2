namespace MegaFlow.Environments;

/// <summary>One resource a provider created (a container), as found on the machine.</summary>
/// <param name="EnvironmentId">The environment it was created for (from its labels).</param>
/// <param name="Reference">The provider's reference, as in <see cref="MegaFlow.Contracts.Environments.EnvironmentHandle.Reference"/>.</param>
/// <param name="Running">False for a resource that exists but is stopped (killed, exited).</param>
public sealed record ManagedResource(string EnvironmentId, string Reference, bool Running);

/// <summary>A resource died without the provider being asked to stop it (e.g. `docker kill` from outside).</summary>
public sealed record ResourceLost(string EnvironmentId, string Reference, string Reason);

/// <summary>
/// Implemented by providers that can find an environment's resource from its id alone. An
/// environment whose provisioning was cut short by a crash has no persisted handle, yet its folder
/// or container may exist: the recovering EnvironmentActor removes it through this.
/// </summary>
public interface IResourceRemoval
{
    /// <summary>Removes every resource created for the environment; succeeds if there is none.</summary>
    Task RemoveResourcesOfAsync(string environmentId, CancellationToken ct);
}

/// <summary>
/// Implemented by providers whose resources outlive the node process (containers): the node lists
/// what this node created to remove orphans, and hears of resources that die on their own, so
/// their environments are marked Lost at once instead of at the next command.
/// </summary>
public interface IResourceInventory : IResourceRemoval
{
    /// <summary>Every resource this node's provider created (this cluster and node only), running or not.</summary>
    Task<IReadOnlyList<ManagedResource>> ListResourcesAsync(CancellationToken ct);

    /// <summary>Raised (on a background thread) for each resource that died on its own.</summary>
    event Action<ResourceLost>? ResourceLost;
}

/// <summary>Implemented by providers that run images: which images the node holds, and warming them.</summary>
public interface IImageInventory
{
    /// <summary>Image references present on the node (e.g. "megaflow/base:1").</summary>
    Task<IReadOnlyList<string>> ListImagesAsync(CancellationToken ct);

    /// <summary>Makes sure the images are present (pulling the missing ones); failures are returned, not thrown.</summary>
    Task<IReadOnlyList<string>> WarmAsync(IReadOnlyList<string> images, CancellationToken ct);

    /// <summary>Raised after an image was pulled, so the node can report its images again.</summary>
    event Action? ImagesChanged;
}
