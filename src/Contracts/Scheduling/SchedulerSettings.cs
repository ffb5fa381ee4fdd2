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

    public int PoolCap(string pool) => PoolCaps.TryGetValue(pool, out var cap) ? cap : DefaultPoolCap;

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
        return p;
    }
}
