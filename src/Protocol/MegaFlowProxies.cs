using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.Singleton;
using MegaFlow.Protocol.Sharding;

namespace MegaFlow.Protocol;

/// <summary>
/// How a member that hosts no tasks (a client, a scheduler-only node) reaches the ones that do: shard
/// region proxies on the worker role and a proxy to the scheduler singleton.
/// </summary>
public static class MegaFlowProxies
{
    /// <summary>The singleton manager's name under /user on scheduler nodes.</summary>
    public const string SchedulerManagerName = "scheduler";

    public static string WorkerRole(ActorSystem system) => system.Settings.Config.GetString("megaflow.worker-role", "worker");

    public static string SchedulerRole(ActorSystem system) => system.Settings.Config.GetString("megaflow.scheduler-role", "scheduler");

    public static TaskMessageExtractor TaskExtractor(ActorSystem system) => new(system.Settings.Config.GetInt("megaflow.task-shards", 100));

    public static IActorRef Scheduler(ActorSystem system) => system.ActorOf(
        ClusterSingletonProxy.Props("/user/" + SchedulerManagerName, ClusterSingletonProxySettings.Create(system).WithRole(SchedulerRole(system))),
        "scheduler-proxy");

    /// <summary>Starts the three proxies (call once per ActorSystem).</summary>
    public static MegaFlowRefs Start(ActorSystem system)
    {
        var scheduler = Scheduler(system);
        var sharding = ClusterSharding.Get(system);
        var environments = sharding.StartProxy(EntityTypes.Environment, WorkerRole(system), new EnvironmentMessageExtractor());
        var tasks = sharding.StartProxy(EntityTypes.Task, WorkerRole(system), TaskExtractor(system));
        return new MegaFlowRefs(tasks, environments, scheduler);
    }
}
