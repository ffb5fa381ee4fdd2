using System.Collections.Immutable;
using MegaFlow.Contracts;
using MegaFlow.Contracts.Scheduling;
using static MegaFlow.Contracts.Tasks.TaskEvents;

namespace MegaFlow.Contracts.Tasks;

/// <summary>
/// A task's state, rebuilt from its events by <see cref="TaskLogic.Apply"/>. Also the reply to a
/// state query, so it is a protocol type.
/// </summary>
public sealed record TaskState : IMegaFlowMessage
{
    public required string TaskId { get; init; }
    public TaskStatus Status { get; init; } = TaskStatus.Unknown;
    public TaskSpec? Spec { get; init; }

    /// <summary>1-based; grows with every infrastructure retry.</summary>
    public int Attempt { get; init; } = 1;

    public Lease? Lease { get; init; }
    public ImmutableList<Step> Steps { get; init; } = ImmutableList<Step>.Empty;

    /// <summary>The model calls of this attempt, in the order the gateway recorded them (a call's round ties it to its step).</summary>
    public ImmutableList<ModelCall> ModelCalls { get; init; } = ImmutableList<ModelCall>.Empty;
    public ImmutableList<AttemptRecord> History { get; init; } = ImmutableList<AttemptRecord>.Empty;
    public Score? Score { get; init; }
    public FailureKind? FailureKind { get; init; }
    public string? FailureReason { get; init; }
    public TaskPhase? TimedOutPhase { get; init; }

    /// <summary>Attempt whose scheduler lease (or queue entry) still has to be released, if any.</summary>
    public int? PendingRelease { get; init; }

    public DateTimeOffset? SubmittedAt { get; init; }
    public DateTimeOffset? QueuedAt { get; init; }
    public DateTimeOffset? AdmittedAt { get; init; }
    public DateTimeOffset? RunStartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }

    public static TaskState Empty(string taskId) => new() { TaskId = taskId };
}
