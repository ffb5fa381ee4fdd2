using MegaFlow.Contracts.Scheduling;

namespace MegaFlow.Contracts.Management;

/// <summary>The scheduler singleton's state: queue, semaphores with their holders, pools, quotas and leases.</summary>
/// <param name="Quotas">Every configured quota and every quota a queued or running task names; null from a node older than quotas.</param>
public sealed record SchedulerView(
    int QueueDepth,
    int Running,
    int Starting,
    IReadOnlyList<SemaphoreView> Semaphores,
    IReadOnlyList<PoolView> Pools,
    IReadOnlyList<Lease> Leases,
    IReadOnlyList<string> Nodes,
    IReadOnlyList<QuotaView>? Quotas = null);

/// <summary>One admission semaphore: "running", "starting", "pool:NAME", "quota:NAME" or "node:HOST:PORT"; holders are task ids.</summary>
public sealed record SemaphoreView(string Name, int Used, int Limit, IReadOnlyList<string> Holders);

/// <summary>A pool: queued and running tasks, its cap, and its warm (persistent-mode) environments.</summary>
public sealed record PoolView(string Pool, int Queued, int Running, int Cap, int Idle, int Size, int MaxSize);


/// <summary>
/// A named quota: its queued and running tasks and its cap. <paramref name="Configured"/> is false for a
/// name tasks use but megaflow.scheduler.quotas does not list: such a quota caps nothing (Cap is int.MaxValue).
/// </summary>
public sealed record QuotaView(string Quota, int Queued, int Running, int Cap, bool Configured);
