using MegaFlow.Contracts;

namespace MegaFlow.Contracts.Scheduling;

/// <summary>Messages to the scheduler singleton.</summary>
public static class SchedulerProtocol
{
    /// <param name="Quota">The spec's named quota (null: none).</param>
    public sealed record EnqueueTask(string TaskId, int Attempt, string Pool, ExecutionMode Mode, string? Image = null, string? Quota = null) : ISchedulerMessage;

    /// <summary>
    /// The images a worker node holds, so admissions prefer nodes that need no pull. Not persisted:
    /// nodes send it at start, after pulls and periodically, so a new scheduler incarnation relearns it.
    /// </summary>
    public sealed record ReportNodeImages(string Node, IReadOnlyList<string> Images) : ISchedulerMessage;

    public sealed record ReleaseTask(string TaskId, int Attempt, bool EnvironmentReusable) : ISchedulerMessage;

    /// <summary>The lease's environment is ready (or failed to start): free its start permit.</summary>
    public sealed record EnvironmentStartFinished(string TaskId, int Attempt) : ISchedulerMessage;

    /// <summary>An idle warm environment died or failed its health check: drop it from its pool.</summary>
    public sealed record RetireEnvironment(string EnvironmentId) : ISchedulerMessage;

    /// <summary>An idle environment asks whether a pool (or a lease) still lists it; answered with <see cref="PoolListing"/>.</summary>
    public sealed record CheckPooled(string EnvironmentId) : ISchedulerMessage;

    public sealed record PoolListing(string EnvironmentId, bool Listed) : IMegaFlowMessage;

    /// <summary>
    /// Retires every idle warm environment from its pool and answers with their ids, so the caller
    /// can destroy them (the demo does this when it finishes). Leased environments are untouched and
    /// return to their pools as usual.
    /// </summary>
    public sealed record DrainPools : ISchedulerMessage
    {
        public static readonly DrainPools Instance = new();
    }

    public sealed record PoolsDrained(IReadOnlyList<string> EnvironmentIds) : IMegaFlowMessage;

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
        SchedulerSettings Settings,
        IReadOnlyDictionary<string, int>? RunningByQuota = null) : IMegaFlowMessage;

    /// <summary>
    /// Who holds the scheduler's semaphores (for operators): every lease and the queue length per
    /// pool. Answered with <see cref="SchedulerLeases"/>; kept apart from <see cref="SchedulerStatus"/>
    /// because the lease list grows with the running tasks and backpressure polls only need counts.
    /// </summary>
    public sealed record GetSchedulerLeases : ISchedulerMessage
    {
        public static readonly GetSchedulerLeases Instance = new();
    }

    /// <param name="QueuedByQuota">Queued tasks per named quota (tasks without one are not counted); null from a scheduler older than quotas.</param>
    public sealed record SchedulerLeases(IReadOnlyList<Lease> Leases, IReadOnlyDictionary<string, int> QueuedByPool, IReadOnlyDictionary<string, int>? QueuedByQuota = null) : IMegaFlowMessage;

    /// <summary>
    /// Published on the scheduler topic when the queue depth changes (at most every 100 ms), so
    /// clients apply backpressure from events instead of polling the scheduler.
    /// </summary>
    public sealed record QueueDepthChanged(int QueueDepth, int Running, DateTimeOffset At) : IMegaFlowMessage;
}
