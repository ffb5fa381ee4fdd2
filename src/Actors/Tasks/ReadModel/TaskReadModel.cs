using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using static MegaFlow.Contracts.Tasks.TaskProtocol;

namespace MegaFlow.Actors.Tasks.ReadModel;

/// <summary>Starts a node's task read model.</summary>
public static class TaskReadModels
{
    /// <summary>Starts the node's read model under <see cref="Protocol.Topics.TaskReadModelName"/>; it registers with the mediator.</summary>
    /// <param name="node">The node's address ("host:port"): its persistence id, kept across restarts of the node.</param>
    public static IActorRef Start(ActorSystem system, string node, TaskReadModelSettings? settings = null) =>
        system.ActorOf(TaskReadModel.Props("task-read-model-" + node, settings), Protocol.Topics.TaskReadModelName);

    /// <summary>Tasks by status from this node's read model, including every write made before the call.</summary>
    public static Task<TaskListing> ListAsync(ActorSystem system, TaskStatus? status = null, CancellationToken ct = default) =>
        system.ActorSelection(Protocol.Topics.TaskReadModel).Ask<TaskListing>(new ListTasks(status), TimeSpan.FromSeconds(60), ct);
}

/// <summary>How often the read model saves itself, and how it reads.</summary>
/// <param name="SnapshotEvery">Save at most this often, and only when something was folded since the last save.</param>
/// <param name="Batch">Journal events handed to the actor at once (fewer, larger pushes to subscribers).</param>
public sealed record TaskReadModelSettings(TimeSpan SnapshotEvery, int Batch = 500)
{
    public static readonly TaskReadModelSettings Default = new(TimeSpan.FromSeconds(10));
}

/// <summary>
/// The node's task read model: every task's row and the counts by status, folded (<see cref="TaskFold"/>)
/// from the journal's row events (<see cref="TaskJournal.RowEvents"/>), first to their current end, then live. Answers listings
/// (<see cref="ListTasks"/>) and watches (<see cref="ReadTaskChanges"/>): a subscriber gets the rows
/// changed since the sequence it names, then every later change of its tasks, numbered so a gap shows.
/// </summary>
/// <remarks>
/// It persists no events, only snapshots (rows, change sequence, journal offset) at most every
/// <see cref="TaskReadModelSettings.SnapshotEvery"/>: a restarted node reads the journal from the saved
/// offset, not from the start, and the rows lost since the last snapshot are folded again with the same
/// sequence numbers (the fold is deterministic). A snapshot store row per node replaces a table of its
/// own. The persistence id names the node's address, which a restarted node keeps.
/// </remarks>
public sealed class TaskReadModel : ReceivePersistentActor, IWithTimers
{
    private sealed record Batch(IReadOnlyList<EventEnvelope> Envelopes);
    private sealed class StreamInit { public static readonly StreamInit Instance = new(); }
    private sealed class Ack { public static readonly Ack Instance = new(); }
    private sealed class StreamDone { public static readonly StreamDone Instance = new(); }
    private sealed record StreamFailed(Exception Error);
    private sealed record JournalEnd(long Offset);
    private sealed record JournalEndFailed(Exception Error);
    private sealed class SaveTick { public static readonly SaveTick Instance = new(); }
    private sealed class Restart { public static readonly Restart Instance = new(); }

    private sealed class Subscriber(HashSet<string> ids, long lastSent)
    {
        public HashSet<string> Ids = ids;
        public long LastSent = lastSent;
    }

    private readonly TaskReadModelSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IMaterializer _materializer = Context.Materializer();
    private TaskFold _fold = new();
    private long _offset;
    private long _savedOffset = -1;
    private bool _caughtUp;
    // Listings wait until the live query has read up to the journal's end as it was when they were
    // asked (read your writes): the end is probed, the events themselves come only through the live
    // query, whose gap handling keeps rows committed out of order from being skipped.
    // Askers waiting for the next probe of the journal's end, and those the running probe answers: a
    // probe only counts for askers that arrived before it started (a later one may miss their writes).
    // Askers waiting for the next probe of the journal's end, and those the running probe answers: a
    // probe only counts for askers that arrived before it started (one started earlier may have
    // looked before their writes).
    private List<Action> _probing = [];
    private List<Action> _inProbe = [];
    private readonly List<(long End, Action Answer)> _waiting = [];
    private bool _probeRunning;
    private long? _catchUpEnd;
    private readonly Dictionary<IActorRef, Subscriber> _subscribers = [];
    private readonly Dictionary<string, HashSet<IActorRef>> _watchers = new(StringComparer.Ordinal);

    public TaskReadModel(string persistenceId, TaskReadModelSettings settings)
    {
        PersistenceId = persistenceId;
        _settings = settings;

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is not TaskReadModelSnapshot s) return;
            _fold = new TaskFold();
            _fold.Restore(s.Rows, s.Sequence);
            _offset = _savedOffset = s.Offset;
            RecoveredOffset = s.Offset;
        });

        Command<StreamInit>(_ => Sender.Tell(Ack.Instance));
        Command<Batch>(b =>
        {
            Fold(b.Envelopes);
            Sender.Tell(Ack.Instance);
            Progressed();
        });
        Command<StreamDone>(_ =>
        {
            // The live query never ends by itself; it did because the journal failed: start again.
            Timers.StartSingleTimer("restart", Restart.Instance, TimeSpan.FromSeconds(2));
        });
        Command<StreamFailed>(f =>
        {
            _log.Warning("task read model: reading the journal failed ({0}); trying again from offset {1}", f.Error.Message, _offset);
            Timers.StartSingleTimer("restart", Restart.Instance, TimeSpan.FromSeconds(2));
        });
        Command<Restart>(_ => ReadLive());
        Command<JournalEnd>(end =>
        {
            _probeRunning = false;
            _catchUpEnd ??= end.Offset;
            foreach (var answer in _inProbe) _waiting.Add((end.Offset, answer));
            _inProbe = [];
            Progressed();
            // Askers that came while this probe ran need a probe of their own.
            if (_probing.Count > 0) ProbeEnd();
        });
        Command<JournalEndFailed>(f =>
        {
            _probeRunning = false;
            _inProbe.AddRange(_probing);
            _probing = _inProbe;
            _inProbe = [];
            _log.Warning("task read model: could not find the journal's end ({0}); trying again", f.Error.Message);
            Timers.StartSingleTimer("probe", Probe.Instance, TimeSpan.FromSeconds(2));
        });
        Command<Probe>(_ => ProbeEnd());
        Command<SaveTick>(_ => Save());
        Command<SaveSnapshotSuccess>(s => DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr, s.Metadata.Timestamp.AddTicks(-1))));
        Command<SaveSnapshotFailure>(f => _log.Warning("task read model: snapshot not saved ({0}); a restart reads further back", f.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });

        Command<ListTasks>(q =>
        {
            if (!q.WaitForCatchUp)
            {
                Sender.Tell(TaskJournal.Listing(_fold, q.Status, _caughtUp, q.CountsOnly));
                return;
            }
            var sender = Sender;
            _probing.Add(() => sender.Tell(TaskJournal.Listing(_fold, q.Status, true, q.CountsOnly)));
            ProbeEnd();
        });
        Command<ReadTaskChanges>(q =>
        {
            // Answered once the journal's present end is read: a late watcher gets every final state
            // at once, and a task missing then is really unknown.
            var sender = Sender;
            _probing.Add(() => Read(q, sender));
            ProbeEnd();
        });
        Command<Terminated>(t => Unsubscribe(t.ActorRef));
        Command<GetReadModelStatus>(_ => Sender.Tell(new ReadModelStatus(RecoveredOffset, _offset, _fold.EventsFolded, _fold.Sequence, _caughtUp)));
    }

    /// <summary>Asks the read model how far it is (tests, diagnostics); answered with <see cref="ReadModelStatus"/>.</summary>
    public sealed class GetReadModelStatus
    {
        public static readonly GetReadModelStatus Instance = new();
    }

    /// <param name="RecoveredOffset">The journal offset the last snapshot held when this incarnation started (0: none).</param>
    /// <param name="Offset">The journal offset read up to.</param>
    /// <param name="EventsFolded">Task events folded by this incarnation.</param>
    public sealed record ReadModelStatus(long RecoveredOffset, long Offset, long EventsFolded, long Sequence, bool CaughtUp);

    public static Props Props(string persistenceId, TaskReadModelSettings? settings = null) =>
        Akka.Actor.Props.Create(() => new TaskReadModel(persistenceId, settings ?? TaskReadModelSettings.Default));

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    private long RecoveredOffset { get; set; }

    private sealed class Probe { public static readonly Probe Instance = new(); }

    protected override void OnReplaySuccess()
    {
        DistributedPubSubIfCluster();
        Timers.StartPeriodicTimer("save", SaveTick.Instance, _settings.SnapshotEvery);
        ReadLive();
        ProbeEnd();
    }

    /// <summary>Finds the row events' present end (the highest offset after ours); one probe at a time, askers arriving meanwhile wait for the next.</summary>
    private void ProbeEnd()
    {
        if (_probeRunning) return;
        _probeRunning = true;
        _inProbe = _probing;
        _probing = [];
        var from = _offset;
        TaskJournal.RowEvents(Context.System, from, live: false)
            .RunAggregate(from, (max, e) => Math.Max(max, TaskJournal.Position(e)), _materializer)
            .PipeTo(Self, success: end => new JournalEnd(end), failure: e => new JournalEndFailed(e));
    }

    /// <summary>Answers what the live query's progress allows: the first catch-up, and listings waiting for their journal end.</summary>
    private void Progressed()
    {
        if (!_caughtUp && _catchUpEnd is { } end && _offset >= end)
        {
            _caughtUp = true;
            _log.Info("task read model caught up at offset {0}: {1} tasks, {2} events folded since start (from offset {3})",
                _offset, _fold.Count, _fold.EventsFolded, RecoveredOffset);
            Save();
        }
        if (!_caughtUp || _waiting.Count == 0) return;
        for (var i = _waiting.Count - 1; i >= 0; i--)
        {
            var (target, answer) = _waiting[i];
            if (_offset < target) continue;
            _waiting.RemoveAt(i);
            answer();
        }
        if (_probing.Count > 0) ProbeEnd();
    }

    private void DistributedPubSubIfCluster()
    {
        // Offline (tests of the actor, a plain ActorSystem) there is no mediator to register with.
        if (!Cluster.NodeKey.IsSingleNode(Context.System))
            DistributedPubSub.Get(Context.System).Mediator.Tell(new Put(Self));
    }

    /// <summary>Reads the row events live from the current offset (the SQL plugin fills ordering gaps left by concurrent writers before moving on).</summary>
    private void ReadLive()
    {
        TaskJournal.RowEvents(Context.System, _offset, live: true)
            .GroupedWithin(_settings.Batch, TimeSpan.FromMilliseconds(20))
            .Select(g => new Batch(g.ToList()))
            .RunWith(Sink.ActorRefWithAck<Batch>(Self, StreamInit.Instance, Ack.Instance, StreamDone.Instance, e => new StreamFailed(e)),
                _materializer);
    }

    private void Fold(IReadOnlyList<EventEnvelope> envelopes)
    {
        var changed = new Dictionary<string, TaskSummary>(StringComparer.Ordinal);
        foreach (var envelope in envelopes)
        {
            var position = TaskJournal.Position(envelope);
            // The query's offset is exclusive, but a restarted query must never fold an event twice.
            if (position <= _offset) continue;
            _offset = position;
            if (envelope.Event is not TaskEvents.ITaskEvent e) continue;
            if (_fold.Apply(e) is { } row) changed[row.TaskId] = row;
        }
        if (changed.Count == 0 || _subscribers.Count == 0) return;
        var pushes = new Dictionary<IActorRef, List<TaskSummary>>();
        foreach (var row in changed.Values)
        {
            if (!_watchers.TryGetValue(row.TaskId, out var watchers)) continue;
            foreach (var w in watchers)
            {
                if (!pushes.TryGetValue(w, out var list)) pushes[w] = list = [];
                list.Add(row);
            }
        }
        foreach (var (w, rows) in pushes)
        {
            var sub = _subscribers[w];
            w.Tell(new TaskChanges(PersistenceId, sub.LastSent, _fold.Sequence, rows, []));
            sub.LastSent = _fold.Sequence;
        }
    }

    private void Read(ReadTaskChanges q, IActorRef sender)
    {
        var rows = new List<TaskSummary>();
        var unknown = new List<string>();
        foreach (var id in q.TaskIds.Distinct(StringComparer.Ordinal))
        {
            if (_fold.Find(id) is { } row) { if (row.Sequence > q.Since) rows.Add(row); }
            else unknown.Add(id);
        }
        sender.Tell(new TaskChanges(PersistenceId, q.Since, _fold.Sequence, rows, unknown));
        if (!q.Subscribe) return;
        Unsubscribe(sender);
        var ids = q.TaskIds.ToHashSet(StringComparer.Ordinal);
        _subscribers[sender] = new Subscriber(ids, _fold.Sequence);
        foreach (var id in ids)
        {
            if (!_watchers.TryGetValue(id, out var set)) _watchers[id] = set = [];
            set.Add(sender);
        }
        Context.Watch(sender);
    }

    private void Unsubscribe(IActorRef subscriber)
    {
        if (!_subscribers.Remove(subscriber, out var sub)) return;
        Context.Unwatch(subscriber);
        foreach (var id in sub.Ids)
            if (_watchers.TryGetValue(id, out var set) && set.Remove(subscriber) && set.Count == 0)
                _watchers.Remove(id);
    }

    private void Save()
    {
        if (_offset == _savedOffset) return;
        _savedOffset = _offset;
        SaveSnapshot(new TaskReadModelSnapshot(_offset, _fold.Sequence, _fold.Rows.ToList()));
    }
}
