using System.Collections.Concurrent;
using MegaFlow.Protocol;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using MegaFlow.Actors.Tasks;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using MegaFlow.Contracts.Management;
using MegaFlow.Management.Metrics;
using static MegaFlow.Contracts.Tasks.TaskProtocol;

namespace MegaFlow.Management.Tasks;

/// <summary>
/// Every task's latest status, kept in memory on each node: read once from the journal at start,
/// then kept current by the task-events topic (every node hears every task). Listing 20,000 tasks
/// becomes a dictionary scan instead of a replay of the whole journal per request.
/// </summary>
/// <remarks>
/// The journal read and the live topic overlap (the subscription comes first, so nothing falls in
/// between); a row is only replaced by a later one: a higher attempt, or a later status within the
/// attempt, and a terminal status is final. Pub-sub is at-most-once, so a row can lag if a message
/// is lost; `tasks show` asks the task itself and is always exact.
/// </remarks>
public sealed class TaskProjection
{
    private readonly ConcurrentDictionary<string, Entry> _rows = new();
    private readonly NodeMetrics _metrics;
    private readonly string _selfNode;
    private readonly TaskCompletionSource _seeded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Action<TaskChange>> _listeners = [];

    private TaskProjection(NodeMetrics metrics, string selfNode)
    {
        _metrics = metrics;
        _selfNode = selfNode;
    }

    /// <summary>Completes when the journal has been read; until then the rows may be incomplete.</summary>
    public Task Seeded => _seeded.Task;

    public static TaskProjection Start(ActorSystem system, NodeMetrics metrics, string selfNode)
    {
        var projection = new TaskProjection(metrics, selfNode);
        system.ActorOf(Props.Create(() => new Subscriber(projection)), "management-task-projection");
        return projection;
    }

    public IEnumerable<TaskRow> Rows => _rows.Values.Select(e => e.Row);

    public TaskRow? Find(string taskId) => _rows.TryGetValue(taskId, out var e) ? e.Row : null;

    public IReadOnlyDictionary<TaskStatus, int> CountByStatus() =>
        _rows.Values.GroupBy(e => e.Status).ToDictionary(g => g.Key, g => g.Count());

    /// <summary>Registers a callback for every change (called on the subscriber's thread; keep it short).</summary>
    public IDisposable Listen(Action<TaskChange> listener)
    {
        lock (_listeners) _listeners.Add(listener);
        return new Unlisten(() => { lock (_listeners) _listeners.Remove(listener); });
    }

    /// <summary>Records a submission made through this node, so its pool and mode show in listings at once.</summary>
    public void Submitted(TaskSpec spec, TaskStatus status)
    {
        var id = spec.TaskId!;
        var entry = _rows.GetOrAdd(id, _ => new Entry(id));
        lock (entry)
        {
            entry.Pool ??= spec.PoolKey;
            entry.Mode ??= spec.Mode?.ToLowerInvariant();
            if (entry.Status == TaskStatus.Unknown) entry.Status = status;
        }
    }

    internal void Apply(TaskStatusChanged m)
    {
        var entry = _rows.GetOrAdd(m.TaskId, _ => new Entry(m.TaskId));
        bool changed;
        lock (entry)
        {
            changed = entry.Advance(m.Status, m.Attempt, m.Node, m.At);
            if (changed && m.Node == _selfNode) CountForMetrics(entry, m);
        }
        if (!changed) return;
        var change = new TaskChange(m.TaskId, Lower(m.Status), m.Attempt, m.Node, m.At, m.Status.IsTerminal());
        Action<TaskChange>[] listeners;
        lock (_listeners) listeners = _listeners.ToArray();
        foreach (var l in listeners) l(change);
    }

    internal void Seed(IEnumerable<TaskState> states)
    {
        foreach (var s in states)
        {
            var entry = _rows.GetOrAdd(s.TaskId, _ => new Entry(s.TaskId));
            lock (entry)
            {
                entry.Advance(s.Status, s.Attempt, null, s.FinishedAt ?? s.RunStartedAt ?? s.AdmittedAt ?? s.QueuedAt ?? s.SubmittedAt);
                entry.Pool ??= s.Spec?.PoolKey;
                entry.Mode ??= s.Spec?.Mode?.ToLowerInvariant();
            }
        }
    }

    private void CountForMetrics(Entry entry, TaskStatusChanged m)
    {
        _metrics.CountTransition(m.Status);
        switch (m.Status)
        {
            case TaskStatus.Queued:
                entry.QueuedAt = m.At;
                break;
            case TaskStatus.Provisioning:
                if (entry.QueuedAt is { } queued) _metrics.AdmissionLatency.Observe(Math.Max(0, (m.At - queued).TotalSeconds));
                entry.ProvisioningAt = m.At;
                break;
            case TaskStatus.Running:
                if (entry.ProvisioningAt is { } provisioning) _metrics.EnvironmentStartLatency.Observe(Math.Max(0, (m.At - provisioning).TotalSeconds));
                entry.ProvisioningAt = null;
                break;
        }
        if (m.Status.IsTerminal()) entry.QueuedAt = entry.ProvisioningAt = null;
    }

    internal static string Lower(TaskStatus s) => s.ToString().ToLowerInvariant();

    private void SeedingFinished(Exception? error)
    {
        if (error is null) _seeded.TrySetResult();
        else _seeded.TrySetException(error);
    }

    private sealed class Entry(string taskId)
    {
        public TaskStatus Status = TaskStatus.Unknown;
        public int Attempt;
        public string? Node;
        public DateTimeOffset? At;
        public string? Pool;
        public string? Mode;
        public DateTimeOffset? QueuedAt;
        public DateTimeOffset? ProvisioningAt;

        public TaskRow Row
        {
            get { lock (this) return new TaskRow(taskId, Lower(Status), Attempt, Node, At, Pool, Mode); }
        }

        /// <summary>Moves forward only: a terminal status is final; otherwise a higher attempt or a later status wins.</summary>
        public bool Advance(TaskStatus status, int attempt, string? node, DateTimeOffset? at)
        {
            if (Status.IsTerminal() || status == TaskStatus.Unknown) return false;
            if (!status.IsTerminal() && (attempt, (int)status).CompareTo((Attempt, (int)Status)) <= 0) return false;
            Status = status;
            Attempt = attempt;
            Node = node ?? Node;
            At = at ?? At;
            return true;
        }
    }

    private sealed class Unlisten(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }

    /// <summary>Subscribes to the task-events topic, then reads the journal once.</summary>
    private sealed class Subscriber : ReceiveActor
    {
        public Subscriber(TaskProjection projection)
        {
            var log = Context.GetLogger();
            Receive<SubscribeAck>(ack =>
            {
                var system = Context.System;
                _ = Task.Run(async () =>
                {
                    try
                    {
                        var started = DateTime.UtcNow;
                        var states = await TaskQueries.ReplayAllAsync(system, withoutOutputs: true);
                        projection.Seed(states);
                        log.Info("task projection read {0} tasks from the journal in {1:0.0} s", states.Count, (DateTime.UtcNow - started).TotalSeconds);
                        projection.SeedingFinished(null);
                    }
                    catch (Exception e)
                    {
                        log.Warning("task projection could not read the journal ({0}); listing shows only tasks seen since start", e.Message);
                        projection.SeedingFinished(e);
                    }
                });
            });
            Receive<TaskStatusChanged>(projection.Apply);
            DistributedPubSub.Get(Context.System).Mediator.Tell(new Subscribe(Topics.TaskEvents, Self));
        }
    }
}
