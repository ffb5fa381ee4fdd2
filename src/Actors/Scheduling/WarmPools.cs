using Akka.Actor;
using Akka.Cluster.Sharding;
using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Environments;
using static MegaFlow.Contracts.Environments.EnvironmentProtocol;
using static MegaFlow.Contracts.Scheduling.SchedulerProtocol;

namespace MegaFlow.Actors.Scheduling;

/// <summary>Operations on the persistent-mode pools from a host program.</summary>
public static class WarmPools
{
    private static readonly TimeSpan SettleInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Takes every warm environment out of its pool and destroys it (its folder or container is
    /// removed), and returns once no environment of this node is left; returns the ids it destroyed.
    /// For a job that ends, like the demo: a long-running cluster keeps its pools warm on purpose.
    /// </summary>
    /// <remarks>
    /// One drain is not enough when the last tasks have only just finished: their environments may
    /// still be resetting (a Docker reset recreates the container) or being destroyed, and a reset
    /// one turns idle after the drain. So this repeats — drain the pools, destroy what is idle, wait —
    /// until every live environment entity is gone, or <paramref name="timeout"/> passes.
    /// </remarks>
    /// <param name="environments">This node's environment region (not a proxy): its live entities are
    /// checked too, because idle environments that recovered after a restart are no longer in any
    /// pool and destroy themselves in the background; the job must not end before they are gone.</param>
    public static async Task<IReadOnlyList<string>> DrainAsync(IActorRef scheduler, IActorRef environments, TimeSpan timeout, CancellationToken ct = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        var destroyed = new HashSet<string>();
        while (true)
        {
            var drained = await scheduler.Ask<PoolsDrained>(DrainPools.Instance, timeout, ct);
            var live = await environments.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, timeout, ct);
            var states = await Task.WhenAll(live.Shards.SelectMany(s => s.EntityIds)
                .Select(id => environments.Ask<EnvironmentState>(new GetEnvironmentState(id), timeout, ct)));
            var remaining = states.Where(s => !s.IsGone && s.Status != EnvironmentStatus.Unknown).ToList();
            var idle = remaining.Where(s => s.Status == EnvironmentStatus.Ready).Select(s => s.EnvironmentId)
                .Concat(drained.EnvironmentIds).Distinct().ToList();
            await Task.WhenAll(idle.Select(id => environments.Ask<DestroyDone>(new Destroy(id, "pools drained"), timeout, ct)));
            destroyed.UnionWith(idle);
            // Everything still alive was idle and has just been destroyed: nothing is left.
            if (remaining.All(r => r.Status == EnvironmentStatus.Ready))
                return destroyed.ToList();
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"environments still busy after {timeout}: " +
                    string.Join(", ", remaining.Where(r => r.Status != EnvironmentStatus.Ready).Select(r => $"{r.EnvironmentId} ({r.Status})")));
            await Task.Delay(SettleInterval, ct);
        }
    }
}
