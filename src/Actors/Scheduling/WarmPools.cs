using Akka.Actor;
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
    public static async Task<IReadOnlyList<string>> DrainAsync(IActorRef scheduler, IActorRef environments, TimeSpan timeout)
    {
        var drained = await scheduler.Ask<PoolsDrained>(DrainPools.Instance, timeout);
        await Task.WhenAll(drained.EnvironmentIds.Select(id =>
            environments.Ask<DestroyDone>(new Destroy(id, "pools drained"), timeout)));
        return drained.EnvironmentIds;
    }
}
