using Docker.DotNet;
using Docker.DotNet.Models;
using MegaFlow.Contracts.Environments;
using MegaFlow.Environments.Docker.Events;
using MegaFlow.Environments.Docker.Limits;

namespace MegaFlow.Environments.Docker.Lifecycle;

/// <summary>
/// Creates, starts, kills, restarts and removes containers: provisioning (pulling a missing image
/// outside the create permit), reset by recreation, destroy, health, and stopping every process of
/// a container. Each stop the provider makes is announced to <see cref="ExpectedDeaths"/> first, and
/// each new or restarted container starts its limit counters afresh.
/// </summary>
internal sealed class ContainerLifecycle(
    DockerClient client,
    DockerProviderSettings settings,
    EngineRetry retry,
    ContainerInspector inspector,
    ImagePuller puller,
    LimitClassifier limits,
    ExpectedDeaths deaths) : IDisposable
{
    private readonly SemaphoreSlim _creates = new(settings.MaxConcurrentCreates);

    /// <summary>Creates the container under the name and starts it; on a failed start nothing is left behind.</summary>
    public async Task CreateAndStartAsync(string name, string environmentId, EnvironmentSpec spec, CancellationToken ct)
    {
        var parameters = ContainerParameters.Create(name, environmentId, spec, settings);
        string id;
        while (true)
        {
            await _creates.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                id = await CreateAsync(parameters, ct).ConfigureAwait(false);
                break;
            }
            catch (DockerImageNotFoundException)
            {
                // Missing image: pull it outside the create permit, then try again.
            }
            finally
            {
                _creates.Release();
            }
            await puller.EnsureAsync(spec.Image, ct).ConfigureAwait(false);
        }
        limits.Forget(id);
        inspector.Remember(name, id);
        try
        {
            await retry.RunAsync($"start container {name}", t => client.Containers.StartContainerAsync(id, new ContainerStartParameters(), t), ct).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await RemoveQuietlyAsync(id).ConfigureAwait(false);
            if (e is EnvironmentUnavailableException or OperationCanceledException) throw;
            throw new EnvironmentUnavailableException($"cannot start container {name} from image '{spec.Image}': {EngineRetry.Describe(e)}", e);
        }
    }

    private async Task<string> CreateAsync(CreateContainerParameters p, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var created = await retry.RunAsync($"create container {p.Name}", t => client.Containers.CreateContainerAsync(p, t), ct).ConfigureAwait(false);
                return created.ID;
            }
            catch (Exception e) when (EngineRetry.IsConflict(e) && attempt == 1)
            {
                // The name is taken: a retried create that had succeeded, or a leftover of an earlier
                // provisioning of the same environment id. It is ours either way; replace it.
                await RemoveByNameAsync(p.Name, ct).ConfigureAwait(false);
            }
            catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound && e.ResponseBody?.Contains("image", StringComparison.OrdinalIgnoreCase) == true)
            {
                throw new DockerImageNotFoundException(e.StatusCode, e.ResponseBody);
            }
            catch (EnvironmentUnavailableException)
            {
                throw;
            }
            catch (DockerApiException e)
            {
                throw new EnvironmentUnavailableException($"cannot create container {p.Name} from image '{p.Image}': {EngineRetry.Describe(e)}", e);
            }
        }
    }

    /// <summary>Removes the running container and creates it again from its spec label, under the same name.</summary>
    public async Task ResetAsync(string name, string environmentId, CancellationToken ct)
    {
        var info = await inspector.InspectAsync(name, ct).ConfigureAwait(false)
            ?? throw new EnvironmentUnavailableException($"container {name} of {environmentId} is gone");
        if (!info.State.Running)
            throw new EnvironmentUnavailableException($"container {name} of {environmentId} is not running (exit code {info.State.ExitCode})");
        var spec = ContainerParameters.SpecOf(info.Config.Labels)
            ?? throw new EnvironmentUnavailableException($"container {name} has no {DockerProvider.SpecLabel} label: cannot recreate it");
        await RemoveAsync(info.ID, name, ct).ConfigureAwait(false);
        await CreateAndStartAsync(name, environmentId, spec, ct).ConfigureAwait(false);
    }

    /// <summary>Healthy while the container runs; Missing when it stopped or is gone.</summary>
    public async Task<HealthStatus> CheckHealthAsync(string name, CancellationToken ct) =>
        await inspector.InspectAsync(name, ct).ConfigureAwait(false) is { State.Running: true } ? HealthStatus.Healthy : HealthStatus.Missing;

    /// <summary>
    /// Kills every process in the container (SIGKILL to its init takes its whole pid namespace) and
    /// starts it again; its file system is kept. Bounded on its own clock: it runs after the
    /// caller's deadline has passed.
    /// </summary>
    public async Task KillAllProcessesAsync(string name)
    {
        using var cts = new CancellationTokenSource(settings.ApiTimeout * 2);
        try
        {
            var info = await inspector.InspectAsync(name, cts.Token).ConfigureAwait(false)
                ?? throw new EnvironmentUnavailableException($"cannot stop a timed-out command in container {name}: the container is gone");
            limits.Forget(info.ID); // the restarted container's cgroup counts from zero
            deaths.Expect(info.ID);
            await client.Containers.KillContainerAsync(info.ID, new ContainerKillParameters { Signal = "KILL" }, cts.Token).ConfigureAwait(false);
            await client.Containers.WaitContainerAsync(info.ID, cts.Token).ConfigureAwait(false);
            await retry.RunAsync($"restart container {name}", t => client.Containers.StartContainerAsync(info.ID, new ContainerStartParameters(), t), cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not EnvironmentUnavailableException)
        {
            throw new EnvironmentUnavailableException($"cannot stop a timed-out command in container {name}: {EngineRetry.Describe(e)}", e);
        }
    }

    /// <summary>Removes the container holding the name; succeeds when there is none.</summary>
    public async Task RemoveByNameAsync(string name, CancellationToken ct)
    {
        if (await inspector.InspectAsync(name, ct).ConfigureAwait(false) is { } info)
            await RemoveAsync(info.ID, name, ct).ConfigureAwait(false);
    }

    /// <summary>Removes the container (forced, with its volumes); succeeds when it is gone or being removed.</summary>
    public async Task RemoveAsync(string id, string name, CancellationToken ct)
    {
        deaths.Expect(id);
        inspector.Forget(name, id);
        try
        {
            await retry.RunAsync($"remove container {name}", t => client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, t), ct).ConfigureAwait(false);
        }
        catch (Exception e) when (EngineRetry.IsNotFound(e))
        {
            // already gone
        }
        catch (DockerApiException e) when (EngineRetry.IsConflict(e) && e.ResponseBody?.Contains("already in progress", StringComparison.OrdinalIgnoreCase) == true)
        {
            // another remove of the same container is under way
        }
        limits.Forget(id);
    }

    private async Task RemoveQuietlyAsync(string id)
    {
        try
        {
            using var cts = new CancellationTokenSource(settings.ApiTimeout);
            await RemoveAsync(id, id, cts.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // best effort: the orphan sweep removes what is left
        }
    }

    public void Dispose() => _creates.Dispose();
}
