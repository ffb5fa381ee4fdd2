using Akka.Actor;
using MegaFlow.Protocol;
using MegaFlow.Protocol.Sharding;
using MegaFlow.Contracts;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Cluster.Tools.Singleton;
using Akka.Configuration;
using Akka.Pattern;
using MegaFlow.Actors.Cluster;
using MegaFlow.Actors.Environments;
using MegaFlow.Actors.Scheduling;
using MegaFlow.Actors.Tasks;
using MegaFlow.Actors.Tasks.ReadModel;
using MegaFlow.Domain.Agents;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Environments;
using MegaFlow.Environments.Docker;
using MegaFlow.Environments.LocalProcess;
using MegaFlow.Environments.Simulated;
using MegaFlow.Storage;

namespace MegaFlow.Hosting;

/// <summary>
/// Starts MegaFlow's actors on an ActorSystem according to the node's roles. The Akka.Hosting host
/// and the multi-node tests both go through here, so tests exercise exactly what production runs.
/// </summary>
public static class MegaFlowNode
{
    public static MegaFlowRefs Start(ActorSystem system, IEnvironmentProvider? provider = null, IArtifactStore? artifacts = null, IAgent? agent = null)
    {
        var config = system.Settings.Config;
        var mf = config.GetConfig("megaflow");
        var workerRole = MegaFlowProxies.WorkerRole(system);
        var schedulerRole = MegaFlowProxies.SchedulerRole(system);
        var dataDir = mf.GetString("data-dir", "./data");
        var cluster = Akka.Cluster.Cluster.Get(system);
        var roles = cluster.SelfRoles;
        // Environments, leases and slots belong to this incarnation of the node; container labels name its address.
        var node = NodeKey.SelfIncarnation(system);
        var address = NodeKey.Self(system);

        agent ??= ScriptedAgent.Instance;

        var memberWatcher = system.ActorOf(Props.Create<MemberWatcher>(), MemberWatcher.Name);
        var mediator = DistributedPubSub.Get(system).Mediator;
        TaskReadModels.Start(system, address); // every node: the management API and clients read tasks from it

        var scheduler = MegaFlowProxies.Scheduler(system);

        var sharding = ClusterSharding.Get(system);
        var shardingSettings = ClusterShardingSettings.Create(system).WithRole(workerRole).WithRememberEntities(true);
        var taskExtractor = MegaFlowProxies.TaskExtractor(system);
        var envExtractor = new EnvironmentMessageExtractor();

        IActorRef environments, tasks;
        if (roles.Contains(workerRole))
        {
            // Only workers hold environments and artifacts; clients and scheduler-only nodes touch no disk.
            Directory.CreateDirectory(dataDir);
            if (provider is null)
            {
                provider = CreateProvider(mf, dataDir, system.Name, address);
                // A provider this node made is this node's to close (the Docker provider holds an
                // engine connection and an event-watch loop); one a host passed in stays the host's.
                if (provider is IDisposable owned) system.RegisterOnTermination(owned.Dispose);
            }
            artifacts ??= new LocalFolderArtifactStore(Path.Combine(dataDir, "artifacts"));
            var envConfig = mf.GetConfig("environment") ?? Config.Empty;
            var envSettings = new EnvironmentActorSettings
            {
                Node = node,
                CheckInterval = envConfig.GetTimeSpan("check-interval", TimeSpan.FromSeconds(15)),
                ProvisionTimeout = envConfig.GetTimeSpan("provision-timeout", TimeSpan.FromMinutes(10)),
                ResetTimeout = envConfig.GetTimeSpan("reset-timeout", TimeSpan.FromMinutes(2)),
                DestroyTimeout = envConfig.GetTimeSpan("destroy-timeout", TimeSpan.FromMinutes(2)),
            };
            environments = sharding.Start(EntityTypes.Environment,
                id => EnvironmentActor.Props(id, provider, artifacts, scheduler, envSettings),
                shardingSettings, envExtractor, new NodePinnedAllocationStrategy(system, EntityTypes.Environment), PoisonPill.Instance);

            if (provider is IResourceInventory or IImageInventory)
                system.ActorOf(EnvironmentJanitor.Props(provider, environments, scheduler, node, ReadJanitorSettings(mf)), EnvironmentJanitor.Name);

            var taskSettings = ReadTaskSettings(mf.GetConfig("task"), address); // where the task ran, for people
            var refs = new TaskActorRefs(scheduler, environments, mediator, memberWatcher);
            tasks = sharding.Start(EntityTypes.Task,
                id => TaskActor.Props(id, refs, taskSettings, agent),
                shardingSettings, taskExtractor,
                sharding.DefaultShardAllocationStrategy(shardingSettings), PoisonPill.Instance);
        }
        else
        {
            environments = sharding.StartProxy(EntityTypes.Environment, workerRole, envExtractor);
            tasks = sharding.StartProxy(EntityTypes.Task, workerRole, taskExtractor);
        }

        if (roles.Contains(schedulerRole))
        {
            var settings = ReadSchedulerSettings(mf.GetConfig("scheduler"));
            // A persistent actor stops when the journal fails (a database outage), and a singleton
            // manager never restarts a singleton that stopped by itself: the backoff supervisor
            // restarts the scheduler (recovering from the journal) once the database answers again.
            var scheduling = SchedulerActor.Props(settings, tasks, workerRole, mf.GetInt("scheduler.snapshot-every", 1000));
            var supervised = BackoffSupervisor.Props(Backoff.OnStop(scheduling, "scheduler",
                TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), 0.2, maxNrOfRetries: -1));
            system.ActorOf(ClusterSingletonManager.Props(
                    supervised,
                    PoisonPill.Instance,
                    ClusterSingletonManagerSettings.Create(system).WithRole(schedulerRole)),
                MegaFlowProxies.SchedulerManagerName);
        }

        return new MegaFlowRefs(tasks, environments, scheduler);
    }

    /// <summary>
    /// Joins the cluster: the configured seed nodes join on their own (akka.cluster.seed-nodes);
    /// without seeds the node founds a single-node cluster by joining itself.
    /// </summary>
    public static void Join(ActorSystem system, NodeSettings settings)
    {
        if (settings.Seeds.Count == 0)
        {
            var cluster = Akka.Cluster.Cluster.Get(system);
            cluster.Join(cluster.SelfAddress);
        }
    }

    public static SchedulerSettings ReadSchedulerSettings(Config c)
    {
        var caps = new Dictionary<string, int>();
        var capsConfig = c.GetConfig("pool-caps");
        if (capsConfig is not null && !capsConfig.IsEmpty)
            foreach (var kv in capsConfig.AsEnumerable())
                caps[kv.Key.Trim('"')] = kv.Value.GetInt();
        var settings = new SchedulerSettings
        {
            MaxRunning = c.GetInt("max-running", 256),
            MaxStarting = c.GetInt("max-starting", 32),
            SlotsPerNode = c.GetInt("slots-per-node", 64),
            MaxPoolSize = c.GetInt("max-pool-size", 8),
            DefaultPoolCap = c.GetInt("default-pool-cap", 1_000_000),
            PoolCaps = caps,
        };
        if (settings.Problems() is { Count: > 0 } problems)
            throw new ConfigurationException("megaflow.scheduler: " + string.Join("; ", problems));
        return settings;
    }

    private static TaskActorSettings ReadTaskSettings(Config c, string node) => new()
    {
        Node = node,
        InlineOutputBytes = c.GetInt("inline-output-bytes", 2048),
        CaptureBytes = c.GetInt("capture-bytes", 1 << 20),
        RetryInterval = c.GetTimeSpan("retry-interval", TimeSpan.FromSeconds(3)),
        ExecGrace = c.GetTimeSpan("exec-grace", TimeSpan.FromSeconds(15)),
        LingerAfterFinish = c.GetTimeSpan("linger-after-finish", TimeSpan.FromSeconds(2)),
    };

    private static EnvironmentJanitorSettings ReadJanitorSettings(Config mf) => new()
    {
        Prepull = mf.GetStringList("docker.prepull", []).ToList(),
        ImageReportInterval = mf.GetTimeSpan("docker.image-report-interval", TimeSpan.FromSeconds(30)),
    };

    /// <summary>The Docker provider's settings from megaflow.docker (public so tests check that overrides arrive).</summary>
    public static DockerProviderSettings ReadDockerSettings(Config mf, string systemName, string node)
    {
        var d = mf.GetConfig("docker") ?? Config.Empty;
        var label = d.GetString("cluster-label", "");
        var server = d.GetString("registry.server", "");
        var passwordEnv = d.GetString("registry.password-env", "");
        var settings = new DockerProviderSettings
        {
            Endpoint = d.GetString("endpoint", "unix:///var/run/docker.sock"),
            Cluster = string.IsNullOrWhiteSpace(label) ? systemName : label,
            Node = node,
            Prepull = d.GetStringList("prepull", []).ToList(),
            MaxConcurrentCreates = d.GetInt("max-concurrent-creates", 8),
            ApiTimeout = d.GetTimeSpan("api-timeout", TimeSpan.FromSeconds(30)),
            ApiAttempts = d.GetInt("api-attempts", 4),
            ApiBackoff = d.GetTimeSpan("api-backoff", TimeSpan.FromMilliseconds(200)),
            PullTimeout = d.GetTimeSpan("pull-timeout", TimeSpan.FromMinutes(15)),
            PullFailureTtl = d.GetTimeSpan("pull-failure-ttl", TimeSpan.FromSeconds(60)),
            CapAdd = d.GetStringList("cap-add", ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETGID", "SETUID", "KILL"]).ToList(),
            KeepAliveCommand = d.GetStringList("keep-alive-command", ["tail", "-f", "/dev/null"]).ToList(),
            Credentials = string.IsNullOrWhiteSpace(server)
                ? []
                : [new RegistryCredentials(server, d.GetString("registry.username", ""),
                    string.IsNullOrWhiteSpace(passwordEnv) ? "" : Environment.GetEnvironmentVariable(passwordEnv) ?? throw new ConfigurationException(
                        $"megaflow.docker.registry.password-env: environment variable '{passwordEnv}' is not set"))],
        };
        if (settings.Problems() is { Count: > 0 } problems)
            throw new ConfigurationException("megaflow.docker: " + string.Join("; ", problems));
        return settings;
    }

    private static IEnvironmentProvider CreateProvider(Config mf, string dataDir, string systemName, string node)
    {
        var name = mf.GetString("provider", "local");
        switch (name)
        {
            case "local":
                return new LocalProcessProvider(Path.Combine(dataDir, "envs"));
            case "simulated":
                var sim = mf.GetConfig("simulated");
                var settings = new SimulatedProviderSettings
                {
                    ProvisionLatency = LatencyDistribution.Parse(sim.GetString("provision-latency", "0")),
                    ExecLatency = LatencyDistribution.Parse(sim.GetString("exec-latency", "0")),
                    ResetLatency = LatencyDistribution.Parse(sim.GetString("reset-latency", "0")),
                    DestroyLatency = LatencyDistribution.Parse(sim.GetString("destroy-latency", "0")),
                    ProvisionFailureRate = sim.GetDouble("provision-failure-rate", 0),
                    ExecLossRate = sim.GetDouble("exec-loss-rate", 0),
                    ResetFailureRate = sim.GetDouble("reset-failure-rate", 0),
                    Seed = sim.GetInt("seed", 42),
                };
                settings.Validate();
                return new SimulatedProvider(settings);
            case "docker":
                return new DockerProvider(ReadDockerSettings(mf, systemName, node));
            default:
                throw new ConfigurationException($"megaflow.provider: unknown provider '{name}' (expected local, simulated or docker)");
        }
    }
}
