using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Contracts.Training;

/// <summary>
/// One finished task attempt as a trainer reads it: who it was (task, group, replica, attempt), what
/// it earned (reward, or the failure that excludes it), and each model call's tokens ("token in,
/// token out", from the gateway's records: never re-tokenized text). Built from the task's journal and
/// the records in the artifact store, so it can be built again at any time; stored under
/// <see cref="TrajectoryPaths.For"/>.
/// </summary>
/// <param name="TaskId">The task.</param>
/// <param name="Attempt">The attempt (a task retried after an infrastructure failure has one trajectory per attempt).</param>
/// <param name="Group">The replica group (metadata <c>group</c>); the task id when the task is in none.</param>
/// <param name="Replica">The replica index in its group (metadata <c>replica</c>), 0 when none.</param>
/// <param name="Outcome">How the attempt ended: completed, failed, timed-out, cancelled, infrastructure-failure.</param>
/// <param name="Reward">The score's reward; null when the attempt was not scored.</param>
/// <param name="FailureKind">Set when the attempt failed; an infrastructure failure is excluded from training (and counted).</param>
/// <param name="Turns">The model calls in order, one per decision.</param>
/// <param name="Position">The journal position of the event that ended the attempt: the stream's offset.</param>
public sealed record Trajectory(
    string TaskId,
    int Attempt,
    string Group,
    int Replica,
    string Outcome,
    double? Reward,
    FailureKind? FailureKind,
    IReadOnlyList<TrajectoryTurn> Turns,
    long Position) : IMegaFlowMessage
{
    /// <summary>One id per attempt: what a trainer deduplicates on.</summary>
    public string Id => $"{TaskId}/{Attempt}";

    /// <summary>An infrastructure failure says nothing about the policy: excluded from advantages and counted.</summary>
    public bool IsInfrastructureFailure => FailureKind == Tasks.FailureKind.Infrastructure;
}

/// <summary>
/// One model call of a trajectory: the exact prompt and response token ids, the sampler's log-prob of
/// each response token, and the weight version that sampled them. A call whose record is missing or
/// carries no token ids (an endpoint that returns none) has empty lists. <see cref="GuidedChoice"/> holds
/// the allowed answers of a constrained call (its log-probs are then the constrained distribution's,
/// which a trainer must recompute the same way).
/// </summary>
public sealed record TrajectoryTurn(
    int Round,
    long? WeightVersion,
    IReadOnlyList<int> PromptTokenIds,
    IReadOnlyList<int> ResponseTokenIds,
    IReadOnlyList<double> ResponseLogProbs,
    int Status,
    IReadOnlyList<string>? GuidedChoice = null);

/// <summary>Where trajectories are stored in the artifact store: found again by task and attempt.</summary>
public static class TrajectoryPaths
{
    public static string For(string taskId, int attempt) => $"trajectories/{taskId}/attempt-{attempt}.json";
}

/// <summary>
/// Ask a node for a stream of trajectories whose ending event is after <paramref name="AfterPosition"/>
/// in the journal; answered with an Akka.Streams <c>ISourceRef&lt;Trajectory&gt;</c> (demand-driven across
/// the node hop, so a stalled reader stalls the journal query, not memory).
/// </summary>
/// <param name="TaskIdPrefix">Only tasks whose id starts with this (an experiment's); null or empty: every task.</param>
public sealed record RequestTrajectories(long AfterPosition, string? TaskIdPrefix = null) : IMegaFlowMessage;
