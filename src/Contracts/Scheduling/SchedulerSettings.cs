namespace MegaFlow.Contracts.Scheduling;

/// <summary>Caps the scheduler enforces. Every one is a semaphore that admission never exceeds.</summary>
public sealed record SchedulerSettings
{
    /// <summary>Tasks holding an environment lease at once, cluster-wide.</summary>
    public int MaxRunning { get; init; } = 256;

    /// <summary>Environments being started at once (protects the container runtime from start storms).</summary>
    public int MaxStarting { get; init; } = 32;

    /// <summary>Leases per worker node.</summary>
    public int SlotsPerNode { get; init; } = 64;

    /// <summary>Concurrent leases per pool unless <see cref="PoolCaps"/> names the pool.</summary>
    public int DefaultPoolCap { get; init; } = int.MaxValue;

    public IReadOnlyDictionary<string, int> PoolCaps { get; init; } = new Dictionary<string, int>();

    /// <summary>Warm (persistent-mode) environments a pool may own, leased or idle.</summary>
    public int MaxPoolSize { get; init; } = 8;

    /// <summary>
    /// Named quotas (<c>megaflow.scheduler.quotas</c>, e.g. train = 6, eval = 2): each caps how many tasks
    /// naming it hold a lease at once. Tasks without a quota, and tasks naming one that is not listed
    /// here, are not capped by any quota (the other semaphores still apply).
    /// </summary>
    public IReadOnlyDictionary<string, int> Quotas { get; init; } = new Dictionary<string, int>();

    public int PoolCap(string pool) => PoolCaps.TryGetValue(pool, out var cap) ? cap : DefaultPoolCap;

    /// <summary>The cap of a quota; unlimited for no quota and for a quota that is not configured.</summary>
    public int QuotaCap(string? quota) => quota is not null && Quotas.TryGetValue(quota, out var cap) ? cap : int.MaxValue;

    public IReadOnlyList<string> Problems()
    {
        var p = new List<string>();
        if (MaxRunning <= 0) p.Add($"max-running must be positive (got {MaxRunning})");
        if (MaxStarting <= 0) p.Add($"max-starting must be positive (got {MaxStarting})");
        if (SlotsPerNode <= 0) p.Add($"slots-per-node must be positive (got {SlotsPerNode})");
        if (DefaultPoolCap <= 0) p.Add($"default-pool-cap must be positive (got {DefaultPoolCap})");
        if (MaxPoolSize <= 0) p.Add($"max-pool-size must be positive (got {MaxPoolSize})");
        foreach (var (pool, cap) in PoolCaps)
            if (cap <= 0) p.Add($"pool-caps.{pool} must be positive (got {cap})");
        foreach (var (quota, cap) in Quotas)
        {
            if (QuotaNames.Problem(quota) is { } problem) p.Add($"quotas.{quota}: {problem}");
            else if (cap <= 0) p.Add($"quotas.{quota} must be positive (got {cap})");
        }
        return p;
    }
}
