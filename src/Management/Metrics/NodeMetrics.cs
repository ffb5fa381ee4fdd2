using Prometheus;

namespace MegaFlow.Management.Metrics;

/// <summary>
/// This node's metrics, in a registry of its own: status changes of the tasks whose actor runs here,
/// the latencies measured from them, and (registered by <see cref="MetricsReport"/>) the gauges read
/// at scrape time. /metrics serializes <see cref="Registry"/>.
/// </summary>
/// <remarks>
/// Counting only the tasks hosted on this node makes the counters add up across nodes: a task's
/// status change is published once, by the node running its actor, so summing every node's
/// counters counts every task exactly once. The registry is not prometheus-net's static default one
/// because several nodes may share a process (the tests run three), and each must show only its own.
/// </remarks>
public sealed class NodeMetrics
{
    /// <summary>From 10 ms (a warm environment) to 10 min (an image pull plus a long queue), in seconds.</summary>
    public static readonly IReadOnlyList<double> LatencyBounds = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

    private readonly Counter _transitions;

    public NodeMetrics()
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        Factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        _transitions = Factory.CreateCounter("megaflow_task_transitions_total", "Status changes of the tasks whose actor runs on this node", ["status"]);
        // Every status has a sample from the start, so a scrape before the first task shows zeros, not gaps.
        foreach (var status in MetricsReport.Statuses)
            _transitions.WithLabels(MetricsReport.Label(status));
        var latency = new HistogramConfiguration { Buckets = LatencyBounds.ToArray() };
        AdmissionLatency = Factory.CreateHistogram("megaflow_task_admission_latency_seconds", "Queued to admitted (provisioning) per attempt, tasks on this node", latency);
        EnvironmentStartLatency = Factory.CreateHistogram("megaflow_environment_start_latency_seconds", "Admitted (provisioning) to running per attempt: environment start, tasks on this node", latency);
    }

    /// <summary>This node's registry; never the process-wide default.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Creates metrics in <see cref="Registry"/>.</summary>
    public IMetricFactory Factory { get; }

    /// <summary>Queued → Provisioning of one attempt: how long the scheduler kept it waiting.</summary>
    public Histogram AdmissionLatency { get; }

    /// <summary>Provisioning → Running of one attempt: how long its environment took to be ready.</summary>
    public Histogram EnvironmentStartLatency { get; }

    /// <summary>Counts one status change of a task whose actor runs on this node.</summary>
    public void CountTransition(TaskStatus status) => _transitions.WithLabels(MetricsReport.Label(status)).Inc();

    /// <summary>The text exposition (0.0.4) of <see cref="Registry"/>, gauges refreshed first.</summary>
    public async Task<string> SerializeAsync(CancellationToken ct = default)
    {
        using var stream = new MemoryStream();
        await Registry.CollectAndExportAsTextAsync(stream, ct);
        return System.Text.Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length);
    }
}
