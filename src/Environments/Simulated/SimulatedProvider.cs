using System.Collections.Concurrent;
using System.Globalization;
using MegaFlow.Contracts.Environments;

namespace MegaFlow.Environments.Simulated;

/// <summary>
/// Pretends to run environments, for scale tests without containers: each call waits a sampled
/// latency and may fail at a configured rate. Commands are not run: <c>exit N</c> returns exit code
/// N, anything else exits 0 with the output <c>simulated: &lt;command&gt;</c>.
/// </summary>
/// <remarks>
/// Environments live only in this object's memory, so a node restart loses them and
/// <see cref="CheckHealthAsync"/> then reports <see cref="HealthStatus.Missing"/> — what a real
/// provider would report after a host crash. With zero latency every call completes synchronously
/// and no timer is created, so the provider costs next to nothing in benchmarks. One seeded
/// <see cref="Random"/> is shared under a lock: sequential calls are reproducible for a given seed;
/// concurrent calls draw in whatever order they arrive.
/// </remarks>
public sealed class SimulatedProvider : IEnvironmentProvider
{
    /// <summary>Exit code reported when a command's simulated latency exceeds its timeout.</summary>
    public const int TimedOutExitCode = 137;

    private readonly SimulatedProviderSettings _settings;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly object _randomGate = new();
    private readonly ConcurrentDictionary<string, string> _environments = new(StringComparer.Ordinal);
    private long _provisioned;

    /// <param name="settings">Latencies, failure rates and seed; validated here.</param>
    /// <param name="timeProvider">Clock for delays and timestamps; the system clock if null.</param>
    public SimulatedProvider(SimulatedProviderSettings settings, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        _settings = settings;
        _time = timeProvider ?? TimeProvider.System;
        _random = settings.Seed is { } seed ? new Random(seed) : new Random();
    }

    /// <inheritdoc />
    public string Name => "simulated";

    /// <summary>The settings this provider runs with.</summary>
    public SimulatedProviderSettings Settings => _settings;

    /// <summary>Environments currently alive (provisioned, not destroyed or lost).</summary>
    public int LiveEnvironments => _environments.Count;

    /// <inheritdoc />
    public async Task<EnvironmentHandle> ProvisionAsync(string environmentId, EnvironmentSpec spec, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(environmentId);
        ArgumentNullException.ThrowIfNull(spec);
        ct.ThrowIfCancellationRequested();
        var (latency, fails) = Draw(_settings.ProvisionLatency, _settings.ProvisionFailureRate);
        await Delay(latency, ct).ConfigureAwait(false);
        if (fails) throw new EnvironmentUnavailableException($"simulated provisioning failure for {environmentId}");

        // A fresh reference per provisioning, so a handle from before a loss never revives.
        var reference = string.Create(CultureInfo.InvariantCulture, $"sim-{Interlocked.Increment(ref _provisioned)}:{environmentId}");
        _environments[reference] = environmentId;
        return new EnvironmentHandle(environmentId, Name, reference);
    }

    /// <inheritdoc />
    public async Task<ExecOutcome> ExecAsync(EnvironmentHandle handle, ExecRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfNegative(request.MaxOutputBytes);
        ct.ThrowIfCancellationRequested();
        RequireAlive(handle);

        var startedAt = _time.GetUtcNow();
        var started = _time.GetTimestamp();
        var (latency, lost) = Draw(_settings.ExecLatency, _settings.ExecLossRate);
        var timeout = request.Timeout;

        if (timeout != Timeout.InfiniteTimeSpan && latency > timeout)
        {
            await Delay(timeout, ct).ConfigureAwait(false);
            return new ExecOutcome(TimedOutExitCode, "", 0, false, TimedOut: true, startedAt, _time.GetElapsedTime(started));
        }

        await Delay(latency, ct).ConfigureAwait(false);
        if (lost)
        {
            _environments.TryRemove(handle.Reference, out _);
            throw new EnvironmentUnavailableException($"simulated loss of {handle.EnvironmentId} during exec");
        }
        // Destroyed or lost while the command was "running".
        RequireAlive(handle);

        var exitCode = ExitCodeOf(request.Command);
        var (output, bytes) = OutputCapture.Cap($"simulated: {request.Command}", request.MaxOutputBytes);
        return new ExecOutcome(exitCode, output, bytes, bytes > request.MaxOutputBytes, TimedOut: false, startedAt, _time.GetElapsedTime(started));
    }

    /// <inheritdoc />
    public async Task ResetAsync(EnvironmentHandle handle, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        RequireAlive(handle);
        var (latency, fails) = Draw(_settings.ResetLatency, _settings.ResetFailureRate);
        await Delay(latency, ct).ConfigureAwait(false);
        if (fails)
        {
            // A failed reset leaves nothing trustworthy behind: the environment counts as lost.
            _environments.TryRemove(handle.Reference, out _);
            throw new EnvironmentUnavailableException($"simulated reset failure of {handle.EnvironmentId}");
        }
        RequireAlive(handle);
    }

    /// <inheritdoc />
    public async Task DestroyAsync(EnvironmentHandle handle, CancellationToken ct)
    {
        CheckProvider(handle);
        ct.ThrowIfCancellationRequested();
        var (latency, _) = Draw(_settings.DestroyLatency, 0);
        await Delay(latency, ct).ConfigureAwait(false);
        _environments.TryRemove(handle.Reference, out _);
    }

    /// <inheritdoc />
    public Task<HealthStatus> CheckHealthAsync(EnvironmentHandle handle, CancellationToken ct)
    {
        CheckProvider(handle);
        ct.ThrowIfCancellationRequested();
        return Task.FromResult(_environments.ContainsKey(handle.Reference) ? HealthStatus.Healthy : HealthStatus.Missing);
    }

    /// <summary>Exit code for a simulated command: N for exactly "exit N", else 0.</summary>
    public static int ExitCodeOf(string command)
    {
        ArgumentNullException.ThrowIfNull(command);
        return command.StartsWith("exit ", StringComparison.Ordinal)
               && int.TryParse(command.AsSpan(5), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var code)
            ? code
            : 0;
    }

    private void RequireAlive(EnvironmentHandle handle)
    {
        CheckProvider(handle);
        if (!_environments.ContainsKey(handle.Reference))
            throw new EnvironmentUnavailableException($"simulated environment {handle.EnvironmentId} ({handle.Reference}) does not exist");
    }

    private void CheckProvider(EnvironmentHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (handle.Provider != Name)
            throw new ArgumentException($"handle of {handle.EnvironmentId} belongs to provider '{handle.Provider}', not '{Name}'", nameof(handle));
    }

    /// <summary>Samples a latency and a failure in one locked step, so a seeded run draws in a fixed order.</summary>
    private (TimeSpan Latency, bool Fails) Draw(LatencyDistribution latency, double failureRate)
    {
        if (latency.IsZero && failureRate <= 0) return (TimeSpan.Zero, false);
        lock (_randomGate)
        {
            var ms = latency.SampleMs(_random);
            // Rate 1 must always fail and rate 0 never: NextDouble is in [0, 1).
            var fails = failureRate > 0 && _random.NextDouble() < failureRate;
            return (TimeSpan.FromMilliseconds(ms), fails);
        }
    }

    private Task Delay(TimeSpan latency, CancellationToken ct) =>
        latency <= TimeSpan.Zero ? Task.CompletedTask : Task.Delay(latency, _time, ct);
}
