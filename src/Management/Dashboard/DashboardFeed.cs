using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using MegaFlow.Contracts;
using MegaFlow.Contracts.Management;
using MegaFlow.Management.Cluster;
using MegaFlow.Management.Http;
using MegaFlow.Management.Scheduling;
using static MegaFlow.Contracts.Tasks.TaskProtocol;

namespace MegaFlow.Management.Dashboard;

/// <summary>
/// The dashboard's live summary: one sampler per node reads the cluster, the scheduler and the task
/// counts every <see cref="Every"/> and pushes the same sample to every open page (server-sent
/// events), so ten open dashboards cost the cluster one set of asks, not ten. It keeps the queue
/// depth of the last hour for the scheduler's chart.
/// </summary>
/// <remarks>
/// The sampler starts with the first page that subscribes and then runs for the node's life: the
/// history is there for the next page opened. Each sample is one JSON text, serialized once.
/// </remarks>
public sealed class DashboardFeed(ManagementNode node)
{
    public static readonly TimeSpan Every = TimeSpan.FromSeconds(2);

    private const int HistoryLength = 1800; // an hour at one sample per 2 s

    private readonly object _gate = new();
    private readonly Queue<QueuePoint> _history = new();
    private readonly HashSet<Channel<string>> _subscribers = [];
    private Task? _sampler;
    private string? _latest;

    /// <summary>One point of the queue-depth chart.</summary>
    public sealed record QueuePoint(DateTimeOffset At, int Queued, int Running, int Starting);

    /// <summary>
    /// Subscribes a page: it gets the history at once ("history"), the latest sample if there is one,
    /// then every new sample ("sample"). A page too slow to read loses old samples, never stalls the sampler.
    /// </summary>
    public (ChannelReader<string> Reader, Action Unsubscribe) Subscribe(CancellationToken stopping)
    {
        var channel = Channel.CreateBounded<string>(new BoundedChannelOptions(16) { FullMode = BoundedChannelFullMode.DropOldest });
        lock (_gate)
        {
            channel.Writer.TryWrite(Event("history", JsonSerializer.Serialize(_history.ToList(), ManagementJson.Options)));
            if (_latest is not null) channel.Writer.TryWrite(_latest);
            _subscribers.Add(channel);
            _sampler ??= Task.Run(() => SampleAsync(stopping), CancellationToken.None);
        }
        return (channel.Reader, () => { lock (_gate) _subscribers.Remove(channel); });
    }

    private async Task SampleAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(Every);
        do
        {
            var text = Event("sample", (await SampleOnceAsync(stopping)).ToJsonString(ManagementJson.Options));
            lock (_gate)
            {
                _latest = text;
                foreach (var s in _subscribers) s.Writer.TryWrite(text);
            }
        } while (await Wait(timer, stopping));
    }

    private static async Task<bool> Wait(PeriodicTimer timer, CancellationToken stopping)
    {
        try { return await timer.WaitForNextTickAsync(stopping); }
        catch (OperationCanceledException) { return false; }
    }

    /// <summary>One sample; a part that cannot be read now (node starting, scheduler moving) carries its error instead.</summary>
    internal async Task<JsonObject> SampleOnceAsync(CancellationToken ct)
    {
        var at = DateTimeOffset.UtcNow;
        var sample = new JsonObject { ["at"] = at };
        if (!node.ActorsStarted)
        {
            sample["error"] = new NodeNotStartedException().Message;
            return sample;
        }
        sample["cluster"] = JsonSerializer.SerializeToNode(ClusterRoutes.View(node.System), ManagementJson.Options);
        try
        {
            var view = await SchedulerRoutes.ViewAsync(node);
            sample["scheduler"] = Compact(view);
            var point = new QueuePoint(at, view.QueueDepth, view.Running, view.Starting);
            sample["point"] = JsonSerializer.SerializeToNode(point, ManagementJson.Options);
            lock (_gate)
            {
                _history.Enqueue(point);
                while (_history.Count > HistoryLength) _history.Dequeue();
            }
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            sample["schedulerError"] = RouteFailures.Classify(e).Message;
        }
        try
        {
            var counts = await node.TaskReadModel.AskAsync<Contracts.Tasks.TaskListing>(
                new ListTasks(null, WaitForCatchUp: false, CountsOnly: true), SchedulerRoutes.AskTimeout, "the task read model", ct);
            sample["tasks"] = new JsonObject
            {
                ["total"] = counts.Total,
                ["complete"] = counts.Complete,
                ["sequence"] = counts.Sequence,
                ["counts"] = JsonSerializer.SerializeToNode(
                    counts.Counts.OrderBy(kv => kv.Key).ToDictionary(kv => StatusNames.Format(kv.Key), kv => kv.Value), ManagementJson.Options),
            };
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            sample["tasksError"] = RouteFailures.Classify(e).Message;
        }
        return sample;
    }

    /// <summary>
    /// The scheduler's JSON without what grows with the number of running tasks (leases, each
    /// semaphore's holders): a sample stays small at 10,000 tasks. Any other member (quotas) passes through.
    /// </summary>
    internal static JsonObject Compact(SchedulerView view)
    {
        var json = JsonSerializer.SerializeToNode(view, ManagementJson.Options)!.AsObject();
        json.Remove("leases");
        if (json["semaphores"] is JsonArray semaphores)
            foreach (var s in semaphores.OfType<JsonObject>())
                s.Remove("holders");
        return json;
    }

    private static string Event(string name, string json) => $"event: {name}\ndata: {json}\n\n";
}
