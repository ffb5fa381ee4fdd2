using Akka.Actor;
using MegaFlow.Protocol;
using MegaFlow.Actors.Cluster;
using MegaFlow.Management.Metrics;
using MegaFlow.Storage;

namespace MegaFlow.Management;

/// <summary>
/// The running node as the management API sees it: its ActorSystem and actor entry points (set once
/// they have started), its task read model and the metrics. One per node process.
/// </summary>
public sealed class ManagementNode
{
    private readonly TaskCompletionSource<(ActorSystem System, MegaFlowRefs Refs)> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ManagementNode(ManagementSettings settings)
    {
        Settings = settings;
        Metrics = new NodeMetrics();
        MetricsReport.Attach(this);
    }

    public ManagementSettings Settings { get; }

    public NodeMetrics Metrics { get; }

    /// <summary>The node's task read model (listings, watches); requests before the actors started get 503 "starting".</summary>
    public ActorSelection TaskReadModel => System.ActorSelection(Topics.TaskReadModel);

    /// <summary>True once the node's actors (regions, proxies, singleton manager) have been created.</summary>
    public bool ActorsStarted => _started.Task.IsCompletedSuccessfully;

    public ActorSystem System => _started.Task.IsCompletedSuccessfully ? _started.Task.Result.System : throw new NodeNotStartedException();

    public MegaFlowRefs Refs => _started.Task.IsCompletedSuccessfully ? _started.Task.Result.Refs : throw new NodeNotStartedException();

    public string SelfNode => NodeKey.Self(System);

    /// <summary>The node's artifact store (steps' full outputs), when the host gave it one.</summary>
    public IArtifactStore? Artifacts { get; private set; }

    /// <summary>Called by the node host once Akka.Hosting has started the node's actors.</summary>
    public void OnActorsStarted(ActorSystem system, MegaFlowRefs refs, IArtifactStore? artifacts = null)
    {
        Artifacts = artifacts;
        system.ActorOf(TaskTransitionMetrics.Props(Metrics, NodeKey.Self(system)), "management-task-metrics");
        _started.TrySetResult((system, refs));
    }
}

/// <summary>A request arrived before the node's actors exist; answered 503.</summary>
public sealed class NodeNotStartedException() : Exception("the node is still starting: its actors are not up yet");
