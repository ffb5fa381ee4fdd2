using System.Text;
using Docker.DotNet;
using MegaFlow.Contracts.Environments;
using MegaFlow.Environments.Docker.Archives;
using MegaFlow.Environments.Docker.Commands;
using MegaFlow.Environments.Docker.Events;
using MegaFlow.Environments.Docker.Inventory;
using MegaFlow.Environments.Docker.Lifecycle;
using MegaFlow.Environments.Docker.Limits;

namespace MegaFlow.Environments.Docker;

/// <summary>
/// Environments as Docker containers, through Docker.DotNet against a local (unix socket) or
/// remote (tcp) engine. The handle's reference is the container's name, derived from the
/// environment id, so it stays valid when a reset recreates the container.
/// </summary>
/// <remarks>
/// <para>A facade over one part per job, all sharing one engine client, one retry policy
/// (<see cref="EngineRetry"/>) and one way to inspect a container (<see cref="ContainerInspector"/>):
/// <see cref="ContainerLifecycle"/>, <see cref="CommandRunner"/>, <see cref="LimitClassifier"/>,
/// <see cref="ArchiveCopier"/>, <see cref="ContainerInventory"/> and <see cref="ImageInventory"/>,
/// and <see cref="EngineEvents"/>.</para>
/// <para><b>Isolation.</b> Each container gets the spec's CPU (NanoCPUs), memory (no extra swap) and
/// pids limits and network mode ("none" by default); it is unprivileged, drops all capabilities but
/// <see cref="DockerProviderSettings.CapAdd"/>, and runs with no-new-privileges. Its main process is
/// a keep-alive command under Docker's init (tini), which reaps orphaned processes.</para>
/// <para><b>Exec timeouts.</b> Docker has no API to kill an exec. A timed-out command is stopped by
/// killing the container (SIGKILL to its init, which takes every process in its pid namespace:
/// the command, its children, anything it detached or double-forked, a fork bomb) and starting it
/// again. Its file system is kept, so the environment stays usable; background processes the task
/// started earlier are gone, which the outcome's TimedOut flag tells the agent. Running the command
/// under <c>timeout</c> instead would depend on the image having one and would miss processes that
/// leave the process group.</para>
/// <para><b>Reset.</b> Persistent environments are reset by removing the container and creating it
/// again from its image with the same name, labels and limits: nothing a task wrote (files,
/// processes, environment) survives. With vfs storage this costs one copy of the image.</para>
/// <para><b>Engine failures.</b> Calls that time out or fail with 5xx are retried with backoff
/// (<see cref="EngineRetry"/>), then surface as <see cref="EnvironmentUnavailableException"/>
/// (infrastructure failure). Creates are bounded per engine by
/// <see cref="DockerProviderSettings.MaxConcurrentCreates"/>.</para>
/// <para><b>Events.</b> A background subscription to the engine's event stream (labels of this
/// cluster and node, action "die") raises <see cref="ResourceLost"/> for containers that died
/// without the provider stopping them.</para>
/// </remarks>
public sealed class DockerProvider : IEnvironmentProvider, IResourceInventory, IImageInventory, IGatewayAddressing, IDisposable
{
    public const string ClusterLabel = "megaflow.cluster";
    public const string NodeLabel = "megaflow.node";
    public const string EnvironmentLabel = "megaflow.environment";
    public const string TaskLabel = "megaflow.task";
    public const string PoolLabel = "megaflow.pool";
    public const string SpecLabel = "megaflow.spec";

    /// <summary>Exit code reported for a command killed on timeout: 128 + SIGKILL.</summary>
    public const int KilledExitCode = 137;

    /// <summary>Copies out at most this many bytes of archive by default: a copy of "/" must not exhaust the node's memory.</summary>
    public const long DefaultCopyOutLimit = 64L << 20;

    private readonly DockerClient _client;
    private readonly ImagePuller _puller;
    private readonly ContainerLifecycle _lifecycle;
    private readonly CommandRunner _commands;
    private readonly ArchiveCopier _archives;
    private readonly ContainerInventory _containers;
    private readonly ImageInventory _images;
    private readonly EngineEvents _events;
    private readonly Networking.GatewayNetwork _gatewayNetwork;
    private int _disposed;

    public DockerProvider(DockerProviderSettings settings)
    {
        if (settings.Problems() is { Count: > 0 } problems)
            throw new ArgumentException("Docker provider settings: " + string.Join("; ", problems), nameof(settings));
        Settings = settings;
        _client = new DockerClientConfiguration(new Uri(settings.Endpoint)).CreateClient();
        var retry = new EngineRetry(settings);
        var inspector = new ContainerInspector(_client, retry);
        var limits = new LimitClassifier();
        var deaths = new ExpectedDeaths();
        _puller = new ImagePuller(_client, settings, retry);
        _puller.Pulled += () => ImagesChanged?.Invoke();
        _lifecycle = new ContainerLifecycle(_client, settings, retry, inspector, _puller, limits, deaths);
        _commands = new CommandRunner(_client, retry, inspector, _lifecycle, limits, settings);
        _archives = new ArchiveCopier(_client, retry);
        _containers = new ContainerInventory(_client, settings, retry, _lifecycle);
        _images = new ImageInventory(_client, retry, _puller);
        _gatewayNetwork = new Networking.GatewayNetwork(_client, retry, settings);
        _events = new EngineEvents(_client, settings, deaths, lost => ResourceLost?.Invoke(lost));
    }

    /// <inheritdoc />
    public string Name => "docker";

    public DockerProviderSettings Settings { get; }

    /// <summary>The engine client (tests and the benchmark inspect containers with it).</summary>
    public DockerClient Client => _client;

    /// <summary>Image pulls actually started (coalesced waits are not counted).</summary>
    public long PullsStarted => _puller.Pulls;

    /// <summary>Completes once the event stream is open (tests wait for it before killing containers).</summary>
    public Task EventsConnected => _events.Connected;

    /// <inheritdoc />
    public event Action<ResourceLost>? ResourceLost;

    /// <inheritdoc />
    public event Action? ImagesChanged;

    /// <inheritdoc />
    /// <remarks>Creates the gateway network when missing.</remarks>
    public IReadOnlyList<System.Net.IPAddress> GatewayListenAddresses() =>
        [_gatewayNetwork.AddressAsync(CancellationToken.None).GetAwaiter().GetResult()];

    /// <inheritdoc />
    public Uri GatewayFor(EnvironmentHandle handle, Uri loopbackGateway) =>
        new($"http://{_gatewayNetwork.AddressAsync(CancellationToken.None).GetAwaiter().GetResult()}:{loopbackGateway.Port}/");

    /// <summary>Container name for an environment id: characters Docker does not allow become '_'.</summary>
    public static string ContainerName(string environmentId)
    {
        ArgumentException.ThrowIfNullOrEmpty(environmentId);
        var sb = new StringBuilder("mf-", environmentId.Length + 3);
        foreach (var c in environmentId)
            sb.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_');
        return sb.ToString();
    }

    /// <inheritdoc />
    public async Task<EnvironmentHandle> ProvisionAsync(string environmentId, EnvironmentSpec spec, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var name = ContainerName(environmentId);
        await _lifecycle.CreateAndStartAsync(name, environmentId, spec, ct).ConfigureAwait(false);
        return new EnvironmentHandle(environmentId, Name, name);
    }

    /// <inheritdoc />
    public Task<ExecOutcome> ExecAsync(EnvironmentHandle handle, ExecRequest request, CancellationToken ct) =>
        _commands.RunAsync(handle, request, ct);

    /// <inheritdoc />
    public Task ResetAsync(EnvironmentHandle handle, CancellationToken ct) =>
        _lifecycle.ResetAsync(handle.Reference, handle.EnvironmentId, ct);

    /// <inheritdoc />
    public Task DestroyAsync(EnvironmentHandle handle, CancellationToken ct) => _lifecycle.RemoveByNameAsync(handle.Reference, ct);

    /// <inheritdoc />
    public Task<HealthStatus> CheckHealthAsync(EnvironmentHandle handle, CancellationToken ct) =>
        _lifecycle.CheckHealthAsync(handle.Reference, ct);

    /// <summary>Copies files into a directory of the environment (tar archive API); the directory must exist.</summary>
    public Task CopyInAsync(EnvironmentHandle handle, string directory, IReadOnlyDictionary<string, byte[]> files, CancellationToken ct) =>
        _archives.CopyInAsync(handle.Reference, directory, files, ct);

    /// <summary>Copies a file or directory out of the environment: relative path → content of every regular file.</summary>
    /// <exception cref="InvalidDataException">The archive is larger than <paramref name="maxBytes"/>; nothing is returned.</exception>
    public Task<IReadOnlyDictionary<string, byte[]>> CopyOutAsync(EnvironmentHandle handle, string path, CancellationToken ct, long maxBytes = DefaultCopyOutLimit) =>
        _archives.CopyOutAsync(handle.Reference, path, maxBytes, ct);

    /// <inheritdoc />
    public Task<IReadOnlyList<ManagedResource>> ListResourcesAsync(CancellationToken ct) => _containers.ListResourcesAsync(ct);

    /// <inheritdoc />
    public Task RemoveResourcesOfAsync(string environmentId, CancellationToken ct) => _containers.RemoveResourcesOfAsync(environmentId, ct);

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> ListImagesAsync(CancellationToken ct) => _images.ListImagesAsync(ct);

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> WarmAsync(IReadOnlyList<string> images, CancellationToken ct) => _images.WarmAsync(images, ct);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _events.Stop();
        _client.Dispose();
        _lifecycle.Dispose();
    }
}
