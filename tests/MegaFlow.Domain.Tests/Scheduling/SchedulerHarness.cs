using System.Text;
using MegaFlow.Contracts;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using static MegaFlow.Contracts.Scheduling.SchedulerEvents;

namespace MegaFlow.Domain.Tests.Scheduling;

/// <summary>
/// Plays the scheduler actor's part around the pure functions: decide, apply the events, plan
/// admissions and apply them. Lease and environment ids are deterministic so runs can be compared.
/// </summary>
internal sealed class SchedulerHarness
{
    public static readonly DateTimeOffset T0 = new(2025, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private int _leases;
    private int _envs;

    public SchedulerHarness(SchedulerSettings settings, params string[] nodes)
    {
        Settings = settings;
        foreach (var node in nodes) Do(s => SchedulerLogic.NodeUp(s, node));
    }

    public SchedulerSettings Settings { get; }
    public SchedulerState State { get; set; } = SchedulerState.Empty;
    public List<ISchedulerEvent> Journal { get; } = [];

    /// <summary>Every admission so far, in the order it was granted.</summary>
    public List<Lease> Admissions { get; } = [];

    public SchedulerDecision Do(Func<SchedulerState, SchedulerDecision> decide)
    {
        var d = decide(State);
        foreach (var e in d.Events) Apply(e);
        return d;
    }

    public SchedulerDecision Enqueue(string taskId, string pool, ExecutionMode mode = ExecutionMode.Ephemeral, int attempt = 1, string? quota = null) =>
        Do(s => SchedulerLogic.Enqueue(s, taskId, attempt, pool, mode, T0, quota: quota));

    public SchedulerDecision Release(string taskId, bool reusable = false, int attempt = 1) =>
        Do(s => SchedulerLogic.Release(s, taskId, attempt, reusable, T0));

    public SchedulerDecision Started(string taskId, int attempt = 1) =>
        Do(s => SchedulerLogic.EnvironmentStarted(s, taskId, attempt));

    /// <summary>Plans admissions, applies them and returns the admitted task ids in order.</summary>
    public IReadOnlyList<string> Plan() => PlanLeases().Select(l => l.TaskId).ToList();

    public IReadOnlyList<Lease> PlanLeases()
    {
        var planned = PlanAdmissions(State);
        foreach (var e in planned) Apply(e);
        Admissions.AddRange(planned.Select(e => e.Lease));
        return planned.Select(e => e.Lease).ToList();
    }

    /// <summary>Plans admissions from the current state without applying them (ids are consumed).</summary>
    public IReadOnlyList<Admitted> PlanEvents() => PlanAdmissions(State);

    /// <summary>What PlanAdmissions would admit from <paramref name="state"/> with this harness's id sequence (ids are not consumed).</summary>
    public IReadOnlyList<Admitted> PreviewAdmissions(SchedulerState state)
    {
        var (leases, envs) = (_leases, _envs);
        var planned = PlanAdmissions(state);
        (_leases, _envs) = (leases, envs);
        return planned;
    }

    private IReadOnlyList<Admitted> PlanAdmissions(SchedulerState state) =>
        SchedulerLogic.PlanAdmissions(state, Settings, T0, () => $"lease-{++_leases}", node => $"env-{++_envs}@{node}");

    public void Apply(ISchedulerEvent e)
    {
        Journal.Add(e);
        State = SchedulerLogic.Apply(State, e);
    }

    public Lease Lease(string taskId) => State.Leases[taskId];

    /// <summary>The tasks queued in a pool, in arrival order (whatever their quota).</summary>
    public IReadOnlyList<string> Queued(string pool) =>
        State.Queues.Where(kv => kv.Key.Pool == pool).SelectMany(kv => kv.Value.Values).OrderBy(e => e.Seq).Select(e => e.TaskId).ToList();

    public int PoolSize(string pool) => State.PoolSizes.GetValueOrDefault(pool);

    public IReadOnlyList<WarmEnvironment> Idle(string pool) => State.Idle.GetValueOrDefault(pool, []);
}

/// <summary>Checks on a scheduler state that hold after every event, whatever happened before.</summary>
internal static class SchedulerInvariants
{
    /// <summary>Every cap, computed from the leases themselves, and every counter agreeing with them.</summary>
    public static void AssertHold(SchedulerState s, SchedulerSettings settings)
    {
        var leases = s.Leases.Values.ToList();

        // Caps, from the leases.
        Assert.True(leases.Count <= settings.MaxRunning, $"{leases.Count} leases > MaxRunning {settings.MaxRunning}");
        var starting = leases.Count(l => l.Starting);
        Assert.True(starting <= settings.MaxStarting, $"{starting} starting > MaxStarting {settings.MaxStarting}");
        foreach (var g in leases.GroupBy(l => l.Pool))
            Assert.True(g.Count() <= settings.PoolCap(g.Key), $"pool {g.Key}: {g.Count()} leases > cap {settings.PoolCap(g.Key)}");
        foreach (var g in leases.GroupBy(l => l.Node))
            Assert.True(g.Count() <= settings.SlotsPerNode, $"node {g.Key}: {g.Count()} leases > slots {settings.SlotsPerNode}");
        foreach (var g in leases.Where(l => l.Quota is not null).GroupBy(l => l.Quota!))
            Assert.True(g.Count() <= settings.QuotaCap(g.Key), $"quota {g.Key}: {g.Count()} leases > cap {settings.QuotaCap(g.Key)}");
        var pools = leases.Select(l => l.Pool).Concat(s.Idle.Keys).Concat(s.PoolSizes.Keys).Distinct();
        foreach (var pool in pools)
        {
            var warm = leases.Count(l => l.Pool == pool && l.Mode == ExecutionMode.Persistent)
                       + s.Idle.GetValueOrDefault(pool, []).Count;
            Assert.True(warm <= settings.MaxPoolSize, $"pool {pool}: {warm} warm environments > MaxPoolSize {settings.MaxPoolSize}");
            Assert.Equal(warm, s.PoolSizes.GetValueOrDefault(pool));
        }

        // Counters agree with the leases.
        Assert.Equal(starting, s.Starting);
        Assert.Equal(Counts(leases.GroupBy(l => l.Pool)), NonZero(s.RunningByPool));
        Assert.Equal(Counts(leases.GroupBy(l => l.Node)), NonZero(s.RunningByNode));
        Assert.Equal(Counts(leases.Where(l => l.Quota is not null).GroupBy(l => l.Quota!)), NonZero(s.RunningByQuota));
        Assert.All(s.Leases, kv => Assert.Equal(kv.Key, kv.Value.TaskId));
        Assert.Equal(leases.Count, leases.Select(l => l.LeaseId).Distinct().Count());
        // One environment is never leased twice, nor leased and idle at once.
        var envs = leases.Select(l => l.EnvironmentId).Concat(s.Idle.Values.SelectMany(v => v).Select(w => w.EnvironmentId)).ToList();
        Assert.Equal(envs.Count, envs.Distinct().Count());
        // Reused environments never hold a start permit.
        Assert.All(leases, l => Assert.False(l.Reused && l.Starting, $"{l.TaskId} reused yet starting"));

        // Queues and their index agree; a task is either queued or leased, not both.
        var queued = s.Queues.SelectMany(kv => kv.Value.Values.Select(q => (Lane: kv.Key, Entry: q))).ToList();
        Assert.All(queued, x => Assert.Equal(x.Lane, x.Entry.Lane));
        Assert.All(s.Queues, kv => Assert.All(kv.Value, e => Assert.Equal(kv.Key, e.Value.Lane)));
        Assert.Equal(queued.Select(x => x.Entry.TaskId).Order(), s.QueuedByTask.Keys.Order());
        Assert.All(queued, x => Assert.Same(s.QueuedByTask[x.Entry.TaskId], x.Entry));
        Assert.Empty(s.QueuedByTask.Keys.Intersect(s.Leases.Keys));
        Assert.All(queued, x => Assert.True(x.Entry.Seq < s.NextSeq));

        // Idle environments live on nodes that are up, in the pool they are listed under.
        Assert.All(s.Idle, kv => Assert.All(kv.Value, w =>
        {
            Assert.Equal(kv.Key, w.Pool);
            Assert.Contains(w.Node, s.Nodes);
        }));
    }

    private static SortedDictionary<string, int> Counts(IEnumerable<IGrouping<string, Lease>> groups) =>
        new(groups.ToDictionary(g => g.Key, g => g.Count()));

    private static SortedDictionary<string, int> NonZero(IReadOnlyDictionary<string, int> d) =>
        new(d.Where(kv => kv.Value != 0).ToDictionary());

    /// <summary>A canonical rendering of everything observable, for comparing states built different ways.</summary>
    public static string Describe(SchedulerState s)
    {
        var b = new StringBuilder();
        b.AppendLine($"next-seq {s.NextSeq}; starting {s.Starting}; queue-depth {s.QueueDepth}; running {s.Running}");
        b.AppendLine($"nodes {string.Join(",", s.Nodes)}");
        foreach (var (lane, q) in s.Queues.Where(kv => !kv.Value.IsEmpty).OrderBy(kv => kv.Key.ToString(), StringComparer.Ordinal))
            b.AppendLine($"queue {lane}: {string.Join(" ", q.Select(kv => $"{kv.Key}={kv.Value}"))}");
        foreach (var q in s.QueuedByTask.OrderBy(kv => kv.Key, StringComparer.Ordinal)) b.AppendLine($"queued {q.Key}={q.Value}");
        foreach (var l in s.Leases.OrderBy(kv => kv.Key, StringComparer.Ordinal)) b.AppendLine($"lease {l.Key}={l.Value}");
        foreach (var (pool, idle) in s.Idle.Where(kv => !kv.Value.IsEmpty).OrderBy(kv => kv.Key, StringComparer.Ordinal))
            b.AppendLine($"idle {pool}: {string.Join(" ", idle)}");
        foreach (var (name, d) in new[] { ("pool-size", s.PoolSizes), ("by-pool", s.RunningByPool), ("by-node", s.RunningByNode), ("by-quota", s.RunningByQuota) })
            foreach (var kv in d.Where(kv => kv.Value != 0).OrderBy(kv => kv.Key, StringComparer.Ordinal))
                b.AppendLine($"{name} {kv.Key}={kv.Value}");
        return b.ToString();
    }
}
