using MegaFlow.Contracts.Scheduling;

namespace MegaFlow.Contracts.Tasks;

/// <summary>
/// One agent round: the command run, its (bounded) output, exit code and timings. When the output
/// was larger than the journal bound, <see cref="ArtifactPath"/> points at the full text on disk.
/// </summary>
public sealed record Step(
    int Round,
    string Command,
    int ExitCode,
    string Output,
    bool OutputTruncated,
    bool TimedOut,
    DateTimeOffset StartedAt,
    double DurationMs,
    string? ArtifactPath);

/// <summary>The outcome of scoring: the scoring command's exit code, 0 meaning solved.</summary>
public sealed record Score(int ExitCode, string Output, double Reward)
{
    public bool Passed => ExitCode == 0;
}

/// <summary>A finished attempt, kept in the task's history (for infra retries: both attempts show).</summary>
public sealed record AttemptRecord(
    int Attempt,
    Lease? Lease,
    string Outcome,
    string? Reason,
    int Steps,
    DateTimeOffset? AdmittedAt,
    DateTimeOffset EndedAt);
