using MegaFlow.Contracts.Scheduling;

namespace MegaFlow.Contracts.Management;

/// <summary>The scheduler singleton's state: queue, semaphores with their holders, pools and leases.</summary>
public sealed record SchedulerView(
    int QueueDepth,
    int Running,
    int Starting,
    IReadOnlyList<SemaphoreView> Semaphores,
    IReadOnlyList<PoolView> Pools,
    IReadOnlyList<Lease> Leases,
    IReadOnlyList<string> Nodes);

/// <summary>One admission semaphore: "running", "starting", "pool:NAME" or "node:HOST:PORT"; holders are task ids.</summary>
public sealed record SemaphoreView(string Name, int Used, int Limit, IReadOnlyList<string> Holders);

/// <summary>A pool: queued and running tasks, its cap, and its warm (persistent-mode) environments.</summary>
public sealed record PoolView(string Pool, int Queued, int Running, int Cap, int Idle, int Size, int MaxSize);

