using MegaFlow.Contracts;
using MegaFlow.Contracts.Scheduling;

namespace MegaFlow.Contracts.Tasks;

/// <summary>Persisted events of a task (journal of its TaskActor). Every transition is one event.</summary>
public static class TaskEvents
{
    public interface ITaskEvent : IMegaFlowMessage
    {
        string TaskId { get; }
    }

    public sealed record Submitted(string TaskId, TaskSpec Spec, DateTimeOffset At) : ITaskEvent;

    /// <summary>The scheduler confirmed (persisted) the queue entry for this attempt.</summary>
    public sealed record Queued(string TaskId, int Attempt, DateTimeOffset At) : ITaskEvent;

    /// <summary>The scheduler admitted the attempt and granted an environment; provisioning starts.</summary>
    public sealed record Admitted(string TaskId, int Attempt, Lease Lease, string TaskNode, DateTimeOffset At) : ITaskEvent;

    /// <summary>The environment is ready; agent rounds begin.</summary>
    public sealed record RunStarted(string TaskId, int Attempt, DateTimeOffset At) : ITaskEvent;

    public sealed record StepRecorded(string TaskId, int Attempt, Step Step) : ITaskEvent;

    /// <summary>The node's gateway forwarded and recorded a model call of this attempt (see <see cref="ModelCall"/>).</summary>
    public sealed record ModelCallRecorded(string TaskId, int Attempt, ModelCall Call) : ITaskEvent;

    public sealed record ScoringStarted(string TaskId, int Attempt, DateTimeOffset At) : ITaskEvent;

    public sealed record Completed(string TaskId, int Attempt, Score Score, DateTimeOffset At) : ITaskEvent;

    /// <summary>An infrastructure failure with retries left: the task goes back to the queue.</summary>
    public sealed record AttemptFailed(string TaskId, int Attempt, FailureKind Kind, string Reason, DateTimeOffset At) : ITaskEvent;

    public sealed record Failed(string TaskId, int Attempt, FailureKind Kind, string Reason, DateTimeOffset At) : ITaskEvent;

    public sealed record TimedOut(string TaskId, int Attempt, TaskPhase Phase, DateTimeOffset At) : ITaskEvent;

    public sealed record Cancelled(string TaskId, int Attempt, string Reason, DateTimeOffset At) : ITaskEvent;

    /// <summary>The scheduler confirmed the attempt's lease is released (its semaphores are free).</summary>
    public sealed record LeaseReleased(string TaskId, int Attempt, DateTimeOffset At) : ITaskEvent;
}
