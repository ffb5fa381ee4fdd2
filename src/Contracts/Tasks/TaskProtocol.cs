using System.Text.Json.Serialization;
using MegaFlow.Contracts;
using MegaFlow.Contracts.Scheduling;

namespace MegaFlow.Contracts.Tasks;

/// <summary>Messages to and from a task (sharded by task id).</summary>
public static class TaskProtocol
{
    // ---- public API: host programs send these -------------------------------------------------

    /// <summary>Submit a task. Answered with <see cref="SubmitAccepted"/> or <see cref="SubmitRejected"/>.</summary>
    public sealed record SubmitTask : ITaskMessage
    {
        // Not a positional record: with two public constructors System.Text.Json (the wire format)
        // cannot pick one unless told, and an attribute cannot target a primary constructor.
        [JsonConstructor]
        public SubmitTask(string TaskId, TaskSpec Spec)
        {
            this.TaskId = TaskId;
            this.Spec = Spec;
        }

        public SubmitTask(TaskSpec spec) : this(spec.TaskId ?? "", spec) { }

        public string TaskId { get; init; }

        public TaskSpec Spec { get; init; }

        public void Deconstruct(out string TaskId, out TaskSpec Spec) => (TaskId, Spec) = (this.TaskId, this.Spec);
    }

    public sealed record SubmitAccepted(string TaskId, bool AlreadyKnown, TaskStatus Status) : IMegaFlowMessage;

    public sealed record SubmitRejected(string TaskId, IReadOnlyList<ValidationError> Errors) : IMegaFlowMessage
    {
        public override string ToString() => $"task '{TaskId}' rejected: {string.Join("; ", Errors)}";
    }

    public sealed record CancelTask(string TaskId, string Reason) : ITaskMessage;

    public sealed record CancelAccepted(string TaskId) : IMegaFlowMessage;

    public sealed record CancelRejected(string TaskId, string Reason) : IMegaFlowMessage;

    /// <summary>Answered with the task's <see cref="TaskState"/>.</summary>
    public sealed record GetTaskState(string TaskId) : ITaskMessage;

    /// <summary>Published on the task-events topic at every status change.</summary>
    public sealed record TaskStatusChanged(string TaskId, TaskStatus Status, int Attempt, string Node, DateTimeOffset At) : IMegaFlowMessage;

    // ---- internal: scheduler → task ------------------------------------------------------------

    /// <summary>The scheduler persisted the queue entry for this attempt.</summary>
    public sealed record QueueConfirmed(string TaskId, int Attempt) : ITaskMessage;

    /// <summary>The scheduler admitted this attempt with a lease. Re-sent after a scheduler hand-over.</summary>
    public sealed record AdmitTask(string TaskId, int Attempt, SchedulerLease Lease) : ITaskMessage;

    /// <summary>The scheduler released the attempt's lease or queue entry.</summary>
    public sealed record ReleaseConfirmed(string TaskId, int Attempt) : ITaskMessage;

    // ---- internal: environment → task ----------------------------------------------------------

    /// <summary>
    /// The environment leased to this attempt died between two commands (its container was killed
    /// from outside). Sent so the attempt is retried now, not when the agent's next command fails.
    /// </summary>
    public sealed record LeasedEnvironmentLost(string TaskId, int Attempt, string EnvironmentId, string Reason) : ITaskMessage;

    /// <summary>
    /// A leased environment asks whether this attempt still holds it; answered with <see cref="LeaseHeld"/>.
    /// A lease ends with its attempt: an environment told "no" (twice) reclaims itself, so a release,
    /// reset or destroy lost in a crash never leaks an environment.
    /// </summary>
    public sealed record CheckLease(string TaskId, int Attempt, string EnvironmentId) : ITaskMessage;

    public sealed record LeaseHeld(string TaskId, int Attempt, string EnvironmentId, bool Holds) : IMegaFlowMessage;

    // ---- queries over all tasks -----------------------------------------------------------------

    /// <summary>Lists tasks (optionally of one status) from the journal; answered with <see cref="TaskListing"/>.</summary>
    public sealed record ListTasks(TaskStatus? Status) : IMegaFlowMessage;
}

/// <summary>One row of the task list.</summary>
public sealed record TaskSummary(string TaskId, TaskStatus Status, int Attempt, string? Mode, string? Pool, DateTimeOffset? SubmittedAt, DateTimeOffset? FinishedAt, double? Reward);

/// <summary>Counts per status and the matching tasks, ordered by submission.</summary>
public sealed record TaskListing(IReadOnlyDictionary<TaskStatus, int> Counts, IReadOnlyList<TaskSummary> Tasks) : IMegaFlowMessage
{
    public int Total => Counts.Values.Sum();
}

