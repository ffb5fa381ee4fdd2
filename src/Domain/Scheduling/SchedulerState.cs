using System.Collections.Immutable;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Contracts.Environments;
using MegaFlow.Contracts;

namespace MegaFlow.Domain.Scheduling;

/// <summary>
/// The scheduler's state: FIFO queues per lane (pool and quota), leases and the counters behind every semaphore.
/// Counters are kept incrementally so that one admission costs O(pools + nodes), not O(queue).
/// </summary>
public sealed record SchedulerState
{
    public static readonly SchedulerState Empty = new();

    /// <summary>Queued attempts per lane (pool and quota), ordered by arrival (<see cref="QueueEntry.Seq"/>).</summary>
    public ImmutableDictionary<QueueLane, ImmutableSortedDictionary<long, QueueEntry>> Queues { get; init; } =
        ImmutableDictionary<QueueLane, ImmutableSortedDictionary<long, QueueEntry>>.Empty;

    public ImmutableDictionary<string, QueueEntry> QueuedByTask { get; init; } = ImmutableDictionary<string, QueueEntry>.Empty;
    public ImmutableDictionary<string, Lease> Leases { get; init; } = ImmutableDictionary<string, Lease>.Empty;
    public ImmutableDictionary<string, ImmutableList<WarmEnvironment>> Idle { get; init; } =
        ImmutableDictionary<string, ImmutableList<WarmEnvironment>>.Empty;

    /// <summary>Persistent environments per pool (leased + idle), bounded by MaxPoolSize.</summary>
    public ImmutableDictionary<string, int> PoolSizes { get; init; } = ImmutableDictionary<string, int>.Empty;

    public ImmutableDictionary<string, int> RunningByPool { get; init; } = ImmutableDictionary<string, int>.Empty;
    public ImmutableDictionary<string, int> RunningByNode { get; init; } = ImmutableDictionary<string, int>.Empty;

    /// <summary>Leases per named quota (tasks without a quota are not counted). Derived from the leases, so snapshots need no field of their own.</summary>
    public ImmutableDictionary<string, int> RunningByQuota { get; init; } = ImmutableDictionary<string, int>.Empty;
    public int Starting { get; init; }
    public ImmutableSortedSet<string> Nodes { get; init; } = ImmutableSortedSet<string>.Empty;

    /// <summary>Images each node reported holding (normalized). Volatile: not persisted, not in snapshots.</summary>
    public ImmutableDictionary<string, ImmutableHashSet<string>> NodeImages { get; init; } = ImmutableDictionary<string, ImmutableHashSet<string>>.Empty;

    /// <summary>
    /// Nodes the failure detector marks unreachable: nothing is admitted onto them until they are
    /// reachable again or removed (a dead node is unreachable for a while before it is removed, and
    /// every admission onto it would fail at once and burn an infrastructure retry). Volatile.
    /// </summary>
    public ImmutableHashSet<string> Unreachable { get; init; } = ImmutableHashSet<string>.Empty;
    public long NextSeq { get; init; } = 1;

    public int QueueDepth => QueuedByTask.Count;
    public int Running => Leases.Count;

    public SchedulerSnapshot ToSnapshot() => new(
        QueuedByTask.Values.OrderBy(q => q.Seq).ToList(),
        Leases.Values.OrderBy(l => l.Seq).ToList(),
        Idle.Values.SelectMany(v => v).ToList(),
        PoolSizes.ToDictionary(),
        Nodes.ToList(),
        NextSeq);

    public static SchedulerState FromSnapshot(SchedulerSnapshot s)
    {
        var state = Empty with { NextSeq = s.NextSeq, Nodes = s.Nodes.ToImmutableSortedSet(), PoolSizes = s.PoolSizes.ToImmutableDictionary() };
        foreach (var q in s.Queue)
            state = SchedulerLogic.AddToQueue(state, q);
        foreach (var l in s.Leases)
            state = SchedulerLogic.AddLease(state, l);
        foreach (var w in s.Idle)
            state = state with { Idle = state.Idle.SetItem(w.Pool, state.Idle.GetValueOrDefault(w.Pool, []).Add(w)) };
        return state;
    }
}
