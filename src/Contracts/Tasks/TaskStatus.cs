namespace MegaFlow.Contracts.Tasks;

/// <summary>
/// Task lifecycle (DESIGN.md): Submitted → Queued → Provisioning → Running → Scoring → terminal.
/// Admission and the start of provisioning are one persisted event (<see cref="TaskEvents.Admitted"/>):
/// the scheduler hands the task its environment lease and provisioning begins at once, so a
/// separate "Admitted" state would only cost a journal write.
/// </summary>
public enum TaskStatus
{
    /// <summary>No spec accepted yet (an entity that only ever received a query).</summary>
    Unknown,
    /// <summary>Accepted and persisted; waiting for the scheduler to confirm it is queued.</summary>
    Submitted,
    Queued,
    Provisioning,
    Running,
    Scoring,
    Completed,
    Failed,
    TimedOut,
    Cancelled,
}

/// <summary>Why an attempt failed: only infrastructure failures are retried.</summary>
public enum FailureKind
{
    /// <summary>Node lost, environment died, provisioning failed or timed out: not the agent's fault.</summary>
    Infrastructure,
    /// <summary>The agent itself failed (an action could not be decided or executed as asked).</summary>
    Agent,
}

/// <summary>Which budget ran out.</summary>
public enum TaskPhase
{
    Setup,
    Run,
    Scoring,
}

public static class TaskStatusExtensions
{
    public static bool IsTerminal(this TaskStatus s) =>
        s is TaskStatus.Completed or TaskStatus.Failed or TaskStatus.TimedOut or TaskStatus.Cancelled;

    /// <summary>States in which an attempt holds (or is about to hold) an environment lease.</summary>
    public static bool IsInFlight(this TaskStatus s) =>
        s is TaskStatus.Provisioning or TaskStatus.Running or TaskStatus.Scoring;
}
