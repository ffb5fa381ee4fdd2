using System.Diagnostics;
using Docker.DotNet;
using Docker.DotNet.Models;
using MegaFlow.Contracts.Environments;
using MegaFlow.Environments.Docker.Lifecycle;
using MegaFlow.Environments.Docker.Limits;

namespace MegaFlow.Environments.Docker.Commands;

/// <summary>
/// Runs one command in a container (an exec under <c>/bin/sh -c</c>): captures its combined output
/// up to the request's bound, enforces its deadline by stopping every process in the container
/// (Docker cannot kill an exec), tells a command that failed from a container that died, and notes
/// a limit the command ran into.
/// </summary>
internal sealed class CommandRunner(
    DockerClient client,
    EngineRetry retry,
    ContainerInspector inspector,
    ContainerLifecycle lifecycle,
    LimitClassifier limits,
    DockerProviderSettings settings)
{
    public async Task<ExecOutcome> RunAsync(EnvironmentHandle handle, ExecRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfNegative(request.MaxOutputBytes);
        var name = handle.Reference;
        ContainerExecCreateResponse exec;
        try
        {
            exec = await retry.RunAsync($"exec in {name}", t => client.Exec.ExecCreateContainerAsync(name, new ContainerExecCreateParameters
            {
                Cmd = ["/bin/sh", "-c", request.Command],
                AttachStdout = true,
                AttachStderr = true,
                AttachStdin = false,
                Env = [$"MEGAFLOW_ENV_ID={handle.EnvironmentId}", .. (request.Environment ?? new Dictionary<string, string>()).Select(v => $"{v.Key}={v.Value}")],
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
                stream = await client.Exec.StartAndAttachContainerExecAsync(exec.ID, false, deadline.Token).ConfigureAwait(false);
                await ReadAllAsync(stream, capture, deadline.Token).ConfigureAwait(false);
            }
            catch (Exception) when (deadline.IsCancellationRequested)
            {
                // The deadline passed (or the caller gave up) while starting or reading, however the
                // client surfaced it: an OperationCanceledException, or an IOException from the
                // cancelled stream. Either way the command may still be running: stop it. Read the
                // limit counters first: the restart gives the container a fresh cgroup.
                limit = await LimitHitAsync(name).ConfigureAwait(false);
                await lifecycle.KillAllProcessesAsync(name).ConfigureAwait(false);
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

        var exitCode = timedOut ? DockerProvider.KilledExitCode : await ExitCodeAsync(exec.ID, name, ct).ConfigureAwait(false);
        if (!timedOut)
        {
            // A non-zero exit may mean the container itself died (killed from outside): that is the
            // infrastructure's failure, not the agent's, so it must not be reported as a result.
            if (exitCode != 0) await EnsureRunningAsync(name, handle.EnvironmentId, exitCode, ct).ConfigureAwait(false);
            // Checked even after exit 0: a fork bomb's shell may exit while its detached children go on.
            limit = await LimitHitAsync(name).ConfigureAwait(false);
            // Processes that ran into the pids limit go on forking (a fork bomb never stops) and would
            // leave the environment unable to start the next command: stop them all, as on a timeout.
            if (limit == ResourceLimit.Pids) await lifecycle.KillAllProcessesAsync(name).ConfigureAwait(false);
        }
        var output = capture.Text();
        if (limit is not null) output += LimitClassifier.Note(limit.Value, handle.EnvironmentId);
        if (timedOut) output += LimitClassifier.TimeoutNote(request.Timeout);
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
            var info = await retry.RunAsync($"inspect exec in {name}", t => client.Exec.InspectContainerExecAsync(execId, t), ct).ConfigureAwait(false);
            if (!info.Running || i >= 200) return info.Running ? DockerProvider.KilledExitCode : (int)info.ExitCode;
            await Task.Delay(10, ct).ConfigureAwait(false);
        }
    }

    // A command killed by a signal (exit code 128 + n) may have died with its container: when a
    // container is killed, the engine can report the exec's exit before it marks the container as
    // exited, so one inspect right away may still say "running" (seen once in a CI run under load:
    // the rest of the attempt then ran against a dying container and was scored as a failure). Such
    // an exit is checked again for a short while; any other non-zero exit is the command's own.
    private static readonly TimeSpan SignalSettle = TimeSpan.FromMilliseconds(100);
    private const int SignalChecks = 5;

    private async Task EnsureRunningAsync(string name, string environmentId, int exitCode, CancellationToken ct)
    {
        for (var check = 1; ; check++)
        {
            var info = await inspector.InspectAsync(name, ct).ConfigureAwait(false)
                ?? throw new EnvironmentUnavailableException($"container {name} of {environmentId} was removed during the command");
            if (!info.State.Running)
                throw new EnvironmentUnavailableException(
                    $"container {name} of {environmentId} stopped during the command (exit code {info.State.ExitCode}{(info.State.OOMKilled ? ", OOM-killed" : "")})");
            if (exitCode < 128 || check >= SignalChecks) return;
            await Task.Delay(SignalSettle, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Best effort, on its own clock (the command's deadline may have passed): null when unknown.</summary>
    private async Task<ResourceLimit?> LimitHitAsync(string name)
    {
        try
        {
            using var cts = new CancellationTokenSource(settings.ApiTimeout);
            return await inspector.IdOfAsync(name, cts.Token).ConfigureAwait(false) is { } id ? limits.Classify(id) : null;
        }
        catch (Exception)
        {
            return null; // the exit code is still reported
        }
    }
}
