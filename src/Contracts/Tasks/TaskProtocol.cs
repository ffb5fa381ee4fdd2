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
    public sealed record AdmitTask(string TaskId, int Attempt, Lease Lease) : ITaskMessage;

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

    // ---- internal: a node's model gateway → task --------------------------------------------------

    /// <summary>
    /// May a model call made with <paramref name="Key"/> go ahead for this attempt? Answered with
    /// <see cref="ModelCallAllowed"/> while the attempt runs and the key is the one this attempt was
    /// given, else <see cref="ModelCallRefused"/>. The key lives only in the task actor's memory.
    /// </summary>
    public sealed record AuthorizeModelCall(string TaskId, int Attempt, string Key) : ITaskMessage;

    /// <summary>The call may go ahead; it belongs to <paramref name="Round"/> and goes where <paramref name="Agent"/> says.</summary>
    public sealed record ModelCallAllowed(string TaskId, int Attempt, int Round, AgentSpec Agent) : IMegaFlowMessage;

    /// <summary>Refused: <paramref name="Reason"/> says why, for the caller.</summary>
    public sealed record ModelCallRefused(string TaskId, string Reason) : IMegaFlowMessage;

    /// <summary>
    /// The gateway recorded a call; the task journals it. Not answered: the gateway tells it before
    /// answering the call, so it reaches the task before anything the agent does next.
    /// </summary>
    public sealed record RecordModelCall(string TaskId, int Attempt, ModelCall Call) : ITaskMessage;

    // ---- queries over all tasks: answered by a node's task read model -------------------------

    /// <summary>Lists tasks (optionally of one status) from the read model; answered with <see cref="TaskListing"/>.</summary>
    /// <param name="WaitForCatchUp">Answer only once the read model has read the journal up to its end
    /// (a node that just started); false answers at once with what it has (<see cref="TaskListing.Complete"/> says which).</param>
    /// <param name="CountsOnly">Only the counts (metrics), no rows.</param>
    public sealed record ListTasks(TaskStatus? Status, bool WaitForCatchUp = true, bool CountsOnly = false) : IMegaFlowMessage;

    /// <summary>
    /// The given tasks' rows that changed after <paramref name="Since"/> (0: all of them); answered with
    /// <see cref="TaskChanges"/>. With <paramref name="Subscribe"/> the sender is then pushed every later
    /// change of these tasks (replacing any ids it watched before) until it stops.
    /// </summary>
    public sealed record ReadTaskChanges(IReadOnlyList<string> TaskIds, long Since, bool Subscribe) : IMegaFlowMessage;
}

/// <summary>One row of the task list, as the read model folded it from the task's events.</summary>
/// <param name="Node">Node the current attempt was admitted on ("host:port"); null before admission.</param>
/// <param name="UpdatedAt">Time of the latest event that changed the row.</param>
/// <param name="Sequence">The read model's change sequence when this row last changed.</param>
public sealed record TaskSummary(string TaskId, TaskStatus Status, int Attempt, string? Mode, string? Pool, DateTimeOffset? SubmittedAt, DateTimeOffset? FinishedAt, double? Reward,
    FailureKind? FailureKind = null, string? Node = null, DateTimeOffset? UpdatedAt = null, long Sequence = 0);

/// <summary>Counts per status and the matching tasks, ordered by submission.</summary>
/// <param name="Complete">False while the read model is still reading the journal at start: counts may be low.</param>
/// <param name="Sequence">The read model's change sequence the listing reflects.</param>
public sealed record TaskListing(IReadOnlyDictionary<TaskStatus, int> Counts, IReadOnlyList<TaskSummary> Tasks, bool Complete = true, long Sequence = 0) : IMegaFlowMessage
{
    public int Total => Counts.Values.Sum();
}

/// <summary>
/// Rows of watched tasks that changed after <paramref name="After"/>, up to <paramref name="Sequence"/>.
/// A subscriber that last saw sequence S and receives <paramref name="After"/> ≠ S missed a push and
/// asks for the changes since S. Sequences are per read model: <paramref name="Source"/> names it, and
/// a subscriber that hears from another source starts again from 0.
/// </summary>
/// <param name="Unknown">Watched ids the read model has no event of, sent only once it has read the whole journal.</param>
public sealed record TaskChanges(string Source, long After, long Sequence, IReadOnlyList<TaskSummary> Tasks, IReadOnlyList<string> Unknown) : IMegaFlowMessage;

/// <summary>
/// A task read model's saved state: its rows, change sequence and the journal offset it has read up
/// to, so a restarted node continues from the offset instead of reading the journal from the start.
/// </summary>
public sealed record TaskReadModelSnapshot(long Offset, long Sequence, IReadOnlyList<TaskSummary> Rows) : IMegaFlowMessage;
