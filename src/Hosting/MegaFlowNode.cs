using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Hosting;
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
using MegaFlow.Actors.SingleNode;
using MegaFlow.Actors.Tasks;
using MegaFlow.Actors.Tasks.ReadModel;
using MegaFlow.Agents;
using MegaFlow.Agents.Model;
using MegaFlow.Domain.Agents;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Environments;
using MegaFlow.Environments.Docker;
using MegaFlow.Environments.LocalProcess;
using MegaFlow.Environments.Simulated;
using MegaFlow.Storage;
using MegaFlow.Storage.S3;

namespace MegaFlow.Hosting;

/// <summary>What a host may hand a node instead of what its configuration names (tests, benchmarks, host programs).</summary>
/// <param name="Provider">The environment provider; null makes the one megaflow.provider names (and the node disposes it).</param>
/// <param name="Artifacts">The artifact store; null is the local folder under the data directory.</param>
/// <param name="Agent">The agent; null is the <see cref="AgentRouter"/> of every kind (scripted, model) configured from megaflow.agents.</param>
public sealed record NodeComponents(IEnvironmentProvider? Provider = null, IArtifactStore? Artifacts = null, IAgent? Agent = null);

/// <summary>
/// Registers MegaFlow's actors with Akka.Hosting according to the node's roles: one <c>WithXxx</c>
/// extension per actor type, composed by <see cref="WithMegaFlowNode"/>. Every entry point lands in
/// the ActorRegistry under <see cref="ActorKeys"/>. The node host, the multi-node tests and the
/// benchmarks all go through here, so tests exercise exactly what production runs.
/// </summary>
public static class MegaFlowNode
{
    /// <summary>Everything a node runs: configuration, persistence setup, then the actors its roles call for.</summary>
    public static AkkaConfigurationBuilder WithMegaFlowNode(this AkkaConfigurationBuilder builder, NodeSettings settings, NodeComponents? components = null)
    {
        components ??= new NodeComponents();
        var config = MegaFlowConfig.Build(settings);
        builder.AddHocon(config, HoconAddMode.Prepend);
        if (MegaFlowConfig.PersistenceSetup(settings) is { } persistence) builder.AddSetup(persistence);

        var isWorker = settings.Roles.Contains(MegaFlowProxies.WorkerRole(config));
        builder.WithSchedulerProxy(config).WithTaskReadModel();
        if (isWorker)
        {
            var gateway = new GatewayAddress();
            builder.WithEnvironmentRegion(config, components.Provider, components.Artifacts, gateway)
                .WithTaskRegion(config, AgentOf(components, config), gateway);
        }
        else
            builder.WithRegionProxies(config);
        if (settings.Roles.Contains(MegaFlowProxies.SchedulerRole(config)))
            builder.WithScheduler(config);
        builder.WithTrainerProxy(config);
        if (settings.Roles.Contains(MegaFlowProxies.TrainerRole(config)))
            builder.WithTrainer(config, components.Artifacts);
        return builder;
    }

    /// <summary>
    /// The trainer singleton's manager (trainer role). Its experiments take trajectories from this
    /// node's provider when it is a worker, else from any worker's; its weight versions go to the
    /// node's artifact store, which the model nodes read (a shared store: S3, or one machine's folder).
    /// </summary>
    public static AkkaConfigurationBuilder WithTrainer(this AkkaConfigurationBuilder builder, Config config, IArtifactStore? artifacts) =>
        builder.WithSingleton<Trainer.TrainerActor>(MegaFlowProxies.TrainerManagerName, (system, registry, _) =>
            {
                var mf = config.GetConfig("megaflow");
                if (artifacts is null)
                {
                    artifacts = CreateArtifactStore(mf, mf.GetString("data-dir", "./data"));
                    if (artifacts is IDisposable owned) system.RegisterOnTermination(owned.Dispose);
                }
                var settings = Trainer.TrainerSettings.From(mf);
                var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
                system.RegisterOnTermination(http.Dispose);
                var parts = new Trainer.TrainerParts(settings, artifacts, registry.Get<ActorKeys.Tasks>(),
                    () => TrajectoryProviders.Find(system, MegaFlowProxies.WorkerRole(config)), new Trainer.WeightPublisher(settings, http));
                var trainer = Trainer.TrainerActor.Props(parts);
                // Like the scheduler: restarted (recovering its journal) after it stopped on a journal failure.
                return BackoffSupervisor.Props(Backoff.OnStop(trainer, "trainer", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), 0.2, maxNrOfRetries: -1));
            },
            new ClusterSingletonOptions { Role = MegaFlowProxies.TrainerRole(config), TerminationMessage = PoisonPill.Instance },
            createProxyToo: false);

    /// <summary>
    /// Joins the cluster once every actor exists: the configured seed nodes join on their own
    /// (akka.cluster.seed-nodes); without seeds the node founds a single-node cluster by joining itself.
    /// Tests that assemble clusters by hand leave this out and join the nodes themselves.
    /// </summary>
    public static AkkaConfigurationBuilder WithClusterJoin(this AkkaConfigurationBuilder builder, NodeSettings settings) =>
        builder.AddStartup((system, _) =>
        {
            if (settings.Seeds.Count > 0) return;
            var cluster = Akka.Cluster.Cluster.Get(system);
            cluster.Join(cluster.SelfAddress);
        });

    /// <summary>
    /// The node's model gateway address, known once the environment region's registration started it;
    /// read by the task region's registration, which Akka.Hosting runs after it.
    /// </summary>
    private sealed class GatewayAddress
    {
        public Uri? Value { get; set; }
    }

    /// <summary>
    /// The environment shard region, its janitor, the node's model gateway and member watcher (worker role).
    /// Started with ClusterSharding directly because environments are pinned to their node by a
    /// custom allocation strategy, which Akka.Cluster.Hosting's ShardOptions cannot carry; the region
    /// is registered under <see cref="ActorKeys.Environments"/> all the same.
    /// </summary>
    private static AkkaConfigurationBuilder WithEnvironmentRegion(this AkkaConfigurationBuilder builder, Config config, IEnvironmentProvider? provider, IArtifactStore? artifacts, GatewayAddress gateway) =>
        builder.WithActors((system, registry) =>
        {
            var parts = EnvironmentParts.Create(system, registry, config, provider, artifacts);
            gateway.Value = parts.Settings.Gateway;
            var scheduler = registry.Get<ActorKeys.Scheduler>();
            var shardingSettings = ClusterShardingSettings.Create(system).WithRole(MegaFlowProxies.WorkerRole(config)).WithRememberEntities(true);
            var environments = ClusterSharding.Get(system).Start(EntityTypes.Environment,
                id => EnvironmentActor.Props(id, parts.Provider, parts.Artifacts, scheduler, parts.Settings),
                shardingSettings, new EnvironmentMessageExtractor(), new NodePinnedAllocationStrategy(system, EntityTypes.Environment), PoisonPill.Instance);
            registry.Register<ActorKeys.Environments>(environments);
            parts.StartJanitor(system, environments, scheduler);
            parts.StartTrajectoryProvider(system, registry);
        });

    /// <summary>What a worker's environments are made of: provider, artifact store and timings, read once per node.</summary>
    private sealed record EnvironmentParts(IEnvironmentProvider Provider, IArtifactStore Artifacts, EnvironmentActorSettings Settings, EnvironmentJanitorSettings Janitor)
    {
        public static EnvironmentParts Create(ActorSystem system, IActorRegistry registry, Config config, IEnvironmentProvider? provider, IArtifactStore? artifacts)
        {
            var mf = config.GetConfig("megaflow");
            var dataDir = mf.GetString("data-dir", "./data");
            // Only workers hold environments and artifacts; clients and scheduler-only nodes touch no disk.
            Directory.CreateDirectory(dataDir);
            if (provider is null)
            {
                provider = CreateProvider(mf, dataDir, system.Name, NodeKey.Self(system));
                // A provider this node made is this node's to close (the Docker provider holds an
                // engine connection and an event-watch loop); one a host passed in stays the host's.
                if (provider is IDisposable owned) system.RegisterOnTermination(owned.Dispose);
            }
            var envConfig = mf.GetConfig("environment") ?? Config.Empty;
            if (artifacts is null)
            {
                artifacts = CreateArtifactStore(mf, dataDir);
                if (artifacts is IDisposable owned) system.RegisterOnTermination(owned.Dispose);
            }
            // Agent programs in this node's environments call their models through this node's gateway.
            var gateway = NodeGateway.Start(system, registry, mf, artifacts, provider);
            return new EnvironmentParts(provider, artifacts, new EnvironmentActorSettings
            {
                Gateway = gateway?.BaseAddress,
                // Environments, leases and slots belong to this incarnation of the node; container labels name its address.
                Node = NodeKey.SelfIncarnation(system),
                CheckInterval = envConfig.GetTimeSpan("check-interval", TimeSpan.FromSeconds(15)),
                ProvisionTimeout = envConfig.GetTimeSpan("provision-timeout", TimeSpan.FromMinutes(10)),
                ResetTimeout = envConfig.GetTimeSpan("reset-timeout", TimeSpan.FromMinutes(2)),
                DestroyTimeout = envConfig.GetTimeSpan("destroy-timeout", TimeSpan.FromMinutes(2)),
            }, ReadJanitorSettings(mf));
        }

        /// <summary>Trajectory streams for trainers, from this node's journal view and artifact store (under /user/trajectories).</summary>
        public void StartTrajectoryProvider(ActorSystem system, IActorRegistry registry) =>
            registry.Register<ActorKeys.Trajectories>(system.ActorOf(MegaFlow.Actors.Training.TrajectoryProvider.Props(Artifacts), MegaFlow.Actors.Training.TrajectoryProvider.Name));

        /// <summary>Orphan and image housekeeping, for providers that can list what they made.</summary>
        public void StartJanitor(ActorSystem system, IActorRef environments, IActorRef scheduler)
        {
            if (Provider is IResourceInventory or IImageInventory)
                system.ActorOf(EnvironmentJanitor.Props(Provider, environments, scheduler, Settings.Node, Janitor), EnvironmentJanitor.Name);
        }
    }

    /// <summary>The task shard region (worker role); its agents call models through <paramref name="gateway"/>.</summary>
    private static AkkaConfigurationBuilder WithTaskRegion(this AkkaConfigurationBuilder builder, Config config, IAgent agent, GatewayAddress gateway) =>
        builder.WithShardRegion<ActorKeys.Tasks>(EntityTypes.Task, (system, registry, _) =>
            {
                var memberWatcher = system.ActorOf(Props.Create<MemberWatcher>(), MemberWatcher.Name);
                var refs = new TaskActorRefs(registry.Get<ActorKeys.Scheduler>(), registry.Get<ActorKeys.Environments>(),
                    DistributedPubSub.Get(system).Mediator, memberWatcher);
                return TaskProps(system, config, () => refs, agent, gateway.Value);
            },
            MegaFlowProxies.TaskExtractor(config),
            new ShardOptions { Role = MegaFlowProxies.WorkerRole(config), RememberEntities = true, HandOffStopMessage = PoisonPill.Instance });

    // The host's agent, or the router over every kind (scripted, model) configured from megaflow.agents.
    private static IAgent AgentOf(NodeComponents components, Config config) =>
        components.Agent ?? AgentRouter.Create(ReadModelAgentSettings(config.GetConfig("megaflow")));

    private static Func<string, Props> TaskProps(ActorSystem system, Config config, Func<TaskActorRefs> refs, IAgent agent, Uri? gateway)
    {
        // Node: where the task ran, for people.
        var taskSettings = ReadTaskSettings(config.GetConfig("megaflow.task"), NodeKey.Self(system)) with { Gateway = gateway };
        return id => TaskActor.Props(id, refs(), taskSettings, agent);
    }

    /// <summary>The node's task read model (every node: the management API and clients read tasks from it).</summary>
    public static AkkaConfigurationBuilder WithTaskReadModel(this AkkaConfigurationBuilder builder) =>
        builder.WithActors((system, _) => TaskReadModels.Start(system, NodeKey.Self(system)));

    /// <summary>The scheduler singleton's manager (scheduler role); every member reaches it through its proxy.</summary>
    public static AkkaConfigurationBuilder WithScheduler(this AkkaConfigurationBuilder builder, Config config) =>
        builder.WithSingleton<SchedulerActor>(MegaFlowProxies.SchedulerManagerName,
            (system, registry, _) => SchedulerProps(config, registry.Get<ActorKeys.Tasks>(), DistributedPubSub.Get(system).Mediator, singleNode: null),
            new ClusterSingletonOptions { Role = MegaFlowProxies.SchedulerRole(config), TerminationMessage = PoisonPill.Instance },
            createProxyToo: false);

    private static Props SchedulerProps(Config config, IActorRef tasks, IActorRef topics, string? singleNode)
    {
        var mf = config.GetConfig("megaflow");
        var scheduling = SchedulerActor.Props(ReadSchedulerSettings(mf.GetConfig("scheduler")), tasks, topics, MegaFlowProxies.WorkerRole(config),
            mf.GetInt("scheduler.snapshot-every", 1000), singleNode);
        // A persistent actor stops when the journal fails (a database outage), and a singleton
        // manager never restarts a singleton that stopped by itself: the backoff supervisor
        // restarts the scheduler (recovering from the journal) once the database answers again.
        return BackoffSupervisor.Props(Backoff.OnStop(scheduling, "scheduler",
            TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), 0.2, maxNrOfRetries: -1));
    }

    /// <summary>
    /// Single-node mode: every role in one ActorSystem with no cluster and no remoting. Tasks and
    /// environments live under plain parents, one child per entity, routed by the shard regions' own
    /// message extractors (<see cref="EntityParent"/>); the scheduler is a plain child with the same
    /// backoff supervision; topics are published within the system (<see cref="LocalTopics"/>). The
    /// actors are the cluster's, unchanged, and land in the ActorRegistry under the same keys. For
    /// testing actor behaviour without a cluster and for embedding in a host program; it does not
    /// remember entities across a restart (see <see cref="EntityParent"/>).
    /// </summary>
    public static AkkaConfigurationBuilder WithMegaFlowSingleNode(this AkkaConfigurationBuilder builder, NodeSettings settings, NodeComponents? components = null)
    {
        components ??= new NodeComponents();
        var config = MegaFlowConfig.Build(settings);
        builder.AddHocon(config, HoconAddMode.Prepend);
        builder.AddHocon("akka.actor.provider = local", HoconAddMode.Prepend);
        if (MegaFlowConfig.PersistenceSetup(settings) is { } persistence) builder.AddSetup(persistence);
        return builder.WithActors((system, registry) =>
        {
            var node = NodeKey.SelfIncarnation(system);
            var topics = system.ActorOf(Props.Create<LocalTopics>(), "topics");
            var parts = EnvironmentParts.Create(system, registry, config, components.Provider, components.Artifacts);
            // Entity props are made when an entity first gets a message, by which time the scheduler is registered.
            var environments = system.ActorOf(EntityParent.Props(
                id => EnvironmentActor.Props(id, parts.Provider, parts.Artifacts, registry.Get<ActorKeys.Scheduler>(), parts.Settings),
                new EnvironmentMessageExtractor()), "environments");
            registry.Register<ActorKeys.Environments>(environments);
            var tasks = system.ActorOf(EntityParent.Props(
                TaskProps(system, config, () => new TaskActorRefs(registry.Get<ActorKeys.Scheduler>(), environments, topics, ActorRefs.Nobody),
                    AgentOf(components, config), parts.Settings.Gateway),
                MegaFlowProxies.TaskExtractor(config)), "tasks");
            registry.Register<ActorKeys.Tasks>(tasks);
            var scheduler = system.ActorOf(SchedulerProps(config, tasks, topics, singleNode: node), "scheduler");
            registry.Register<ActorKeys.Scheduler>(scheduler);
            parts.StartJanitor(system, environments, scheduler);
            parts.StartTrajectoryProvider(system, registry);
        }).WithTaskReadModel();
    }

    /// <summary>
    /// <c>megaflow.scheduler</c> as settings. Bad values (a cap that is not a positive integer, a quota
    /// name that is not one) throw a <see cref="ConfigurationException"/> naming the key, so a node with
    /// the scheduler role fails at start instead of scheduling with a cap nobody meant.
    /// </summary>
    public static SchedulerSettings ReadSchedulerSettings(Config c)
    {
        var settings = new SchedulerSettings
        {
            MaxRunning = c.GetInt("max-running", 256),
            MaxStarting = c.GetInt("max-starting", 32),
            SlotsPerNode = c.GetInt("slots-per-node", 64),
            MaxPoolSize = c.GetInt("max-pool-size", 8),
            DefaultPoolCap = c.GetInt("default-pool-cap", 1_000_000),
            PoolCaps = ReadCaps(c, "pool-caps"),
            Quotas = ReadCaps(c, "quotas"),
        };
        if (settings.Problems() is { Count: > 0 } problems)
            throw new ConfigurationException("megaflow.scheduler: " + string.Join("; ", problems));
        return settings;
    }

    // A map of name = integer (pool-caps, quotas); a value that is not an integer names its key.
    private static Dictionary<string, int> ReadCaps(Config c, string section)
    {
        var caps = new Dictionary<string, int>();
        var config = c.GetConfig(section);
        if (config is null || config.IsEmpty) return caps;
        foreach (var kv in config.AsEnumerable())
        {
            var name = kv.Key.Trim('"');
            var text = kv.Value.IsString() ? kv.Value.GetString() : null;
            if (text is null || !int.TryParse(text.Trim(), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var cap))
                throw new ConfigurationException($"megaflow.scheduler: {section}.{name} must be a whole number (got {kv.Value})");
            caps[name] = cap;
        }
        return caps;
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

    /// <summary>The model agent's settings from <c>megaflow.agents</c>; an endpoint that is not an http(s) URL stops the node at start.</summary>
    public static ModelAgentSettings ReadModelAgentSettings(Config mf)
    {
        var c = mf.GetConfig("agents") ?? Config.Empty;
        var defaults = new ModelAgentSettings();
        var endpoint = c.GetString("model-endpoint", defaults.DefaultEndpoint.ToString());
        return new ModelAgentSettings
        {
            DefaultEndpoint = Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
                ? uri
                : throw new ArgumentException($"megaflow.agents.model-endpoint: '{endpoint}' is not an absolute http(s) URL"),
            DefaultModel = c.GetString("model", defaults.DefaultModel),
            DefaultApiKeyEnv = c.GetString("api-key-env", defaults.DefaultApiKeyEnv),
            Retries = c.GetInt("retries", defaults.Retries),
            RetryBackoff = c.GetTimeSpan("retry-backoff", defaults.RetryBackoff),
            RequestTimeout = c.GetTimeSpan("request-timeout", defaults.RequestTimeout),
            ObservationChars = c.GetInt("observation-chars", defaults.ObservationChars),
            FormatRetries = c.GetInt("format-retries", defaults.FormatRetries),
        };
    }

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
            GatewayNetwork = d.GetString("gateway-network", "megaflow-gateway"),
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

    /// <summary>The artifact store megaflow.artifacts names: a local folder (default) or an S3-compatible bucket.</summary>
    public static IArtifactStore CreateArtifactStore(Config mf, string dataDir)
    {
        var a = mf.GetConfig("artifacts") ?? Config.Empty;
        var store = a.GetString("store", "local");
        switch (store)
        {
            case "local":
                return new LocalFolderArtifactStore(Path.Combine(dataDir, "artifacts"));
            case "s3":
                var s3 = a.GetConfig("s3") ?? Config.Empty;
                var settings = new S3ArtifactSettings
                {
                    Endpoint = s3.GetString("endpoint", ""),
                    Bucket = s3.GetString("bucket", ""),
                    Prefix = s3.GetString("prefix", ""),
                    PathStyle = s3.GetBoolean("path-style", true),
                    Region = s3.GetString("region", "us-east-1"),
                    AccessKeyEnv = s3.GetString("access-key-env", "AWS_ACCESS_KEY_ID"),
                    SecretKeyEnv = s3.GetString("secret-key-env", "AWS_SECRET_ACCESS_KEY"),
                    MultipartThreshold = s3.GetByteSize("multipart-threshold") ?? 16 * 1024 * 1024,
                    PartSize = s3.GetByteSize("part-size") ?? 8 * 1024 * 1024,
                    MaxAttempts = s3.GetInt("max-attempts", 5),
                    RequestTimeout = s3.GetTimeSpan("request-timeout", TimeSpan.FromSeconds(60)),
                    OutageTolerance = s3.GetTimeSpan("outage-tolerance", TimeSpan.FromSeconds(60)),
                };
                if (settings.Problems() is { Count: > 0 } problems)
                    throw new ConfigurationException("megaflow.artifacts.s3: " + string.Join("; ", problems));
                return new S3ArtifactStore(settings);
            default:
                throw new ConfigurationException($"megaflow.artifacts.store: unknown store '{store}' (expected local or s3)");
        }
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
