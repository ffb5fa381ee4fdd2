using FsCheck;
using MegaFlow.Contracts;
using FsCheck.Fluent;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;

namespace MegaFlow.Domain.Tests.Scheduling;

/// <summary>One thing that happens to the scheduler. Picks are resolved (modulo) against the state at that moment.</summary>
public abstract record Op
{
    /// <param name="Quota">Index into <see cref="Workload.QuotaName"/>: none, a configured quota, or an unconfigured one.</param>
    public sealed record Enqueue(int Pool, ExecutionMode Mode, int Quota) : Op;
    public sealed record EnqueueAgain(int Pick) : Op;
    public sealed record Retry(int Pick) : Op;
    public sealed record Stale(int Pick) : Op;
    public sealed record Release(int Pick, bool Reusable) : Op;
    public sealed record Withdraw(int Pick) : Op;
    /// <summary>The task's release for a later attempt arrives while an earlier attempt still holds something.</summary>
    public sealed record ReleaseLater(int Pick) : Op;
    public sealed record Started(int Pick) : Op;
    public sealed record NodeUp(int Node) : Op;
    public sealed record NodeDown(int Node) : Op;
    public sealed record Retire(int Pick) : Op;
}

/// <summary>A random run: small caps so that every semaphore is under pressure, a few pools, quotas and nodes.</summary>
public sealed record Workload(SchedulerSettings Settings, int InitialNodes, IReadOnlyList<Op> Ops)
{
    public const int Pools = 3;
    public const int Nodes = 4;

    public static string PoolName(int i) => $"pool-{i % Pools}";
    public static string NodeName(int i) => $"node-{i % Nodes}";

    /// <summary>No quota, the two configured ones, and one the settings do not name (unlimited).</summary>
    public static string? QuotaName(int i) => (i % 4) switch { 0 => null, 1 => "train", 2 => "eval", _ => "unlisted" };

    public override string ToString() =>
        $"MaxRunning={Settings.MaxRunning} MaxStarting={Settings.MaxStarting} SlotsPerNode={Settings.SlotsPerNode} " +
        $"MaxPoolSize={Settings.MaxPoolSize} DefaultPoolCap={Settings.DefaultPoolCap} " +
        $"PoolCaps=[{string.Join(",", Settings.PoolCaps.Select(kv => $"{kv.Key}={kv.Value}"))}] " +
        $"Quotas=[{string.Join(",", Settings.Quotas.Select(kv => $"{kv.Key}={kv.Value}"))}] InitialNodes={InitialNodes}\n  " +
        string.Join("\n  ", Ops);
}

public static class WorkloadArbitrary
{
    private static readonly Gen<int> Pick = Gen.Choose(0, 50);

    private static readonly Gen<Op> Ops = Gen.Frequency(
        (6, from p in Gen.Choose(0, Workload.Pools - 1)
            from m in Gen.Elements(ExecutionMode.Ephemeral, ExecutionMode.Persistent)
            from q in Gen.Choose(0, 3)
            select (Op)new Op.Enqueue(p, m, q)),
        (1, Pick.Select(i => (Op)new Op.EnqueueAgain(i))),
        (1, Pick.Select(i => (Op)new Op.Retry(i))),
        (1, Pick.Select(i => (Op)new Op.Stale(i))),
        (5, Pick.SelectMany(_ => Gen.Elements(true, true, false), (i, r) => (Op)new Op.Release(i, r))),
        (1, Pick.Select(i => (Op)new Op.Withdraw(i))),
        (1, Pick.Select(i => (Op)new Op.ReleaseLater(i))),
        (4, Pick.Select(i => (Op)new Op.Started(i))),
        (1, Gen.Choose(0, Workload.Nodes - 1).Select(i => (Op)new Op.NodeUp(i))),
        (1, Gen.Choose(0, Workload.Nodes - 1).Select(i => (Op)new Op.NodeDown(i))),
        (1, Pick.Select(i => (Op)new Op.Retire(i))));

    private static readonly Gen<SchedulerSettings> Settings =
        from maxRunning in Gen.Choose(1, 8)
        from maxStarting in Gen.Choose(1, 4)
        from slots in Gen.Choose(1, 3)
        from poolSize in Gen.Choose(1, 3)
        from defaultCap in Gen.Choose(1, 6)
        from cap0 in Gen.Choose(1, 3)
        from train in Gen.Choose(1, 3)
        from eval in Gen.Choose(1, 2)
        select new SchedulerSettings
        {
            MaxRunning = maxRunning,
            MaxStarting = maxStarting,
            SlotsPerNode = slots,
            MaxPoolSize = poolSize,
            DefaultPoolCap = defaultCap,
            PoolCaps = new Dictionary<string, int> { [Workload.PoolName(0)] = cap0 },
            Quotas = new Dictionary<string, int> { ["train"] = train, ["eval"] = eval },
        };

    private static readonly Gen<Workload> WorkloadGen =
        from settings in Settings
        from nodes in Gen.Choose(0, 3)
        from length in Gen.Choose(10, 150)
        from ops in Gen.ListOf(Ops, length)
        select new Workload(settings, nodes, ops.ToList());

    /// <summary>Shrinks by dropping operations (picks stay valid because they are resolved modulo).</summary>
    private static IEnumerable<Workload> Shrink(Workload w)
    {
        for (var chunk = w.Ops.Count / 2; chunk >= 1; chunk /= 2)
            for (var start = 0; start + chunk <= w.Ops.Count; start += chunk)
                yield return w with { Ops = w.Ops.Take(start).Concat(w.Ops.Skip(start + chunk)).ToList() };
    }

    public static Arbitrary<Workload> Workloads() => Arb.From(WorkloadGen, Shrink);
}
