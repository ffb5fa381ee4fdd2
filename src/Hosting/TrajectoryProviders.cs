using Akka.Actor;
using Akka.Cluster;
using MegaFlow.Actors.Training;

namespace MegaFlow.Hosting;

/// <summary>Where a trainer asks for a trajectory stream: this node's provider when it is a worker, else an Up worker's.</summary>
internal static class TrajectoryProviders
{
    public static ActorSelection? Find(ActorSystem system, string workerRole)
    {
        var cluster = Cluster.Get(system);
        if (cluster.SelfRoles.Contains(workerRole))
            return system.ActorSelection($"/user/{TrajectoryProvider.Name}");
        // Every worker reads the same journal: any one will do; a random one spreads reconnects after a worker dies.
        var workers = cluster.State.Members.Where(m => m.Status == MemberStatus.Up && m.HasRole(workerRole)
                                                        && !cluster.State.Unreachable.Contains(m)).ToList();
        return workers.Count == 0 ? null : system.ActorSelection($"{workers[Random.Shared.Next(workers.Count)].Address}/user/{TrajectoryProvider.Name}");
    }
}
