using Akka.Actor;
using Akka.Cluster;
using MegaFlow.Contracts;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Contracts.Management;
using MegaFlow.Management.Scheduling;
using Prometheus;

namespace MegaFlow.Management.Metrics;

/// <summary>
/// The gauges /metrics reads at scrape time, registered in the node's own registry and refreshed by
/// its before-collect callback. Counters and histograms are this node's own (sum them across
/// nodes); tasks by state and members by status are this node's view of the whole cluster (the same
/// on every node, so do not sum them); scheduler gauges come from the singleton. Families that have
/// nothing to say right now (the node still starting, no scheduler answering) carry no sample.
/// </summary>
public sealed class MetricsReport
{
    /// <summary>The content type of <see cref="RenderAsync"/>'s text.</summary>
    public const string ContentType = PrometheusConstants.TextContentTypeWithVersionAndEncoding;

    private static readonly TimeSpan SchedulerTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Every real task status (not <see cref="TaskStatus.Unknown"/>), as labelled in metrics.</summary>
    internal static IReadOnlyList<TaskStatus> Statuses { get; } = Enum.GetValues<TaskStatus>().Skip(1).ToList();

    private readonly ManagementNode _node;
    // Concurrent scrapes would otherwise interleave removing and re-adding labelled samples.
    private readonly SemaphoreSlim _refreshing = new(1, 1);

    private readonly Gauge _nodeStarted, _tasks, _projectionComplete;
    private readonly Counter _persistedEvents;
    private readonly Gauge _schedulerUp, _queueDepth, _running, _starting, _semaphoreUsed, _semaphoreLimit, _poolQueued, _poolIdle, _quotaQueued;
    private readonly Gauge _members, _unreachable;
    private readonly Counter _cpu, _gcCollections;
    private readonly Gauge _residentMemory, _virtualMemory, _startTime, _threads, _heap;

    private MetricsReport(ManagementNode node)
    {
        _node = node;
        var f = node.Metrics.Factory;
        _nodeStarted = f.CreateGauge("megaflow_node_started", "1 once this node's actors have started");
        _tasks = f.CreateGauge("megaflow_tasks", "Tasks by current status, cluster-wide, as this node's task read model sees them", ["status"]);
        _projectionComplete = f.CreateGauge("megaflow_tasks_projection_complete", "1 once the task read model has read the journal");
        _persistedEvents = f.CreateCounter("megaflow_persisted_events_total", "Events this node wrote to the journal, by aggregate", ["kind"]);

        _schedulerUp = f.CreateGauge("megaflow_scheduler_up", "1 if the scheduler singleton answered this scrape");
        _queueDepth = f.CreateGauge("megaflow_scheduler_queue_depth", "Task attempts waiting in the scheduler's queue");
        _running = f.CreateGauge("megaflow_scheduler_running", "Task attempts holding a lease");
        _starting = f.CreateGauge("megaflow_scheduler_starting", "Environments being started");
        _semaphoreUsed = f.CreateGauge("megaflow_semaphore_used", "Permits held per admission semaphore (running, starting, pool:NAME, quota:NAME, node:HOST:PORT)", ["semaphore"]);
        _semaphoreLimit = f.CreateGauge("megaflow_semaphore_limit", "Permits per admission semaphore", ["semaphore"]);
        _poolQueued = f.CreateGauge("megaflow_pool_queued", "Queued task attempts per pool", ["pool"]);
        _poolIdle = f.CreateGauge("megaflow_pool_idle_environments", "Warm idle environments per pool", ["pool"]);
        _quotaQueued = f.CreateGauge("megaflow_quota_queued", "Queued task attempts per named quota", ["quota"]);

        _members = f.CreateGauge("megaflow_cluster_members", "Cluster members by status, as this node sees them", ["status"]);
        _unreachable = f.CreateGauge("megaflow_cluster_unreachable_members", "Members this node's cluster view marks unreachable");

        _cpu = f.CreateCounter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds");
        _residentMemory = f.CreateGauge("process_resident_memory_bytes", "Resident memory size in bytes");
        _virtualMemory = f.CreateGauge("process_virtual_memory_bytes", "Virtual memory size in bytes");
        _startTime = f.CreateGauge("process_start_time_seconds", "Start time of the process since the Unix epoch in seconds");
        _threads = f.CreateGauge("process_threads", "Threads of the process");
        _heap = f.CreateGauge("dotnet_gc_heap_bytes", "Bytes in the managed heap");
        _gcCollections = f.CreateCounter("dotnet_gc_collections_total", "Garbage collections per generation", ["generation"]);

        // Until a scrape says otherwise, the node is starting: no sample for what it cannot know yet.
        foreach (var g in new[] { _projectionComplete, _queueDepth, _running, _starting, _unreachable }) g.Unpublish();
    }

    /// <summary>Registers the scrape-time gauges in <paramref name="node"/>'s registry; call once per node.</summary>
    public static void Attach(ManagementNode node)
    {
        var report = new MetricsReport(node);
        node.Metrics.Registry.AddBeforeCollectCallback(report.RefreshAsync);
    }

    /// <summary>The node's /metrics page: its registry in the Prometheus text format.</summary>
    public static Task<string> RenderAsync(ManagementNode node, CancellationToken ct = default) => node.Metrics.SerializeAsync(ct);

    /// <summary>How a status appears as a label value: its name in lower case.</summary>
    internal static string Label(TaskStatus status) => StatusNames.Format(status);

    private async Task RefreshAsync(CancellationToken ct)
    {
        await _refreshing.WaitAsync(ct);
        try
        {
            var started = _node.ActorsStarted;
            _nodeStarted.Set(started ? 1 : 0);
            if (started)
            {
                try
                {
                    var listing = await _node.TaskReadModel.Ask<TaskListing>(new TaskProtocol.ListTasks(null, WaitForCatchUp: false, CountsOnly: true), SchedulerTimeout, ct);
                    foreach (var status in Statuses) _tasks.WithLabels(Label(status)).Set(listing.Counts.GetValueOrDefault(status));
                    _projectionComplete.Set(listing.Complete ? 1 : 0);
                }
                catch (AskTimeoutException)
                {
                    _projectionComplete.Set(0); // the read model is busy folding: the counts keep their last values
                }
            }
            foreach (var (kind, count) in PersistedEventCounter.Counts())
                _persistedEvents.WithLabels(kind).IncTo(count);

            if (started)
            {
                await SchedulerAsync();
                Members();
            }
            Process();
        }
        finally
        {
            _refreshing.Release();
        }
    }

    private async Task SchedulerAsync()
    {
        SchedulerView? view = null;
        try
        {
            view = await SchedulerRoutes.ViewAsync(_node).WaitAsync(SchedulerTimeout);
        }
        catch (Exception)
        {
            // No singleton right now (hand-over, no scheduler node): say so instead of failing the scrape.
        }
        _schedulerUp.Set(view is null ? 0 : 1);
        // Semaphores and pools come and go: only the ones the scheduler reports now keep a sample.
        foreach (var g in new[] { _semaphoreUsed, _semaphoreLimit, _poolQueued, _poolIdle, _quotaQueued }) RemoveAll(g);
        if (view is null)
        {
            foreach (var g in new[] { _queueDepth, _running, _starting }) g.Unpublish();
            return;
        }
        _queueDepth.Set(view.QueueDepth);
        _running.Set(view.Running);
        _starting.Set(view.Starting);
        foreach (var s in view.Semaphores)
        {
            _semaphoreUsed.WithLabels(s.Name).Set(s.Used);
            _semaphoreLimit.WithLabels(s.Name).Set(s.Limit);
        }
        foreach (var p in view.Pools)
        {
            _poolQueued.WithLabels(p.Pool).Set(p.Queued);
            _poolIdle.WithLabels(p.Pool).Set(p.Idle);
        }
        foreach (var q in view.Quotas ?? [])
            _quotaQueued.WithLabels(q.Quota).Set(q.Queued);
    }

    private void Members()
    {
        var state = Akka.Cluster.Cluster.Get(_node.System).State;
        var byStatus = state.Members.GroupBy(m => m.Status).ToDictionary(g => g.Key, g => g.Count());
        foreach (var status in Enum.GetValues<MemberStatus>())
            _members.WithLabels(status.ToString().ToLowerInvariant()).Set(byStatus.GetValueOrDefault(status));
        _unreachable.Set(state.Unreachable.Count);
    }

    private void Process()
    {
        using var p = System.Diagnostics.Process.GetCurrentProcess();
        _cpu.IncTo(p.TotalProcessorTime.TotalSeconds);
        _residentMemory.Set(p.WorkingSet64);
        _virtualMemory.Set(p.VirtualMemorySize64);
        _startTime.Set(new DateTimeOffset(p.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0);
        _threads.Set(p.Threads.Count);
        _heap.Set(GC.GetTotalMemory(false));
        for (var g = 0; g <= GC.MaxGeneration; g++) _gcCollections.WithLabels(g.ToString(System.Globalization.CultureInfo.InvariantCulture)).IncTo(GC.CollectionCount(g));
    }

    private static void RemoveAll(Gauge gauge)
    {
        foreach (var labels in gauge.GetAllLabelValues().ToList()) gauge.RemoveLabelled(labels);
    }
}
