using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Configuration;
using Akka.Hosting;
using MegaFlow.Protocol.Sharding;

namespace MegaFlow.Protocol;

/// <summary>
/// How cluster members reach MegaFlow's actors through Akka.Hosting: the scheduler singleton's proxy
/// on every member, and shard region proxies on members that host no tasks (clients, scheduler-only
/// nodes). The names and roles come from the member's configuration (megaflow.worker-role, …).
/// </summary>
public static class MegaFlowProxies
{
    /// <summary>The singleton manager's name under /user on scheduler nodes.</summary>
    public const string SchedulerManagerName = "scheduler";

    /// <summary>The trainer singleton's manager name under /user on trainer nodes.</summary>
    public const string TrainerManagerName = "trainer";

    public static string TrainerRole(Config config) => config.GetString("megaflow.trainer-role", "trainer");

    /// <summary>Registers the proxy to the trainer singleton under <see cref="ActorKeys.Trainer"/> (messages wait while no trainer node is up).</summary>
    public static AkkaConfigurationBuilder WithTrainerProxy(this AkkaConfigurationBuilder builder, Config config) =>
        builder.WithSingletonProxy<ActorKeys.Trainer>(TrainerManagerName, new ClusterSingletonOptions { Role = TrainerRole(config) });

    public static string WorkerRole(Config config) => config.GetString("megaflow.worker-role", "worker");

    public static string SchedulerRole(Config config) => config.GetString("megaflow.scheduler-role", "scheduler");

    public static TaskMessageExtractor TaskExtractor(Config config) => new(config.GetInt("megaflow.task-shards", 100));

    /// <summary>Registers the proxy to the scheduler singleton under <see cref="ActorKeys.Scheduler"/>.</summary>
    public static AkkaConfigurationBuilder WithSchedulerProxy(this AkkaConfigurationBuilder builder, Config config) =>
        builder.WithSingletonProxy<ActorKeys.Scheduler>(SchedulerManagerName, new ClusterSingletonOptions { Role = SchedulerRole(config) });

    /// <summary>Registers region proxies for tasks and environments (members without the worker role).</summary>
    public static AkkaConfigurationBuilder WithRegionProxies(this AkkaConfigurationBuilder builder, Config config) => builder
        .WithShardRegionProxy<ActorKeys.Environments>(EntityTypes.Environment, WorkerRole(config), new EnvironmentMessageExtractor())
        .WithShardRegionProxy<ActorKeys.Tasks>(EntityTypes.Task, WorkerRole(config), TaskExtractor(config));

    /// <summary>The entry points, once the ActorSystem has started.</summary>
    public static MegaFlowRefs Refs(IReadOnlyActorRegistry registry) =>
        new(registry.Get<ActorKeys.Tasks>(), registry.Get<ActorKeys.Environments>(), registry.Get<ActorKeys.Scheduler>());
}
