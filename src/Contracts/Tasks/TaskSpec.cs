using System.Text.Json.Serialization;

namespace MegaFlow.Contracts.Tasks;

/// <summary>
/// What a user submits: one agent task. Fields are plain strings and numbers (not enums) so that a
/// spec arriving from JSON or another process can be validated field by field with errors that
/// name the field, instead of failing somewhere inside a deserializer.
/// </summary>
public sealed record TaskSpec
{
    /// <summary>Unique task id; submitting the same id twice is idempotent.</summary>
    public string? TaskId { get; init; }

    /// <summary>"ephemeral" or "persistent".</summary>
    public string? Mode { get; init; }

    /// <summary>Image (or, for the local-process provider, a label) the environment is created from.</summary>
    public string? Image { get; init; }

    /// <summary>Pool key for persistent mode; defaults to the image.</summary>
    public string? Pool { get; init; }

    /// <summary>
    /// The scheduler quota the task counts against (e.g. "train", "eval": lowercase letters, digits, '-').
    /// A quota caps how many of its tasks hold a run slot at once, so a long training backlog and an
    /// evaluation both progress. Null (every spec and journal from before quotas) is the default,
    /// unlimited quota; a name the scheduler has not configured is unlimited too (it logs a warning).
    /// </summary>
    public string? Quota { get; init; }

    /// <summary>The scripted agent's actions: one shell command per round.</summary>
    public IReadOnlyList<string>? Actions { get; init; }

    /// <summary>
    /// The agent that decides the rounds; null (every spec and journal from before agents could be
    /// named) is the scripted agent, see <see cref="AgentKind"/>.
    /// </summary>
    public AgentSpec? Agent { get; init; }

    /// <summary>Run in the same environment after the agent's rounds; exit code 0 means solved.</summary>
    public string? ScoreCommand { get; init; }

    /// <summary>Upper bound on agent rounds.</summary>
    public int MaxRounds { get; init; } = 10;

    /// <summary>Budget for getting an environment ready (admission wait not included).</summary>
    public double SetupTimeoutSeconds { get; init; } = 120;

    /// <summary>Budget for all agent rounds together.</summary>
    public double RunTimeoutSeconds { get; init; } = 600;

    /// <summary>Budget for the scoring command.</summary>
    public double ScoringTimeoutSeconds { get; init; } = 120;

    /// <summary>Per-command timeout inside the environment.</summary>
    public double ExecTimeoutSeconds { get; init; } = 60;

    /// <summary>How often an infrastructure failure is retried with a fresh environment.</summary>
    public int MaxInfraRetries { get; init; } = 2;

    /// <summary>CPUs the environment may use (fractions allowed). Enforced by providers with limits (Docker).</summary>
    public double CpuLimit { get; init; } = 1.0;

    /// <summary>Memory limit of the environment in MiB; a process past it is killed (Docker: OOM killer).</summary>
    public int MemoryLimitMb { get; init; } = 1024;

    /// <summary>Most processes the environment may hold at once (Docker: pids limit; stops fork bombs).</summary>
    public int PidsLimit { get; init; } = 512;

    /// <summary>Network of the environment: "none" (default, no network), "bridge", or a user-defined network's name.</summary>
    public string Network { get; init; } = "none";

    /// <summary>Free-form labels and payload for the agent (problem statement, dataset, group).</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>The parsed mode; only meaningful after validation succeeded.</summary>
    [JsonIgnore]
    public ExecutionMode ExecutionMode =>
        string.Equals(Mode, "persistent", StringComparison.OrdinalIgnoreCase) ? ExecutionMode.Persistent : ExecutionMode.Ephemeral;

    /// <summary>The agent kind: <see cref="AgentSpec.Kind"/>, or scripted when the spec names no agent.</summary>
    [JsonIgnore]
    public string AgentKind => Agent?.Kind ?? AgentKinds.Scripted;

    /// <summary>The pool this task draws from (persistent mode) or is counted against (per-pool caps).</summary>
    [JsonIgnore]
    public string PoolKey => string.IsNullOrWhiteSpace(Pool) ? Image ?? "" : Pool!;
}
