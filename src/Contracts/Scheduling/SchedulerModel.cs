using MegaFlow.Contracts;

namespace MegaFlow.Contracts.Scheduling;

/// <summary>A task attempt waiting in the FIFO queue; <see cref="Seq"/> is its global arrival order.</summary>
/// <param name="Quota">The named quota the task counts against; null (and every entry written before quotas) is none.</param>
public sealed record QueueEntry(string TaskId, int Attempt, string Pool, ExecutionMode Mode, long Seq, DateTimeOffset EnqueuedAt, string? Image = null, string? Quota = null)
{
    /// <summary>The FIFO queue the entry waits in.</summary>
    public QueueLane Lane => new(Pool, Quota);
}

/// <summary>
/// One FIFO queue of the scheduler: the tasks of one pool and one quota (null: no quota). Admission is
/// strictly in arrival order within a lane; a lane whose head cannot be admitted waits without holding
/// up the other lanes, so a full pool or a full quota never blocks another pool's or quota's tasks.
/// </summary>
public readonly record struct QueueLane(string Pool, string? Quota);

/// <summary>Image references as nodes report them: "name" and "name:latest" are the same image.</summary>
public static class ImageRefs
{
    public static string Normalize(string image)
    {
        var name = image.Trim();
        if (name.Contains('@')) return name;
        return name.LastIndexOf(':') > name.LastIndexOf('/') ? name : name + ":latest";
    }
}

/// <summary>
/// The one lease: a scheduler admission of one task attempt to one environment, with the semaphores
/// it holds. The scheduler keeps it in its state and journal, sends it to the task (AdmitTask), the
/// task records it (Admitted, its state and attempt history), and the management API shows it.
/// </summary>
/// <param name="Starting">Still counts against the start semaphore (the environment is not ready yet).</param>
/// <param name="Reused">A warm persistent-mode environment was reused (no provisioning).</param>
/// <param name="Seq">The attempt's FIFO arrival order.</param>
/// <param name="Quota">The named quota the lease counts against (null: none, and every lease written before quotas).</param>
/// <remarks>
/// Task journals written before the lease types were unified hold only LeaseId, EnvironmentId, Node
/// and "ReusedEnvironment"; the serializer reads those with the other fields empty (LegacyLeaseConverter).
/// </remarks>
public sealed record Lease(
    string TaskId,
    int Attempt,
    string LeaseId,
    string Pool,
    ExecutionMode Mode,
    string EnvironmentId,
    string Node,
    bool Starting,
    bool Reused,
    long Seq,
    DateTimeOffset EnqueuedAt,
    DateTimeOffset AdmittedAt,
    string? Quota = null);

/// <summary>A persistent-mode environment that is ready and not leased.</summary>
public sealed record WarmEnvironment(string EnvironmentId, string Node, string Pool);

/// <summary>Environment ids carry the node they live on, so the environment shard lands there.</summary>
public static class EnvironmentIds
{
    public static string New(string node) => $"env-{Guid.NewGuid():N}@{node}";

    /// <summary>The node part of an environment id ("" if it has none).</summary>
    public static string NodeOf(string environmentId)
    {
        var at = environmentId.LastIndexOf('@');
        return at < 0 ? "" : environmentId[(at + 1)..];
    }
}

/// <summary>Persisted scheduler events (journal of the scheduler singleton).</summary>
public static class SchedulerEvents
{
    public interface ISchedulerEvent : IMegaFlowMessage;

    /// <param name="Quota">Null in journals written before quotas: those tasks count against none.</param>
    public sealed record Enqueued(string TaskId, int Attempt, string Pool, ExecutionMode Mode, long Seq, DateTimeOffset At, string? Image = null, string? Quota = null) : ISchedulerEvent;

    public sealed record Admitted(Lease Lease) : ISchedulerEvent;

    /// <summary>The lease's environment finished starting (ready or failed): its start permit is free.</summary>
    public sealed record EnvironmentStarted(string TaskId, int Attempt) : ISchedulerEvent;

    /// <summary>The attempt's lease or queue entry is gone; a reusable persistent environment turns idle.</summary>
    public sealed record Released(string TaskId, int Attempt, bool Reusable, DateTimeOffset At) : ISchedulerEvent;

    public sealed record NodeJoined(string Node) : ISchedulerEvent;

    public sealed record NodeLeft(string Node) : ISchedulerEvent;

    /// <summary>A warm environment was destroyed outside a lease (e.g. failed health check).</summary>
    public sealed record EnvironmentRetired(string EnvironmentId, string Pool) : ISchedulerEvent;
}
