using MegaFlow.Domain.Protocol;
using MegaFlow.Domain.Scheduling;

namespace MegaFlow.Domain.Tasks;

/// <summary>Messages to and from a task (sharded by task id).</summary>
public static class TaskProtocol
{
    // ---- public API: host programs send these -------------------------------------------------

    /// <summary>Submit a task. Answered with <see cref="SubmitAccepted"/> or <see cref="SubmitRejected"/>.</summary>
    public sealed record SubmitTask(string TaskId, TaskSpec Spec) : ITaskMessage
    {
        public SubmitTask(TaskSpec spec) : this(spec.TaskId ?? "", spec) { }
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
}

/// <summary>Messages to the scheduler singleton.</summary>
public static class SchedulerProtocol
{
    public sealed record EnqueueTask(string TaskId, int Attempt, string Pool, ExecutionMode Mode) : ISchedulerMessage;

    public sealed record ReleaseTask(string TaskId, int Attempt, bool EnvironmentReusable) : ISchedulerMessage;

    /// <summary>The lease's environment is ready (or failed to start): free its start permit.</summary>
    public sealed record EnvironmentStartFinished(string TaskId, int Attempt) : ISchedulerMessage;

    /// <summary>An idle warm environment died or failed its health check: drop it from its pool.</summary>
    public sealed record RetireEnvironment(string EnvironmentId) : ISchedulerMessage;

    public sealed record GetSchedulerState : ISchedulerMessage
    {
        public static readonly GetSchedulerState Instance = new();
    }

    public sealed record SchedulerStatus(
        int QueueDepth,
        int Running,
        int Starting,
        IReadOnlyDictionary<string, int> RunningByPool,
        IReadOnlyDictionary<string, int> RunningByNode,
        IReadOnlyDictionary<string, int> IdleByPool,
        IReadOnlyDictionary<string, int> PoolSizes,
        IReadOnlyList<string> Nodes,
        SchedulerSettings Settings) : IMegaFlowMessage;
}
