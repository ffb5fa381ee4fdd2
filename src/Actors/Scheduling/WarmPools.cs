using Akka.Actor;
using Akka.Cluster.Sharding;
using MegaFlow.Domain.Environments;
using static MegaFlow.Domain.Environments.EnvironmentProtocol;
using static MegaFlow.Domain.Scheduling.SchedulerProtocol;

namespace MegaFlow.Actors.Scheduling;

/// <summary>Operations on the persistent-mode pools from a host program.</summary>
public static class WarmPools
{
    /// <summary>
    /// Takes every idle warm environment out of its pool and destroys it (its folder or container
    /// is removed); returns their ids. For a job that ends, like the demo: a long-running cluster
    /// keeps its pools warm on purpose.
    /// </summary>
    /// <param name="environments">This node's environment region (not a proxy): its live entities are
    /// also checked, because idle environments that recovered after a restart are no longer in any
    /// pool and destroy themselves in the background; the job must not end before they are gone.</param>
    public static async Task<IReadOnlyList<string>> DrainAsync(IActorRef scheduler, IActorRef environments, TimeSpan timeout)
    {
        var drained = await scheduler.Ask<PoolsDrained>(DrainPools.Instance, timeout);
        var live = await environments.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, timeout);
        var idle = new List<string>();
        foreach (var id in live.Shards.SelectMany(s => s.EntityIds).Except(drained.EnvironmentIds))
        {
            var state = await environments.Ask<EnvironmentState>(new GetEnvironmentState(id), timeout);
            if (state.Status == EnvironmentStatus.Ready) idle.Add(id);
        }
        var all = drained.EnvironmentIds.Concat(idle).ToList();
        await Task.WhenAll(all.Select(id => environments.Ask<DestroyDone>(new Destroy(id, "pools drained"), timeout)));
        return all;
    }
}
