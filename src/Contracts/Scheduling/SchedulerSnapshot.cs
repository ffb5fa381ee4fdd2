namespace MegaFlow.Contracts.Scheduling;

/// <summary>The scheduler's snapshot: plain lists, a stable wire contract independent of the in-memory indexes.</summary>
public sealed record SchedulerSnapshot(
    IReadOnlyList<QueueEntry> Queue,
    IReadOnlyList<Lease> Leases,
    IReadOnlyList<WarmEnvironment> Idle,
    IReadOnlyDictionary<string, int> PoolSizes,
    IReadOnlyList<string> Nodes,
    long NextSeq) : IMegaFlowMessage;
