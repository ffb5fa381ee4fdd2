using Akka.Actor;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Contracts.Management;
using MegaFlow.Management.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using static MegaFlow.Contracts.Scheduling.SchedulerProtocol;

namespace MegaFlow.Management.Scheduling;

/// <summary>The scheduler singleton (reached through this node's proxy): queue, semaphores and holders, pools, quotas.</summary>
public static class SchedulerRoutes
{
    public static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    private const string Singleton = "the scheduler singleton";

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/scheduler", async (ManagementNode node) => ApiResults.Ok(await ViewAsync(node)));
        api.MapGet("/scheduler/pools", async (ManagementNode node) => ApiResults.Ok((await ViewAsync(node)).Pools));
    }

    public static async Task<SchedulerView> ViewAsync(ManagementNode node)
    {
        var scheduler = node.Refs.Scheduler;
        var statusTask = scheduler.AskAsync<SchedulerStatus>(GetSchedulerState.Instance, AskTimeout, Singleton);
        var leasesTask = scheduler.AskAsync<SchedulerLeases>(GetSchedulerLeases.Instance, AskTimeout, Singleton);
        return Build(await statusTask, await leasesTask);
    }

    /// <summary>Pure: the operator's view from the scheduler's two answers.</summary>
    public static SchedulerView Build(SchedulerStatus status, SchedulerLeases leases)
    {
        var s = status.Settings;
        var semaphores = new List<SemaphoreView>
        {
            new("running", status.Running, s.MaxRunning, leases.Leases.Select(l => l.TaskId).ToList()),
            new("starting", status.Starting, s.MaxStarting, leases.Leases.Where(l => l.Starting).Select(l => l.TaskId).ToList()),
        };
        var pools = status.RunningByPool.Keys
            .Concat(leases.QueuedByPool.Keys).Concat(status.IdleByPool.Keys).Concat(status.PoolSizes.Keys)
            .Distinct().OrderBy(p => p, StringComparer.Ordinal).ToList();
        foreach (var pool in pools)
            semaphores.Add(new($"pool:{pool}", status.RunningByPool.GetValueOrDefault(pool), s.PoolCap(pool),
                leases.Leases.Where(l => l.Pool == pool).Select(l => l.TaskId).ToList()));
        var runningByQuota = status.RunningByQuota ?? new Dictionary<string, int>();
        var queuedByQuota = leases.QueuedByQuota ?? new Dictionary<string, int>();
        var quotas = s.Quotas.Keys.Concat(runningByQuota.Keys).Concat(queuedByQuota.Keys)
            .Distinct().OrderBy(q => q, StringComparer.Ordinal).ToList();
        foreach (var quota in quotas)
            semaphores.Add(new($"quota:{quota}", runningByQuota.GetValueOrDefault(quota), s.QuotaCap(quota),
                leases.Leases.Where(l => l.Quota == quota).Select(l => l.TaskId).ToList()));
        foreach (var n in status.Nodes.Union(status.RunningByNode.Keys).OrderBy(n => n, StringComparer.Ordinal))
            semaphores.Add(new($"node:{n}", status.RunningByNode.GetValueOrDefault(n), s.SlotsPerNode,
                leases.Leases.Where(l => l.Node == n).Select(l => l.TaskId).ToList()));
        return new SchedulerView(
            status.QueueDepth,
            status.Running,
            status.Starting,
            semaphores,
            pools.Select(p => new PoolView(p, leases.QueuedByPool.GetValueOrDefault(p), status.RunningByPool.GetValueOrDefault(p), s.PoolCap(p),
                status.IdleByPool.GetValueOrDefault(p), status.PoolSizes.GetValueOrDefault(p), s.MaxPoolSize)).ToList(),
            leases.Leases,
            status.Nodes,
            quotas.Select(q => new QuotaView(q, queuedByQuota.GetValueOrDefault(q), runningByQuota.GetValueOrDefault(q), s.QuotaCap(q),
                s.Quotas.ContainsKey(q))).ToList());
    }
}
