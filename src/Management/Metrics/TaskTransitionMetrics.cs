using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Protocol;
using static MegaFlow.Contracts.Tasks.TaskProtocol;

namespace MegaFlow.Management.Metrics;

/// <summary>
/// Counts this node's task transitions and observes its admission and environment-start latencies,
/// from the task-events topic (each task actor publishes its status changes with its node's name).
/// </summary>
/// <remarks>
/// These are per-node counters of what happened, so the at-most-once topic is the right source: the
/// task list and its counts come from the read model, which reads the journal. A status is counted
/// once per attempt: a repeated or older notification is ignored, and a final status is final.
/// </remarks>
public sealed class TaskTransitionMetrics : ReceiveActor
{
    private sealed class Entry
    {
        public TaskStatus Status = TaskStatus.Unknown;
        public int Attempt;
        public DateTimeOffset? QueuedAt;
        public DateTimeOffset? ProvisioningAt;
    }

    private readonly Dictionary<string, Entry> _tasks = new(StringComparer.Ordinal);

    public TaskTransitionMetrics(NodeMetrics metrics, string selfNode)
    {
        Receive<SubscribeAck>(_ => { });
        Receive<TaskStatusChanged>(m =>
        {
            if (m.Node != selfNode) return;
            if (!_tasks.TryGetValue(m.TaskId, out var entry)) _tasks[m.TaskId] = entry = new Entry();
            if (entry.Status.IsTerminal() || m.Status == TaskStatus.Unknown) return;
            if (!m.Status.IsTerminal() && (m.Attempt, (int)m.Status).CompareTo((entry.Attempt, (int)entry.Status)) <= 0) return;
            entry.Status = m.Status;
            entry.Attempt = m.Attempt;
            metrics.CountTransition(m.Status);
            switch (m.Status)
            {
                case TaskStatus.Queued:
                    entry.QueuedAt = m.At;
                    break;
                case TaskStatus.Provisioning:
                    if (entry.QueuedAt is { } queued) metrics.AdmissionLatency.Observe(Math.Max(0, (m.At - queued).TotalSeconds));
                    entry.ProvisioningAt = m.At;
                    break;
                case TaskStatus.Running:
                    if (entry.ProvisioningAt is { } provisioning) metrics.EnvironmentStartLatency.Observe(Math.Max(0, (m.At - provisioning).TotalSeconds));
                    entry.ProvisioningAt = null;
                    break;
            }
            if (m.Status.IsTerminal()) entry.QueuedAt = entry.ProvisioningAt = null;
        });
        DistributedPubSub.Get(Context.System).Mediator.Tell(new Subscribe(Topics.TaskEvents, Self));
    }

    public static Props Props(NodeMetrics metrics, string selfNode) =>
        Akka.Actor.Props.Create(() => new TaskTransitionMetrics(metrics, selfNode));
}
