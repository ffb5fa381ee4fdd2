using System.Collections.Concurrent;
using System.Diagnostics;
using System.Formats.Tar;
using System.Text;
using System.Text.Json;
using Docker.DotNet;
using Docker.DotNet.Models;
using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Environments;

namespace MegaFlow.Environments.Docker;

/// <summary>
/// Environments as Docker containers, through Docker.DotNet against a local (unix socket) or
/// remote (tcp) engine. The handle's reference is the container's name, derived from the
/// environment id, so it stays valid when a reset recreates the container.
/// </summary>
/// <remarks>
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
public sealed class DockerProvider : IEnvironmentProvider, IResourceInventory, IImageInventory, IDisposable
{
    public const string ClusterLabel = "megaflow.cluster";
    public const string NodeLabel = "megaflow.node";
    public const string EnvironmentLabel = "megaflow.environment";
    public const string TaskLabel = "megaflow.task";
    public const string PoolLabel = "megaflow.pool";
    public const string SpecLabel = "megaflow.spec";

    /// <summary>Exit code reported for a command killed on timeout: 128 + SIGKILL.</summary>
    public const int KilledExitCode = 137;

    private static readonly JsonSerializerOptions SpecJson = new() { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    private readonly DockerProviderSettings _settings;
    private readonly DockerClient _client;
    private readonly EngineRetry _retry;
    private readonly ImagePuller _puller;
    private readonly SemaphoreSlim _creates;
    private readonly CancellationTokenSource _stopping = new();
    // Container id → die events we caused ourselves (kill on timeout, reset, destroy), so the event
    // watcher does not report them as lost. Entries expire in case the event never arrives.
    private readonly ConcurrentDictionary<string, DateTimeOffset> _expectedDeaths = new(StringComparer.Ordinal);
    // Container id → last seen (OOM kills, pids-limit hits), to tell which command ran into a limit.
    private readonly ConcurrentDictionary<string, (long Oom, long PidsMax)> _limitCounters = new(StringComparer.Ordinal);
    // Container name → id of the container currently holding it (changes on reset).
    private readonly ConcurrentDictionary<string, string> _ids = new(StringComparer.Ordinal);
    private readonly Task _eventWatcher;
    private int _disposed;
    private readonly TaskCompletionSource _eventsConnected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public DockerProvider(DockerProviderSettings settings)
    {
        if (settings.Problems() is { Count: > 0 } problems)
            throw new ArgumentException("Docker provider settings: " + string.Join("; ", problems), nameof(settings));
        _settings = settings;
        _client = new DockerClientConfiguration(new Uri(settings.Endpoint)).CreateClient();
        _retry = new EngineRetry(settings);
        _puller = new ImagePuller(_client, settings);
        _puller.Pulled += () => ImagesChanged?.Invoke();
        _creates = new SemaphoreSlim(settings.MaxConcurrentCreates);
        _eventWatcher = Task.Run(WatchEventsAsync);
    }

    /// <inheritdoc />
    public string Name => "docker";

    public DockerProviderSettings Settings => _settings;

    /// <summary>The engine client (tests and the benchmark inspect containers with it).</summary>
    public DockerClient Client => _client;

    /// <summary>Image pulls actually started (coalesced waits are not counted).</summary>
    public long PullsStarted => _puller.Pulls;

    /// <summary>Completes once the event stream is open (tests wait for it before killing containers).</summary>
    public Task EventsConnected => _eventsConnected.Task;

    /// <inheritdoc />
    public event Action<ResourceLost>? ResourceLost;

    /// <inheritdoc />
    public event Action? ImagesChanged;

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
        await CreateAndStartAsync(name, environmentId, spec, ct).ConfigureAwait(false);
        return new EnvironmentHandle(environmentId, Name, name);
    }

    private async Task CreateAndStartAsync(string name, string environmentId, EnvironmentSpec spec, CancellationToken ct)
    {
        var parameters = CreateParameters(name, environmentId, spec);
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
            await _puller.EnsureAsync(spec.Image, ct).ConfigureAwait(false);
        }
        _limitCounters.TryRemove(id, out _);
        _ids[name] = id;
        try
        {
            await _retry.RunAsync($"start container {name}", t => _client.Containers.StartContainerAsync(id, new ContainerStartParameters(), t), ct).ConfigureAwait(false);
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
                var created = await _retry.RunAsync($"create container {p.Name}", t => _client.Containers.CreateContainerAsync(p, t), ct).ConfigureAwait(false);
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

    private CreateContainerParameters CreateParameters(string name, string environmentId, EnvironmentSpec spec) => new()
    {
        Name = name,
        Image = spec.Image,
        Cmd = _settings.KeepAliveCommand.ToList(),
        Entrypoint = [],
        Env = [$"MEGAFLOW_ENV_ID={environmentId}"],
        Labels = new Dictionary<string, string>
        {
            [ClusterLabel] = _settings.Cluster,
            [NodeLabel] = _settings.Node,
            [EnvironmentLabel] = environmentId,
            [TaskLabel] = spec.TaskId ?? "",
            [PoolLabel] = spec.Pool,
            // Everything a reset needs to recreate the container, so the handle alone suffices.
            [SpecLabel] = JsonSerializer.Serialize(spec, SpecJson),
        },
        HostConfig = new HostConfig
        {
            NanoCPUs = (long)Math.Round(spec.CpuLimit * 1e9),
            Memory = spec.MemoryLimitBytes,
            MemorySwap = spec.MemoryLimitBytes, // equal to Memory: no swap beyond the limit
            PidsLimit = spec.PidsLimit,
            NetworkMode = string.IsNullOrWhiteSpace(spec.NetworkMode) ? "none" : spec.NetworkMode,
            Privileged = false,
            CapDrop = ["ALL"],
            CapAdd = _settings.CapAdd.ToList(),
            SecurityOpt = ["no-new-privileges"],
            Init = true,
        },
    };

    /// <inheritdoc />
    public async Task<ExecOutcome> ExecAsync(EnvironmentHandle handle, ExecRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfNegative(request.MaxOutputBytes);
        var name = handle.Reference;
        ContainerExecCreateResponse exec;
        try
        {
            exec = await _retry.RunAsync($"exec in {name}", t => _client.Exec.ExecCreateContainerAsync(name, new ContainerExecCreateParameters
            {
                Cmd = ["/bin/sh", "-c", request.Command],
                AttachStdout = true,
                AttachStderr = true,
                AttachStdin = false,
                Env = [$"MEGAFLOW_ENV_ID={handle.EnvironmentId}"],
            }, t), ct).ConfigureAwait(false);
        }
        catch (Exception e) when (EngineRetry.IsNotFound(e) || EngineRetry.IsConflict(e))
        {
            throw new EnvironmentUnavailableException($"container {name} of {handle.EnvironmentId} is gone or not running: {EngineRetry.Describe(e)}", e);
        }

        var startedAt = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var capture = new OutputCapture(request.MaxOutputBytes);
        var timedOut = false;
        ResourceLimit? limit = null;
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            if (request.Timeout != Timeout.InfiniteTimeSpan) deadline.CancelAfter(request.Timeout);
            MultiplexedStream? stream = null;
            try
            {
                // Not retried: the exec may have started, and running an agent's command twice is worse than failing.
                stream = await _client.Exec.StartAndAttachContainerExecAsync(exec.ID, false, deadline.Token).ConfigureAwait(false);
                await ReadAllAsync(stream, capture, deadline.Token).ConfigureAwait(false);
            }
            catch (Exception) when (deadline.IsCancellationRequested)
            {
                // The deadline passed (or the caller gave up) while starting or reading, however the
                // client surfaced it: an OperationCanceledException, or an IOException from the
                // cancelled stream. Either way the command may still be running: stop it. Read the
                // limit counters first: the restart gives the container a fresh cgroup.
                limit = await LimitHitAsync(name).ConfigureAwait(false);
                await KillProcessesAsync(name).ConfigureAwait(false);
                ct.ThrowIfCancellationRequested();
                timedOut = true;
            }
            catch (Exception e) when (stream is null && e is not OperationCanceledException)
            {
                throw new EnvironmentUnavailableException($"cannot start a command in container {name}: {EngineRetry.Describe(e)}", e);
            }
            finally
            {
                stream?.Dispose();
            }
        }
        clock.Stop();

        var exitCode = timedOut ? KilledExitCode : await ExitCodeAsync(exec.ID, name, ct).ConfigureAwait(false);
        if (!timedOut)
        {
            // A non-zero exit may mean the container itself died (killed from outside): that is the
            // infrastructure's failure, not the agent's, so it must not be reported as a result.
            if (exitCode != 0) await EnsureRunningAsync(name, handle.EnvironmentId, ct).ConfigureAwait(false);
            // Checked even after exit 0: a fork bomb's shell may exit while its detached children go on.
            limit = await LimitHitAsync(name).ConfigureAwait(false);
            // Processes that ran into the pids limit go on forking (a fork bomb never stops) and would
            // leave the environment unable to start the next command: stop them all, as on a timeout.
            if (limit == ResourceLimit.Pids) await KillProcessesAsync(name).ConfigureAwait(false);
        }
        var output = capture.Text();
        if (limit is not null) output += LimitNote(limit.Value, handle);
        if (timedOut) output += $"\n[megaflow] command killed after its timeout of {request.Timeout.TotalSeconds:0.###}s (every process in the environment was stopped; files are kept)\n";
        return new ExecOutcome(exitCode, output, capture.TotalBytes, capture.Truncated, timedOut, startedAt, clock.Elapsed) { LimitExceeded = limit };
    }

    private static async Task ReadAllAsync(MultiplexedStream stream, OutputCapture capture, CancellationToken ct)
    {
        var buffer = new byte[81920];
        while (true)
        {
            var r = await stream.ReadOutputAsync(buffer, 0, buffer.Length, ct).ConfigureAwait(false);
            if (r.EOF) return;
            capture.Append(buffer.AsSpan(0, r.Count)); // counted always, kept up to the bound
        }
    }

    private async Task<int> ExitCodeAsync(string execId, string name, CancellationToken ct)
    {
        // The stream ends a moment before the engine records the exit code.
        for (var i = 0; ; i++)
        {
            var info = await _retry.RunAsync($"inspect exec in {name}", t => _client.Exec.InspectContainerExecAsync(execId, t), ct).ConfigureAwait(false);
            if (!info.Running || i >= 200) return info.Running ? KilledExitCode : (int)info.ExitCode;
            await Task.Delay(10, ct).ConfigureAwait(false);
        }
    }

    private async Task EnsureRunningAsync(string name, string environmentId, CancellationToken ct)
    {
        ContainerInspectResponse info;
        try
        {
            info = await _retry.RunAsync($"inspect container {name}", t => _client.Containers.InspectContainerAsync(name, t), ct).ConfigureAwait(false);
        }
        catch (Exception e) when (EngineRetry.IsNotFound(e))
        {
            throw new EnvironmentUnavailableException($"container {name} of {environmentId} was removed during the command", e);
        }
        if (!info.State.Running)
            throw new EnvironmentUnavailableException(
                $"container {name} of {environmentId} stopped during the command (exit code {info.State.ExitCode}{(info.State.OOMKilled ? ", OOM-killed" : "")})");
    }

    /// <summary>Kills every process in the container (see remarks) and starts it again.</summary>
    private async Task KillProcessesAsync(string name)
    {
        using var cts = new CancellationTokenSource(_settings.ApiTimeout * 2);
        try
        {
            var info = await _client.Containers.InspectContainerAsync(name, cts.Token).ConfigureAwait(false);
            _limitCounters.TryRemove(info.ID, out _); // the restarted container's cgroup counts from zero
            ExpectDeath(info.ID);
            await _client.Containers.KillContainerAsync(info.ID, new ContainerKillParameters { Signal = "KILL" }, cts.Token).ConfigureAwait(false);
            await _client.Containers.WaitContainerAsync(info.ID, cts.Token).ConfigureAwait(false);
            await _retry.RunAsync($"restart container {name}", t => _client.Containers.StartContainerAsync(info.ID, new ContainerStartParameters(), t), cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not EnvironmentUnavailableException)
        {
            throw new EnvironmentUnavailableException($"cannot stop a timed-out command in container {name}: {EngineRetry.Describe(e)}", e);
        }
    }

    private async Task<ResourceLimit?> LimitHitAsync(string name)
    {
        try
        {
            if (!_ids.TryGetValue(name, out var id))
            {
                using var cts = new CancellationTokenSource(_settings.ApiTimeout);
                id = (await _client.Containers.InspectContainerAsync(name, cts.Token).ConfigureAwait(false)).ID;
                _ids[name] = id;
            }
            return ReadLimitHit(id);
        }
        catch (Exception)
        {
            return null; // classification is best effort; the exit code is still reported
        }
    }

    /// <summary>
    /// Compares the container cgroup's OOM-kill and pids-limit counters with their last values.
    /// Read from the host's cgroup file system (the engine is local); null when unreadable.
    /// </summary>
    private ResourceLimit? ReadLimitHit(string id)
    {
        var now = CgroupCounters.Read(id);
        if (now is null) return null;
        var before = _limitCounters.GetValueOrDefault(id);
        _limitCounters[id] = now.Value;
        return now.Value.Oom > before.Oom ? ResourceLimit.Memory
            : now.Value.PidsMax > before.PidsMax ? ResourceLimit.Pids
            : null;
    }

    private static string LimitNote(ResourceLimit limit, EnvironmentHandle handle) => limit switch
    {
        ResourceLimit.Memory => $"\n[megaflow] memory limit reached in {handle.EnvironmentId}: the kernel killed a process (OOM)\n",
        _ => $"\n[megaflow] process limit (pids) reached in {handle.EnvironmentId}: forks failed\n",
    };

    /// <inheritdoc />
    public async Task ResetAsync(EnvironmentHandle handle, CancellationToken ct)
    {
        var name = handle.Reference;
        ContainerInspectResponse info;
        try
        {
            info = await _retry.RunAsync($"inspect container {name}", t => _client.Containers.InspectContainerAsync(name, t), ct).ConfigureAwait(false);
        }
        catch (Exception e) when (EngineRetry.IsNotFound(e))
        {
            throw new EnvironmentUnavailableException($"container {name} of {handle.EnvironmentId} is gone", e);
        }
        if (!info.State.Running)
            throw new EnvironmentUnavailableException($"container {name} of {handle.EnvironmentId} is not running (exit code {info.State.ExitCode})");
        var spec = info.Config.Labels is { } labels && labels.TryGetValue(SpecLabel, out var json)
            ? JsonSerializer.Deserialize<EnvironmentSpec>(json, SpecJson)
            : null;
        if (spec is null)
            throw new EnvironmentUnavailableException($"container {name} has no {SpecLabel} label: cannot recreate it");
        await RemoveAsync(info.ID, name, ct).ConfigureAwait(false);
        await CreateAndStartAsync(name, handle.EnvironmentId, spec, ct).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task DestroyAsync(EnvironmentHandle handle, CancellationToken ct) => RemoveByNameAsync(handle.Reference, ct);

    /// <inheritdoc />
    public async Task<HealthStatus> CheckHealthAsync(EnvironmentHandle handle, CancellationToken ct)
    {
        try
        {
            var info = await _retry.RunAsync($"inspect container {handle.Reference}", t => _client.Containers.InspectContainerAsync(handle.Reference, t), ct).ConfigureAwait(false);
            return info.State.Running ? HealthStatus.Healthy : HealthStatus.Missing;
        }
        catch (Exception e) when (EngineRetry.IsNotFound(e))
        {
            return HealthStatus.Missing;
        }
    }

    /// <summary>Copies files into a directory of the environment (tar archive API); the directory must exist.</summary>
    public async Task CopyInAsync(EnvironmentHandle handle, string directory, IReadOnlyDictionary<string, byte[]> files, CancellationToken ct)
    {
        using var tar = new MemoryStream();
        await using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (path, content) in files)
            {
                var entry = new PaxTarEntry(TarEntryType.RegularFile, path.TrimStart('/'))
                {
                    DataStream = new MemoryStream(content),
                    Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                    ModificationTime = DateTimeOffset.UtcNow,
                };
                await writer.WriteEntryAsync(entry, ct).ConfigureAwait(false);
            }
        }
        try
        {
            await _retry.RunAsync($"copy into {handle.Reference}", async t =>
            {
                tar.Position = 0;
                await _client.Containers.ExtractArchiveToContainerAsync(handle.Reference, new ContainerPathStatParameters { Path = directory }, tar, t).ConfigureAwait(false);
            }, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (EngineRetry.IsNotFound(e))
        {
            throw new EnvironmentUnavailableException($"copy into {handle.Reference}:{directory}: {EngineRetry.Describe(e)}", e);
        }
    }

    /// <summary>Copies out at most this many bytes of archive by default: a copy of "/" must not exhaust the node's memory.</summary>
    public const long DefaultCopyOutLimit = 64L << 20;

    /// <summary>Copies a file or directory out of the environment: relative path → content of every regular file.</summary>
    /// <exception cref="InvalidDataException">The archive is larger than <paramref name="maxBytes"/>; nothing is returned.</exception>
    public async Task<IReadOnlyDictionary<string, byte[]>> CopyOutAsync(EnvironmentHandle handle, string path, CancellationToken ct, long maxBytes = DefaultCopyOutLimit)
    {
        try
        {
            return await _retry.RunAsync($"copy from {handle.Reference}", async t =>
            {
                var archive = await _client.Containers.GetArchiveFromContainerAsync(handle.Reference, new GetArchiveFromContainerParameters { Path = path }, false, t).ConfigureAwait(false);
                // Buffered: TarReader reads past entry ends on the engine's chunked HTTP stream.
                using var buffered = new MemoryStream();
                await using (archive.Stream) await CopyBoundedAsync(archive.Stream, buffered, maxBytes, $"{handle.Reference}:{path}", t).ConfigureAwait(false);
                buffered.Position = 0;
                var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
                await using var reader = new TarReader(buffered);
                while (await reader.GetNextEntryAsync(copyData: false, t).ConfigureAwait(false) is { } entry)
                {
                    if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null) continue;
                    using var content = new MemoryStream();
                    await entry.DataStream.CopyToAsync(content, t).ConfigureAwait(false);
                    files[entry.Name] = content.ToArray();
                }
                return (IReadOnlyDictionary<string, byte[]>)files;
            }, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (EngineRetry.IsNotFound(e))
        {
            throw new FileNotFoundException($"{path} does not exist in {handle.Reference} ({EngineRetry.Describe(e)})", path, e);
        }
    }

    private static async Task CopyBoundedAsync(Stream from, Stream to, long maxBytes, string what, CancellationToken ct)
    {
        var buffer = new byte[81920];
        long total = 0;
        int read;
        while ((read = await from.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            total += read;
            if (total > maxBytes)
                throw new InvalidDataException($"copy from {what}: the archive is larger than the limit of {maxBytes} bytes; copy a smaller path");
            await to.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ManagedResource>> ListResourcesAsync(CancellationToken ct)
    {
        var list = await ListContainersAsync(environmentId: null, ct).ConfigureAwait(false);
        // A container with our cluster and node labels but no environment label was not made by a
        // provider (someone copied the labels): not ours to judge, and it must not abort the sweep.
        return list.Where(c => c.Labels.ContainsKey(EnvironmentLabel))
            .Select(c => new ManagedResource(c.Labels[EnvironmentLabel], c.Names.FirstOrDefault()?.TrimStart('/') ?? c.ID, c.State == "running")).ToList();
    }

    /// <inheritdoc />
    public async Task RemoveResourcesOfAsync(string environmentId, CancellationToken ct)
    {
        foreach (var c in await ListContainersAsync(environmentId, ct).ConfigureAwait(false))
            await RemoveAsync(c.ID, c.Names.FirstOrDefault() ?? c.ID, ct).ConfigureAwait(false);
    }

    private Task<IList<ContainerListResponse>> ListContainersAsync(string? environmentId, CancellationToken ct)
    {
        // One environment's containers are found by its id alone: after its node incarnation died,
        // another node that shares the engine removes them when it marks the environment Lost
        // (environment ids are unique; only whole-node listings are limited to this node's address).
        var labels = new Dictionary<string, bool> { [$"{ClusterLabel}={_settings.Cluster}"] = true };
        if (environmentId is not null) labels[$"{EnvironmentLabel}={environmentId}"] = true;
        else labels[$"{NodeLabel}={_settings.Node}"] = true;
        return _retry.RunAsync("list containers", t => _client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = labels },
        }, t), ct);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListImagesAsync(CancellationToken ct)
    {
        var images = await _retry.RunAsync("list images", t => _client.Images.ListImagesAsync(new ImagesListParameters(), t), ct).ConfigureAwait(false);
        return images.SelectMany(i => i.RepoTags ?? []).Where(t => t != "<none>:<none>").Distinct().Order(StringComparer.Ordinal).ToList();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> WarmAsync(IReadOnlyList<string> images, CancellationToken ct)
    {
        var failures = new List<string>();
        foreach (var image in images.Distinct())
        {
            try
            {
                await _puller.EnsureAsync(image, ct).ConfigureAwait(false);
            }
            catch (EnvironmentUnavailableException e)
            {
                failures.Add(e.Message);
            }
        }
        return failures;
    }

    private async Task RemoveByNameAsync(string name, CancellationToken ct)
    {
        string id;
        try
        {
            id = (await _retry.RunAsync($"inspect container {name}", t => _client.Containers.InspectContainerAsync(name, t), ct).ConfigureAwait(false)).ID;
        }
        catch (Exception e) when (EngineRetry.IsNotFound(e))
        {
            return; // already gone
        }
        await RemoveAsync(id, name, ct).ConfigureAwait(false);
    }

    private async Task RemoveAsync(string id, string name, CancellationToken ct)
    {
        ExpectDeath(id);
        _ids.TryRemove(new KeyValuePair<string, string>(name, id));
        try
        {
            await _retry.RunAsync($"remove container {name}", t => _client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, t), ct).ConfigureAwait(false);
        }
        catch (Exception e) when (EngineRetry.IsNotFound(e))
        {
            // already gone
        }
        catch (DockerApiException e) when (EngineRetry.IsConflict(e) && e.ResponseBody?.Contains("already in progress", StringComparison.OrdinalIgnoreCase) == true)
        {
            // another remove of the same container is under way
        }
        _limitCounters.TryRemove(id, out _);
    }

    private async Task RemoveQuietlyAsync(string id)
    {
        try
        {
            using var cts = new CancellationTokenSource(_settings.ApiTimeout);
            await RemoveAsync(id, id, cts.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // best effort: the orphan sweep removes what is left
        }
    }

    private void ExpectDeath(string containerId) => _expectedDeaths[containerId] = DateTimeOffset.UtcNow.AddMinutes(2);

    private async Task WatchEventsAsync()
    {
        var parameters = new ContainerEventsParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["type"] = new Dictionary<string, bool> { ["container"] = true },
                ["event"] = new Dictionary<string, bool> { ["die"] = true },
                ["label"] = new Dictionary<string, bool>
                {
                    [$"{ClusterLabel}={_settings.Cluster}"] = true,
                    [$"{NodeLabel}={_settings.Node}"] = true,
                },
            },
        };
        // The engine's `since` replays every event of the given moment, so on a reconnect the last
        // events seen come again: skip what is not newer than the last one handled (nanoseconds), or
        // a replayed death of our own making would be reported as a loss of a healthy container.
        long lastSeenNano = 0;
        var progress = new SyncProgress<Message>(m =>
        {
            var at = m.TimeNano > 0 ? m.TimeNano : m.Time * 1_000_000_000;
            if (at <= lastSeenNano) return;
            lastSeenNano = at;
            OnDie(m);
        });
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                // Resume where the previous stream stopped, so deaths during a reconnect are not missed.
                if (lastSeenNano > 0)
                    parameters.Since = $"{lastSeenNano / 1_000_000_000}.{lastSeenNano % 1_000_000_000:D9}";
                var stream = _client.System.MonitorEventsAsync(parameters, progress, _stopping.Token);
                // The request is sent by now; a ping answered after it means the engine is listening.
                _ = _client.System.PingAsync(_stopping.Token).ContinueWith(_ => _eventsConnected.TrySetResult(), TaskScheduler.Default);
                await stream.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception)
            {
                // Engine restarting or unreachable: reconnect after a pause.
            }
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), _stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void OnDie(Message m)
    {
        var id = m.Actor?.ID ?? m.ID;
        if (id is null) return;
        var now = DateTimeOffset.UtcNow;
        foreach (var (k, until) in _expectedDeaths)
            if (until < now) _expectedDeaths.TryRemove(k, out _);
        if (_expectedDeaths.TryRemove(id, out _)) return;
        var attributes = m.Actor?.Attributes ?? new Dictionary<string, string>();
        if (!attributes.TryGetValue(EnvironmentLabel, out var environmentId)) return;
        var name = attributes.TryGetValue("name", out var n) ? n : id;
        var exit = attributes.TryGetValue("exitCode", out var x) ? x : "?";
        ResourceLost?.Invoke(new ResourceLost(environmentId, name, $"container {name} died (exit code {exit}) without MegaFlow stopping it"));
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _stopping.Cancel();
        try
        {
            _eventWatcher.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // stopping
        }
        _client.Dispose();
        _creates.Dispose();
        _stopping.Dispose();
    }
}
