using System.Diagnostics;
using Akka.Cluster;
using MegaFlow.Contracts.Management;
using MegaFlow.Management.Scheduling;

namespace MegaFlow.Management.Metrics;

/// <summary>
/// Everything /metrics shows, gathered at scrape time. Counters and histograms are this node's own
/// (sum them across nodes); tasks by state and members by status are this node's view of the whole
/// cluster (the same on every node, so do not sum them); scheduler gauges come from the singleton.
/// </summary>
public static class MetricsReport
{
    private static readonly TimeSpan SchedulerTimeout = TimeSpan.FromSeconds(2);

    public static async Task<string> RenderAsync(ManagementNode node)
    {
        var w = new PrometheusWriter();
        var started = node.ActorsStarted;
        w.Single("megaflow_node_started", "gauge", "1 once this node's actors have started", started ? 1 : 0);

        if (started)
        {
            var counts = node.Tasks.CountByStatus();
            w.Family("megaflow_tasks", "gauge", "Tasks by current status, cluster-wide, as this node's projection sees them");
            foreach (var status in Enum.GetValues<TaskStatus>().Skip(1))
                w.Sample("megaflow_tasks", counts.GetValueOrDefault(status), ("status", status.ToString().ToLowerInvariant()));
            w.Single("megaflow_tasks_projection_complete", "gauge", "1 once the projection has read the journal", node.Tasks.Seeded.IsCompletedSuccessfully ? 1 : 0);
        }

        w.Family("megaflow_task_transitions_total", "counter", "Status changes of the tasks whose actor runs on this node");
        foreach (var status in Enum.GetValues<TaskStatus>().Skip(1))
            w.Sample("megaflow_task_transitions_total", node.Metrics.Transitions.GetValueOrDefault(status), ("status", status.ToString().ToLowerInvariant()));
        w.Histogram("megaflow_task_admission_latency_seconds", "Queued to admitted (provisioning) per attempt, tasks on this node", node.Metrics.AdmissionLatency.Snapshot());
        w.Histogram("megaflow_environment_start_latency_seconds", "Admitted (provisioning) to running per attempt: environment start, tasks on this node", node.Metrics.EnvironmentStartLatency.Snapshot());

        w.Family("megaflow_persisted_events_total", "counter", "Events this node wrote to the journal, by aggregate");
        foreach (var (kind, count) in PersistedEventCounter.Counts())
            w.Sample("megaflow_persisted_events_total", count, ("kind", kind));

        if (started)
        {
            await SchedulerAsync(node, w);
            Members(node, w);
        }
        Process(w);
        return w.ToString();
    }

    private static async Task SchedulerAsync(ManagementNode node, PrometheusWriter w)
    {
        SchedulerView? view = null;
        try
        {
            view = await SchedulerRoutes.ViewAsync(node).WaitAsync(SchedulerTimeout);
        }
        catch (Exception)
        {
            // No singleton right now (hand-over, no scheduler node): say so instead of failing the scrape.
        }
        w.Single("megaflow_scheduler_up", "gauge", "1 if the scheduler singleton answered this scrape", view is null ? 0 : 1);
        if (view is null) return;
        w.Single("megaflow_scheduler_queue_depth", "gauge", "Task attempts waiting in the scheduler's queue", view.QueueDepth);
        w.Single("megaflow_scheduler_running", "gauge", "Task attempts holding a lease", view.Running);
        w.Single("megaflow_scheduler_starting", "gauge", "Environments being started", view.Starting);
        w.Family("megaflow_semaphore_used", "gauge", "Permits held per admission semaphore (running, starting, pool:NAME, node:HOST:PORT)");
        foreach (var s in view.Semaphores) w.Sample("megaflow_semaphore_used", s.Used, ("semaphore", s.Name));
        w.Family("megaflow_semaphore_limit", "gauge", "Permits per admission semaphore");
        foreach (var s in view.Semaphores) w.Sample("megaflow_semaphore_limit", s.Limit, ("semaphore", s.Name));
        w.Family("megaflow_pool_queued", "gauge", "Queued task attempts per pool");
        foreach (var p in view.Pools) w.Sample("megaflow_pool_queued", p.Queued, ("pool", p.Pool));
        w.Family("megaflow_pool_idle_environments", "gauge", "Warm idle environments per pool");
        foreach (var p in view.Pools) w.Sample("megaflow_pool_idle_environments", p.Idle, ("pool", p.Pool));
    }

    private static void Members(ManagementNode node, PrometheusWriter w)
    {
        var state = Akka.Cluster.Cluster.Get(node.System).State;
        var byStatus = state.Members.GroupBy(m => m.Status).ToDictionary(g => g.Key, g => g.Count());
        w.Family("megaflow_cluster_members", "gauge", "Cluster members by status, as this node sees them");
        foreach (var status in Enum.GetValues<MemberStatus>())
            w.Sample("megaflow_cluster_members", byStatus.GetValueOrDefault(status), ("status", status.ToString().ToLowerInvariant()));
        w.Single("megaflow_cluster_unreachable_members", "gauge", "Members this node's cluster view marks unreachable", state.Unreachable.Count);
    }

    private static void Process(PrometheusWriter w)
    {
        using var p = System.Diagnostics.Process.GetCurrentProcess();
        w.Single("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds", p.TotalProcessorTime.TotalSeconds);
        w.Single("process_resident_memory_bytes", "gauge", "Resident memory size in bytes", p.WorkingSet64);
        w.Single("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes", p.VirtualMemorySize64);
        w.Single("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch in seconds", new DateTimeOffset(p.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0);
        w.Single("process_threads", "gauge", "Threads of the process", p.Threads.Count);
        w.Single("dotnet_gc_heap_bytes", "gauge", "Bytes in the managed heap", GC.GetTotalMemory(false));
        w.Family("dotnet_gc_collections_total", "counter", "Garbage collections per generation");
        for (var g = 0; g <= GC.MaxGeneration; g++) w.Sample("dotnet_gc_collections_total", GC.CollectionCount(g), ("generation", g.ToString()));
    }
}
