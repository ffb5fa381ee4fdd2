using Docker.DotNet;
using Docker.DotNet.Models;
using MegaFlow.Environments.Docker.Lifecycle;

namespace MegaFlow.Environments.Docker.Inventory;

/// <summary>
/// Finds the containers this provider made, by their labels: every one of this cluster and node
/// (the node's orphan sweep), or every one of an environment wherever on the engine it was made
/// (removing a lost environment's leftovers).
/// </summary>
internal sealed class ContainerInventory(DockerClient client, DockerProviderSettings settings, EngineRetry retry, ContainerLifecycle lifecycle)
{
    /// <summary>This cluster's and node's containers, running or not.</summary>
    public async Task<IReadOnlyList<ManagedResource>> ListResourcesAsync(CancellationToken ct) =>
        Resources(await ListAsync(environmentId: null, ct).ConfigureAwait(false));

    /// <summary>Removes every container made for the environment; succeeds when there is none.</summary>
    public async Task RemoveResourcesOfAsync(string environmentId, CancellationToken ct)
    {
        foreach (var c in await ListAsync(environmentId, ct).ConfigureAwait(false))
            await lifecycle.RemoveAsync(c.ID, c.Names.FirstOrDefault() ?? c.ID, ct).ConfigureAwait(false);
    }

    private Task<IList<ContainerListResponse>> ListAsync(string? environmentId, CancellationToken ct) =>
        retry.RunAsync("list containers", t => client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = LabelFilter(settings, environmentId) },
        }, t), ct);

    /// <summary>
    /// The labels to list by: this cluster's, and the environment's when one is given, else this node's.
    /// </summary>
    /// <remarks>
    /// One environment's containers are found by its id alone: after its node incarnation died,
    /// another node that shares the engine removes them when it marks the environment Lost
    /// (environment ids are unique; only whole-node listings are limited to this node's address).
    /// </remarks>
    internal static Dictionary<string, bool> LabelFilter(DockerProviderSettings settings, string? environmentId)
    {
        var labels = new Dictionary<string, bool> { [$"{DockerProvider.ClusterLabel}={settings.Cluster}"] = true };
        if (environmentId is not null) labels[$"{DockerProvider.EnvironmentLabel}={environmentId}"] = true;
        else labels[$"{DockerProvider.NodeLabel}={settings.Node}"] = true;
        return labels;
    }

    /// <summary>The listed containers as resources, named as handles name them (without Docker's leading '/').</summary>
    /// <remarks>
    /// A container with our cluster and node labels but no environment label was not made by a
    /// provider (someone copied the labels): not ours to judge, and it must not abort the sweep.
    /// </remarks>
    internal static IReadOnlyList<ManagedResource> Resources(IEnumerable<ContainerListResponse> containers) =>
        containers.Where(c => c.Labels?.ContainsKey(DockerProvider.EnvironmentLabel) == true)
            .Select(c => new ManagedResource(c.Labels[DockerProvider.EnvironmentLabel], c.Names?.FirstOrDefault()?.TrimStart('/') ?? c.ID, c.State == "running"))
            .ToList();
}
