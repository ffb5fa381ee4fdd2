using System.Collections.Immutable;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Contracts.Environments;
using MegaFlow.Domain;
using MegaFlow.Contracts;
using static MegaFlow.Contracts.Scheduling.SchedulerEvents;

namespace MegaFlow.Domain.Scheduling;

/// <summary>Result of a scheduler command: events to persist (possibly none) or a rejection.</summary>
public sealed record SchedulerDecision(DecisionOutcome Outcome, IReadOnlyList<ISchedulerEvent> Events, string? Reason)
{
    public static SchedulerDecision Accept(params ISchedulerEvent[] events) => new(DecisionOutcome.Accepted, events, null);
    public static SchedulerDecision Duplicate(string reason) => new(DecisionOutcome.Duplicate, [], reason);
    public static SchedulerDecision Reject(string reason) => new(DecisionOutcome.Rejected, [], reason);
}

/// <summary>
/// The FIFO scheduler as pure functions. Commands decide events; <see cref="Apply"/> folds them;
/// <see cref="PlanAdmissions"/> admits queued attempts while every semaphore has room. The actor
/// calls PlanAdmissions only after an event (submission, release, start finished, node change):
/// nothing here polls.
/// </summary>
public static class SchedulerLogic
{
    public static SchedulerDecision Enqueue(
        SchedulerState s, string taskId, int attempt, string pool, ExecutionMode mode, DateTimeOffset now, string? image = null, string? quota = null)
    {
        var events = new List<ISchedulerEvent>();
        if (s.QueuedByTask.TryGetValue(taskId, out var queued))
        {
            if (queued.Attempt == attempt) return SchedulerDecision.Duplicate("already queued");
            if (queued.Attempt > attempt) return SchedulerDecision.Reject($"stale enqueue of attempt {attempt} (attempt {queued.Attempt} is queued)");
            events.Add(new Released(taskId, queued.Attempt, false, now));
        }
        if (s.Leases.TryGetValue(taskId, out var lease))
        {
            if (lease.Attempt == attempt) return SchedulerDecision.Duplicate("already admitted");
            if (lease.Attempt > attempt) return SchedulerDecision.Reject($"stale enqueue of attempt {attempt} (attempt {lease.Attempt} is running)");
            // A newer attempt means the older one ended; its release may still be in flight.
            events.Add(new Released(taskId, lease.Attempt, false, now));
        }
        events.Add(new Enqueued(taskId, attempt, pool, mode, s.NextSeq, now, image, quota));
        return SchedulerDecision.Accept([.. events]);
    }

    public static SchedulerDecision Release(SchedulerState s, string taskId, int attempt, bool reusable, DateTimeOffset now)
    {
        if (s.Leases.TryGetValue(taskId, out var lease) && lease.Attempt == attempt)
            return SchedulerDecision.Accept(new Released(taskId, attempt, reusable, now));
        if (s.QueuedByTask.TryGetValue(taskId, out var q) && q.Attempt == attempt)
            return SchedulerDecision.Accept(new Released(taskId, attempt, false, now));
        // A task owes only the release of its latest ended attempt; if an earlier attempt's release
        // (and the newer enqueue) were lost, what that attempt holds would otherwise leak forever.
        // It ended in failure, so its environment is never reused.
        if (lease is not null && lease.Attempt < attempt)
            return SchedulerDecision.Accept(new Released(taskId, lease.Attempt, false, now));
        if (q is not null && q.Attempt < attempt)
            return SchedulerDecision.Accept(new Released(taskId, q.Attempt, false, now));
        return SchedulerDecision.Duplicate("nothing held for this attempt");
    }

    public static SchedulerDecision EnvironmentStarted(SchedulerState s, string taskId, int attempt) =>
        s.Leases.TryGetValue(taskId, out var l) && l.Attempt == attempt && l.Starting
            ? SchedulerDecision.Accept(new SchedulerEvents.EnvironmentStarted(taskId, attempt))
            : SchedulerDecision.Duplicate("no start permit held");

    public static SchedulerDecision NodeUp(SchedulerState s, string node) =>
        s.Nodes.Contains(node) ? SchedulerDecision.Duplicate("known node") : SchedulerDecision.Accept(new NodeJoined(node));

    public static SchedulerDecision NodeDown(SchedulerState s, string node) =>
        s.Nodes.Contains(node) ? SchedulerDecision.Accept(new NodeLeft(node)) : SchedulerDecision.Duplicate("unknown node");

    /// <summary>A node reported its images (volatile state: applied directly, never persisted).</summary>
    public static SchedulerState ReportImages(SchedulerState s, string node, IEnumerable<string> images) => s with
    {
        NodeImages = s.NodeImages.SetItem(node, images.Select(ImageRefs.Normalize).ToImmutableHashSet()),
    };

    /// <summary>The failure detector's view of a node (volatile state: applied directly, never persisted).</summary>
    public static SchedulerState SetReachable(SchedulerState s, string node, bool reachable) => s with
    {
        Unreachable = reachable ? s.Unreachable.Remove(node) : s.Unreachable.Add(node),
    };

    public static SchedulerDecision RetireEnvironment(SchedulerState s, string environmentId) =>
        s.Idle.Values.SelectMany(v => v).FirstOrDefault(w => w.EnvironmentId == environmentId) is { } w
            ? SchedulerDecision.Accept(new EnvironmentRetired(environmentId, w.Pool))
            : SchedulerDecision.Duplicate("not an idle environment");

    /// <summary>Whether the scheduler holds the environment in a pool (idle) or in a lease.</summary>
    public static bool Lists(SchedulerState s, string environmentId) =>
        s.Idle.Values.Any(pool => pool.Any(w => w.EnvironmentId == environmentId))
        || s.Leases.Values.Any(l => l.EnvironmentId == environmentId);

    /// <summary>Retires every idle warm environment (one event each), for a caller that destroys them.</summary>
    public static SchedulerDecision DrainPools(SchedulerState s)
    {
        var events = s.Idle.Values.SelectMany(v => v).Select(w => (ISchedulerEvent)new EnvironmentRetired(w.EnvironmentId, w.Pool)).ToArray();
        return events.Length == 0 ? SchedulerDecision.Duplicate("no idle environments") : SchedulerDecision.Accept(events);
    }

    /// <summary>
    /// Admits queued attempts in FIFO order while the caps allow. Each lane (pool and quota) is a FIFO
    /// queue; the oldest head of all lanes goes first. A lane whose head cannot be admitted is blocked
    /// for the rest of this round, so nothing behind it in the same lane overtakes it; other lanes may
    /// still proceed: no head-of-line blocking across pools or across quotas. That is what lets a
    /// long backlog of one quota (train) and a later batch of another (eval) both progress: the train
    /// lane stops at its cap and the eval tasks behind it in arrival order are admitted past it.
    /// </summary>
    public static IReadOnlyList<Admitted> PlanAdmissions(
        SchedulerState s, SchedulerSettings settings, DateTimeOffset now, Func<string> newLeaseId, Func<string, string> newEnvironmentId)
    {
        var admitted = new List<Admitted>();
        var blocked = new HashSet<QueueLane>();
        while (s.Leases.Count < settings.MaxRunning)
        {
            QueueEntry? head = null;
            foreach (var (lane, queue) in s.Queues)
            {
                if (blocked.Contains(lane) || queue.IsEmpty) continue;
                var first = queue.First().Value;
                if (head is null || first.Seq < head.Seq) head = first;
            }
            if (head is null) break;

            var lease = TryLease(s, settings, head, now, newLeaseId, newEnvironmentId);
            if (lease is null)
            {
                blocked.Add(head.Lane);
                continue;
            }
            var e = new Admitted(lease);
            admitted.Add(e);
            s = Apply(s, e);
        }
        return admitted;
    }

    private static Lease? TryLease(
        SchedulerState s, SchedulerSettings settings, QueueEntry q, DateTimeOffset now, Func<string> newLeaseId, Func<string, string> newEnvironmentId)
    {
        if (s.RunningByPool.GetValueOrDefault(q.Pool) >= settings.PoolCap(q.Pool)) return null;
        // A quota is one more semaphore, counted like a pool's: its slots free on the lease's release.
        if (q.Quota is { } quota && s.RunningByQuota.GetValueOrDefault(quota) >= settings.QuotaCap(quota)) return null;

        if (q.Mode == ExecutionMode.Persistent)
        {
            var warm = s.Idle.GetValueOrDefault(q.Pool, [])
                .FirstOrDefault(w => s.Nodes.Contains(w.Node) && !s.Unreachable.Contains(w.Node) && HasSlot(s, settings, w.Node));
            if (warm is not null)
                return NewLease(q, newLeaseId(), warm.EnvironmentId, warm.Node, starting: false, reused: true, now);
            if (s.PoolSizes.GetValueOrDefault(q.Pool) >= settings.MaxPoolSize) return null;
        }

        if (s.Starting >= settings.MaxStarting) return null;
        var node = LeastLoadedNodeWithSlot(s, settings, q.Image);
        if (node is null) return null;
        return NewLease(q, newLeaseId(), newEnvironmentId(node), node, starting: true, reused: false, now);
    }

    private static Lease NewLease(QueueEntry q, string leaseId, string envId, string node, bool starting, bool reused, DateTimeOffset now) =>
        new(q.TaskId, q.Attempt, leaseId, q.Pool, q.Mode, envId, node, starting, reused, q.Seq, q.EnqueuedAt, now, q.Quota);

    private static bool HasSlot(SchedulerState s, SchedulerSettings settings, string node) =>
        s.RunningByNode.GetValueOrDefault(node) < settings.SlotsPerNode;

    /// <summary>
    /// The least loaded node with a free slot, preferring nodes that reported holding the image (no
    /// pull before the start); without such a node, the least loaded of all.
    /// </summary>
    private static string? LeastLoadedNodeWithSlot(SchedulerState s, SchedulerSettings settings, string? image)
    {
        string? best = null, bestHolder = null;
        int bestLoad = int.MaxValue, bestHolderLoad = int.MaxValue;
        var wanted = image is null || s.NodeImages.IsEmpty ? null : ImageRefs.Normalize(image);
        foreach (var node in s.Nodes) // sorted: ties go to the same node every time (deterministic)
        {
            var load = s.RunningByNode.GetValueOrDefault(node);
            if (load >= settings.SlotsPerNode || s.Unreachable.Contains(node)) continue;
            if (load < bestLoad) { best = node; bestLoad = load; }
            if (wanted is not null && load < bestHolderLoad && s.NodeImages.TryGetValue(node, out var held) && held.Contains(wanted))
            {
                bestHolder = node;
                bestHolderLoad = load;
            }
        }
        return bestHolder ?? best;
    }

    public static SchedulerState Apply(SchedulerState s, ISchedulerEvent e) => e switch
    {
        Enqueued x => AddToQueue(s, new QueueEntry(x.TaskId, x.Attempt, x.Pool, x.Mode, x.Seq, x.At, x.Image, x.Quota)) with
        {
            NextSeq = Math.Max(s.NextSeq, x.Seq + 1),
        },
        Admitted x => AddLease(RemoveFromQueue(s, x.Lease.TaskId), x.Lease) with
        {
            Idle = x.Lease.Reused ? RemoveIdle(s.Idle, x.Lease.Pool, x.Lease.EnvironmentId) : s.Idle,
            PoolSizes = x.Lease.Mode == ExecutionMode.Persistent && !x.Lease.Reused
                ? s.PoolSizes.SetItem(x.Lease.Pool, s.PoolSizes.GetValueOrDefault(x.Lease.Pool) + 1)
                : s.PoolSizes,
        },
        SchedulerEvents.EnvironmentStarted x => s.Leases.TryGetValue(x.TaskId, out var l) && l.Starting
            ? s with { Leases = s.Leases.SetItem(x.TaskId, l with { Starting = false }), Starting = s.Starting - 1 }
            : s,
        Released x => ApplyRelease(s, x),
        NodeJoined x => s with { Nodes = s.Nodes.Add(x.Node) },
        NodeLeft x => DropNode(s, x.Node) with { Unreachable = s.Unreachable.Remove(x.Node) },
        EnvironmentRetired x => s with
        {
            Idle = RemoveIdle(s.Idle, x.Pool, x.EnvironmentId),
            PoolSizes = s.PoolSizes.SetItem(x.Pool, Math.Max(0, s.PoolSizes.GetValueOrDefault(x.Pool) - 1)),
        },
        _ => throw new ArgumentOutOfRangeException(nameof(e), e.GetType().Name, "unknown scheduler event"),
    };

    public static SchedulerState Replay(IEnumerable<ISchedulerEvent> events) => events.Aggregate(SchedulerState.Empty, Apply);

    internal static SchedulerState AddToQueue(SchedulerState s, QueueEntry q) => s with
    {
        Queues = s.Queues.SetItem(q.Lane, s.Queues.GetValueOrDefault(q.Lane, ImmutableSortedDictionary<long, QueueEntry>.Empty).SetItem(q.Seq, q)),
        QueuedByTask = s.QueuedByTask.SetItem(q.TaskId, q),
    };

    internal static SchedulerState AddLease(SchedulerState s, Lease l) => s with
    {
        Leases = s.Leases.SetItem(l.TaskId, l),
        RunningByPool = Increment(s.RunningByPool, l.Pool, 1),
        RunningByNode = Increment(s.RunningByNode, l.Node, 1),
        RunningByQuota = l.Quota is null ? s.RunningByQuota : Increment(s.RunningByQuota, l.Quota, 1),
        Starting = s.Starting + (l.Starting ? 1 : 0),
    };

    private static SchedulerState RemoveFromQueue(SchedulerState s, string taskId)
    {
        if (!s.QueuedByTask.TryGetValue(taskId, out var q)) return s;
        var queue = s.Queues[q.Lane].Remove(q.Seq);
        return s with
        {
            Queues = queue.IsEmpty ? s.Queues.Remove(q.Lane) : s.Queues.SetItem(q.Lane, queue),
            QueuedByTask = s.QueuedByTask.Remove(taskId),
        };
    }

    private static SchedulerState ApplyRelease(SchedulerState s, Released x)
    {
        if (s.QueuedByTask.TryGetValue(x.TaskId, out var q) && q.Attempt == x.Attempt)
            return RemoveFromQueue(s, x.TaskId);
        if (!s.Leases.TryGetValue(x.TaskId, out var l) || l.Attempt != x.Attempt)
            return s;

        s = s with
        {
            Leases = s.Leases.Remove(x.TaskId),
            RunningByPool = Increment(s.RunningByPool, l.Pool, -1),
            RunningByNode = Increment(s.RunningByNode, l.Node, -1),
            RunningByQuota = l.Quota is null ? s.RunningByQuota : Increment(s.RunningByQuota, l.Quota, -1),
            Starting = s.Starting - (l.Starting ? 1 : 0),
        };
        if (l.Mode != ExecutionMode.Persistent) return s;
        // A reusable warm environment goes back to its pool, unless its node is gone.
        return x.Reusable && s.Nodes.Contains(l.Node)
            ? s with { Idle = s.Idle.SetItem(l.Pool, s.Idle.GetValueOrDefault(l.Pool, []).Add(new WarmEnvironment(l.EnvironmentId, l.Node, l.Pool))) }
            : s with { PoolSizes = Increment(s.PoolSizes, l.Pool, -1) };
    }

    private static SchedulerState DropNode(SchedulerState s, string node)
    {
        var idle = s.Idle;
        var sizes = s.PoolSizes;
        foreach (var (pool, envs) in s.Idle)
        {
            var gone = envs.Count(w => w.Node == node);
            if (gone == 0) continue;
            idle = idle.SetItem(pool, envs.RemoveAll(w => w.Node == node));
            sizes = Increment(sizes, pool, -gone);
        }
        return s with { Nodes = s.Nodes.Remove(node), Idle = idle, PoolSizes = sizes, NodeImages = s.NodeImages.Remove(node) };
    }

    private static ImmutableDictionary<string, ImmutableList<WarmEnvironment>> RemoveIdle(
        ImmutableDictionary<string, ImmutableList<WarmEnvironment>> idle, string pool, string envId) =>
        idle.TryGetValue(pool, out var list) ? idle.SetItem(pool, list.RemoveAll(w => w.EnvironmentId == envId)) : idle;

    private static ImmutableDictionary<string, int> Increment(ImmutableDictionary<string, int> d, string key, int by)
    {
        var v = d.GetValueOrDefault(key) + by;
        return v <= 0 ? d.Remove(key) : d.SetItem(key, v);
    }
}
