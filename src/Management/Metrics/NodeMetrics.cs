using System.Collections.Concurrent;

namespace MegaFlow.Management.Metrics;

/// <summary>
/// What this node counts as it happens: status changes of the tasks whose actor runs here, and the
/// latencies measured from them. Gauges that describe the present (tasks by state, queue, members,
/// semaphores, process) are read at scrape time instead; see <see cref="MetricsReport"/>.
/// </summary>
/// <remarks>
/// Counting only the tasks hosted on this node makes the counters add up across nodes: a task's
/// status change is published once, by the node running its actor, so summing every node's
/// counters counts every task exactly once.
/// </remarks>
public sealed class NodeMetrics
{
    private readonly ConcurrentDictionary<TaskStatus, long> _transitions = new();

    /// <summary>Queued → Provisioning of one attempt: how long the scheduler kept it waiting.</summary>
    public Histogram AdmissionLatency { get; } = new();

    /// <summary>Provisioning → Running of one attempt: how long its environment took to be ready.</summary>
    public Histogram EnvironmentStartLatency { get; } = new();

    public void CountTransition(TaskStatus status) => _transitions.AddOrUpdate(status, 1, (_, n) => n + 1);

    public IReadOnlyDictionary<TaskStatus, long> Transitions => _transitions;
}
