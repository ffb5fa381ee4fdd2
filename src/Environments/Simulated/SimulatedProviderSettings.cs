namespace MegaFlow.Environments.Simulated;

/// <summary>
/// Latencies and failure rates of the <see cref="SimulatedProvider"/>. Rates are probabilities in [0, 1]
/// drawn independently per call.
/// </summary>
public sealed record SimulatedProviderSettings
{
    /// <summary>Time to create an environment (think container start).</summary>
    public LatencyDistribution ProvisionLatency { get; init; } = LatencyDistribution.Zero;

    /// <summary>Time a command "runs"; a sample above the request's timeout makes the exec time out.</summary>
    public LatencyDistribution ExecLatency { get; init; } = LatencyDistribution.Zero;

    /// <summary>Time to return an environment to its image's state.</summary>
    public LatencyDistribution ResetLatency { get; init; } = LatencyDistribution.Zero;

    /// <summary>Time to remove an environment.</summary>
    public LatencyDistribution DestroyLatency { get; init; } = LatencyDistribution.Zero;

    /// <summary>Chance that provisioning fails (after its latency) with <see cref="EnvironmentUnavailableException"/>.</summary>
    public double ProvisionFailureRate { get; init; }

    /// <summary>Chance that the environment is lost during an exec: the call throws
    /// <see cref="EnvironmentUnavailableException"/> and the environment is gone afterwards.</summary>
    public double ExecLossRate { get; init; }

    /// <summary>Chance that a reset fails: the call throws <see cref="EnvironmentUnavailableException"/>
    /// and the environment is gone afterwards.</summary>
    public double ResetFailureRate { get; init; }

    /// <summary>Seed for the provider's random source; null for a different run every time.</summary>
    public int? Seed { get; init; }

    /// <summary>No latency, no failures: the fastest possible provider, for benchmarks of everything else.</summary>
    public static SimulatedProviderSettings Instant { get; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> if a rate is outside [0, 1] or a distribution is missing.</summary>
    public void Validate()
    {
        Rate(ProvisionFailureRate, nameof(ProvisionFailureRate));
        Rate(ExecLossRate, nameof(ExecLossRate));
        Rate(ResetFailureRate, nameof(ResetFailureRate));
        ArgumentNullException.ThrowIfNull(ProvisionLatency, nameof(ProvisionLatency));
        ArgumentNullException.ThrowIfNull(ExecLatency, nameof(ExecLatency));
        ArgumentNullException.ThrowIfNull(ResetLatency, nameof(ResetLatency));
        ArgumentNullException.ThrowIfNull(DestroyLatency, nameof(DestroyLatency));
    }

    private static void Rate(double value, string name)
    {
        if (!(value >= 0 && value <= 1))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be a probability in [0, 1]");
    }
}
