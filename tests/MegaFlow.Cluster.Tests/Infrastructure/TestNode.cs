using Akka.Actor;
using MegaFlow.Protocol;
using Akka.Cluster;
using MegaFlow.Hosting;
using MegaFlow.Environments;
using MegaFlow.Domain.Agents;

namespace MegaFlow.Cluster.Tests.Infrastructure;

/// <summary>
/// One MegaFlow node as a real ActorSystem on loopback (port 0), started exactly as the host starts
/// one (MegaFlowConfig + MegaFlowNode). <see cref="Crash"/> kills it abruptly: no coordinated
/// shutdown, no leaving — the survivors must notice and down it, as after a machine failure.
/// </summary>
public sealed class TestNode : IAsyncDisposable
{
    private readonly RunningNode _node;

    private TestNode(RunningNode node, NodeSettings settings)
    {
        _node = node;
        Settings = settings;
    }

    public ActorSystem System => _node.System;
    public MegaFlowRefs Refs => _node.Refs;
    public NodeSettings Settings { get; }
    public Address Address => Akka.Cluster.Cluster.Get(System).SelfAddress;
    public string Key => $"{Address.Host}:{Address.Port}";

    /// <summary>This run of the node ("host:port~uid"): what leases, slots and environment ids name.</summary>
    public string Incarnation => MegaFlow.Actors.Cluster.NodeKey.SelfIncarnation(System);
    public bool Crashed { get; private set; }

    /// <summary>Test-friendly timing: quick retries and failure detection; downing is left to the test.</summary>
    public const string FastHocon = """
        akka.loglevel = WARNING
        akka.coordinated-shutdown.run-by-actor-system-terminate = off
        akka.coordinated-shutdown.terminate-actor-system = on
        akka.cluster.split-brain-resolver.stable-after = 120s
        # The SBR provider uses stable-after as the removal margin singletons wait before moving;
        # tests down crashed nodes themselves, so the hand-over need not wait that long.
        akka.cluster.down-removal-margin = 1s
        akka.cluster.failure-detector.acceptable-heartbeat-pause = 3s
        akka.cluster.failure-detector.heartbeat-interval = 500ms
        akka.cluster.singleton.hand-over-retry-interval = 200ms
        akka.cluster.sharding.retry-interval = 200ms
        akka.cluster.sharding.coordinator-failure-backoff = 1s
        akka.cluster.sharding.shard-failure-backoff = 1s
        akka.cluster.sharding.entity-restart-backoff = 1s
        akka.cluster.singleton-proxy.singleton-identification-interval = 200ms
        megaflow.task.retry-interval = 500ms
        megaflow.task.exec-grace = 3s
        megaflow.task.linger-after-finish = 200ms
        """;

    /// <summary>Starts the node without joining: the test joins its nodes to each other.</summary>
    /// <param name="agent">The agent the node's tasks run (the scripted one when null).</param>
    public static async Task<TestNode> StartAsync(NodeSettings settings, IEnvironmentProvider? provider = null, IAgent? agent = null) =>
        new(await RunningNode.StartAsync(settings, new NodeComponents(provider, Agent: agent), join: false), settings);

    /// <summary>Starts the node in single-node mode: no cluster to join.</summary>
    public static async Task<TestNode> StartSingleNodeAsync(NodeSettings settings, IEnvironmentProvider? provider = null, IAgent? agent = null) =>
        new(await RunningNode.StartSingleNodeAsync(settings, new NodeComponents(provider, Agent: agent)), settings);

    public static TestNode Start(NodeSettings settings, IEnvironmentProvider? provider = null, IAgent? agent = null) =>
        Task.Run(() => StartAsync(settings, provider, agent)).GetAwaiter().GetResult();

    /// <summary>Abrupt death: the ActorSystem stops without leaving the cluster.</summary>
    public async Task Crash()
    {
        Crashed = true;
        await System.Terminate();
    }

    public async ValueTask DisposeAsync()
    {
        if (!System.WhenTerminated.IsCompleted)
            await System.Terminate().WaitAsync(TimeSpan.FromSeconds(30));
        await _node.DisposeAsync();
    }
}
