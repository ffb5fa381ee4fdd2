using System.Collections.Concurrent;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace MegaFlow.Environments.Docker;

/// <summary>
/// The provider's one way to look a container up by name or id: through the engine retry policy,
/// with "no such container" as null rather than an exception, so each caller says in one line what
/// a missing container means to it (gone, lost, nothing to do). Also remembers which container id
/// currently holds a name (a reset gives the name a new container), so per-command work need not
/// ask the engine.
/// </summary>
internal sealed class ContainerInspector(DockerClient client, EngineRetry retry)
{
    // Container name → id of the container currently holding it.
    private readonly ConcurrentDictionary<string, string> _ids = new(StringComparer.Ordinal);

    /// <summary>The container's state and configuration; null when the engine has no such container.</summary>
    public async Task<ContainerInspectResponse?> InspectAsync(string nameOrId, CancellationToken ct)
    {
        try
        {
            return await retry.RunAsync($"inspect container {nameOrId}", t => client.Containers.InspectContainerAsync(nameOrId, t), ct).ConfigureAwait(false);
        }
        catch (Exception e) when (EngineRetry.IsNotFound(e))
        {
            return null;
        }
    }

    /// <summary>The id of the container holding the name: remembered, else inspected; null when there is none.</summary>
    public async Task<string?> IdOfAsync(string name, CancellationToken ct)
    {
        if (_ids.TryGetValue(name, out var id)) return id;
        if (await InspectAsync(name, ct).ConfigureAwait(false) is not { } info) return null;
        _ids[name] = info.ID;
        return info.ID;
    }

    /// <summary>Records that the name now belongs to this container (after a create).</summary>
    public void Remember(string name, string id) => _ids[name] = id;

    /// <summary>Forgets the name, if it still belongs to this container (after a remove).</summary>
    public void Forget(string name, string id) => _ids.TryRemove(new KeyValuePair<string, string>(name, id));
}
