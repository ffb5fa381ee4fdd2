using Akka.Actor;
using MegaFlow.Protocol;
using MegaFlow.Domain;
using Akka.Cluster;
using Akka.Event;
using Akka.Persistence;
using MegaFlow.Actors.Cluster;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using static Akka.Cluster.ClusterEvent;
using static MegaFlow.Contracts.Scheduling.SchedulerProtocol;

namespace MegaFlow.Actors.Scheduling;

/// <summary>
/// The FIFO scheduler: a cluster singleton, event-sourced with snapshots. It drives
/// <see cref="SchedulerLogic"/> and reacts only to events — submissions, releases, environment
/// starts finishing, members joining or leaving — never to a timer. Admissions are persisted before
/// the task hears of them; after a hand-over the new incarnation recovers queue and leases from the
/// journal and re-sends the admissions (tasks ignore duplicates), so nothing is lost or admitted twice.
/// </summary>
public sealed class SchedulerActor : ReceivePersistentActor, IWithTimers
{
    public const string PersistenceIdValue = "megaflow-scheduler";
    private static readonly TimeSpan DepthPublishInterval = TimeSpan.FromMilliseconds(100);

    private readonly SchedulerSettings _settings;
    private readonly IActorRef _tasks;
    private readonly IActorRef _topics;
    private readonly string _workerRole;
    private readonly string? _singleNode;
    private readonly int _snapshotEvery;
    private readonly bool _deleteObsolete;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    // _state runs ahead of the journal (decisions see their own pending events); _persisted is
    // exactly what the journal holds and is what snapshots are taken from.
    private SchedulerState _state = SchedulerState.Empty;
    private SchedulerState _persisted = SchedulerState.Empty;
    private long _eventsSinceSnapshot;
    private long _newestSnapshot;
    private int _publishedDepth = -1;
    private bool _depthPublishScheduled;
    private readonly HashSet<string> _warnedQuotas = [];

    /// <param name="topics">Where the queue depth is published (the DistributedPubSub mediator, or single-node mode's LocalTopics).</param>
    /// <param name="singleNode">Null in a cluster: worker nodes come and go with cluster membership. In
    /// single-node mode, the incarnation of the one worker node there is.</param>
    public SchedulerActor(SchedulerSettings settings, IActorRef tasks, IActorRef topics, string workerRole, int snapshotEvery, string? singleNode = null)
    {
        _settings = settings;
        _tasks = tasks;
        _topics = topics;
        _workerRole = workerRole;
        _singleNode = singleNode;
        _snapshotEvery = snapshotEvery;
        // Read here rather than passed in: it is an operational switch (the journal verifier replays the
        // scheduler's whole history, so runs it audits turn deletion off), not part of scheduling.
        _deleteObsolete = Context.System.Settings.Config.GetBoolean("megaflow.scheduler.delete-obsolete", true);

        Recover<SnapshotOffer>(o =>
        {
            _persisted = SchedulerState.FromSnapshot((SchedulerSnapshot)o.Snapshot);
            _state = _persisted;
        });
        Recover<SchedulerEvents.ISchedulerEvent>(e =>
        {
            _persisted = SchedulerLogic.Apply(_persisted, e);
            _state = _persisted;
        });

        Recover<RecoveryCompleted>(_ => OnRecovered());

        Command<EnqueueTask>(OnEnqueue);
        Command<ReleaseTask>(m =>
        {
            var replyTo = Sender;
            Handle(SchedulerLogic.Release(_state, m.TaskId, m.Attempt, m.EnvironmentReusable, DateTimeOffset.UtcNow),
                () => replyTo.Tell(new TaskProtocol.ReleaseConfirmed(m.TaskId, m.Attempt)));
        });
        Command<EnvironmentStartFinished>(m => Handle(SchedulerLogic.EnvironmentStarted(_state, m.TaskId, m.Attempt)));
        Command<RetireEnvironment>(m => Handle(SchedulerLogic.RetireEnvironment(_state, m.EnvironmentId)));
        Command<CheckPooled>(m => Sender.Tell(new PoolListing(m.EnvironmentId, SchedulerLogic.Lists(_state, m.EnvironmentId))));
        Command<DrainPools>(_ =>
        {
            var replyTo = Sender;
            var d = SchedulerLogic.DrainPools(_state);
            var drained = d.Events.OfType<SchedulerEvents.EnvironmentRetired>().Select(e => e.EnvironmentId).ToList();
            Handle(d, () => replyTo.Tell(new PoolsDrained(drained)));
        });
        Command<ReportNodeImages>(m => _state = SchedulerLogic.ReportImages(_state, m.Node, m.Images));
        Command<CurrentClusterState>(OnClusterSnapshot);
        Command<UnreachableMember>(m =>
        {
            if (m.Member.HasRole(_workerRole)) _state = SchedulerLogic.SetReachable(_state, NodeKey.Incarnation(m.Member), reachable: false);
        });
        Command<ReachableMember>(m =>
        {
            if (!m.Member.HasRole(_workerRole)) return;
            _state = SchedulerLogic.SetReachable(_state, NodeKey.Incarnation(m.Member), reachable: true);
            Handle(SchedulerDecision.Accept(), replan: true); // its slots are usable again
        });
        Command<MemberUp>(m => { if (m.Member.HasRole(_workerRole)) Handle(SchedulerLogic.NodeUp(_state, NodeKey.Incarnation(m.Member))); });
        Command<IMemberEvent>(m =>
        {
            if (m is MemberRemoved or MemberDowned or MemberLeft or MemberExited)
                NodeGone(NodeKey.Incarnation(m.Member));
        });
        Command<GetSchedulerState>(_ => Sender.Tell(Status()));
        Command<GetSchedulerLeases>(_ => Sender.Tell(new SchedulerLeases(
            _state.Leases.Values.OrderBy(l => l.Seq).ToList(),
            QueuedBy(lane => lane.Pool),
            QueuedBy(lane => lane.Quota))));
        Command<PublishDepth>(_ =>
        {
            _depthPublishScheduled = false;
            PublishDepthIfChanged();
        });
        Command<SaveSnapshotSuccess>(OnSnapshotSaved);
        Command<DeleteObsolete>(OnDeleteObsolete);
        Command<SaveSnapshotFailure>(f => _log.Warning("scheduler snapshot failed: {0}", f.Cause.Message));
        // Failed deletions only leave rows recovery no longer reads; the next snapshot's deletion covers them again.
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => _log.Warning("deleting scheduler snapshots up to {0} failed: {1}", f.Criteria.MaxSequenceNr, f.Cause.Message));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(f => _log.Warning("deleting scheduler events up to {0} failed: {1}", f.ToSequenceNr, f.Cause.Message));
    }

    public static Props Props(SchedulerSettings settings, IActorRef tasks, IActorRef topics, string workerRole, int snapshotEvery, string? singleNode = null) =>
        Akka.Actor.Props.Create(() => new SchedulerActor(settings, tasks, topics, workerRole, snapshotEvery, singleNode));

    public override string PersistenceId => PersistenceIdValue;

    public ITimerScheduler Timers { get; set; } = null!;

    // Runs on RecoveryCompleted (not OnReplaySuccess): only from here on may the actor persist.
    private void OnRecovered()
    {
        _log.Info("scheduler recovered: {0} queued, {1} running, {2} starting, {3} nodes", _state.QueueDepth, _state.Running, _state.Starting, _state.Nodes.Count);
        // Admissions persisted by a previous incarnation may never have reached their tasks.
        foreach (var lease in _state.Leases.Values)
            _tasks.Tell(new TaskProtocol.AdmitTask(lease.TaskId, lease.Attempt, lease));
        if (_singleNode is null)
            Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, InitialStateAsSnapshot, typeof(IMemberEvent), typeof(IReachabilityEvent));
        else
            ReconcileNodes(new HashSet<string> { _singleNode }, []);
    }

    protected override void PostStop()
    {
        if (_singleNode is null) Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);
        base.PostStop();
    }

    private void OnEnqueue(EnqueueTask m)
    {
        var replyTo = Sender;
        // A quota the configuration does not name caps nothing (see SchedulerSettings.Quotas): the
        // submission path cannot see this singleton's configuration, so it is accepted, and said here once.
        if (m.Quota is { } quota && !_settings.Quotas.ContainsKey(quota) && _warnedQuotas.Add(quota))
            _log.Warning("task {0} names quota '{1}', which megaflow.scheduler.quotas does not configure ({2}): its tasks are not capped",
                m.TaskId, quota, _settings.Quotas.Count == 0 ? "no quotas configured" : "configured: " + string.Join(", ", _settings.Quotas.Keys.Order(StringComparer.Ordinal)));
        var d = SchedulerLogic.Enqueue(_state, m.TaskId, m.Attempt, m.Pool, m.Mode, DateTimeOffset.UtcNow, m.Image, m.Quota);
        if (d.Outcome == DecisionOutcome.Rejected) return; // stale retry of an older attempt
        Handle(d, () =>
        {
            replyTo.Tell(new TaskProtocol.QueueConfirmed(m.TaskId, m.Attempt));
            // Already admitted: the task evidently missed the admission, so repeat it.
            if (d.Outcome == DecisionOutcome.Duplicate && _state.Leases.TryGetValue(m.TaskId, out var lease) && lease.Attempt == m.Attempt)
                _tasks.Tell(new TaskProtocol.AdmitTask(lease.TaskId, lease.Attempt, lease));
        });
    }

    // Reconciles membership after (re)start: nodes that vanished while no scheduler was listening
    // are dropped, live workers are added.
    private void OnClusterSnapshot(CurrentClusterState s) => ReconcileNodes(
        s.Members.Where(m => m.Status == MemberStatus.Up && m.HasRole(_workerRole)).Select(NodeKey.Incarnation).ToHashSet(),
        s.Unreachable.Where(m => m.HasRole(_workerRole)).Select(NodeKey.Incarnation));

    private void ReconcileNodes(IReadOnlySet<string> live, IEnumerable<string> unreachable)
    {
        foreach (var gone in _state.Nodes.Where(n => !live.Contains(n)).ToList())
            NodeGone(gone);
        foreach (var node in live)
            Handle(SchedulerLogic.NodeUp(_state, node));
        foreach (var node in unreachable)
            _state = SchedulerLogic.SetReachable(_state, node, reachable: false);
    }

    private void NodeGone(string node)
    {
        Handle(SchedulerLogic.NodeDown(_state, node), () =>
        {
            // Wake the tasks whose environments were there: each either fails over itself (it got
            // NodeLost) or, if its own actor died too, is restarted by this message and fails over on recovery.
            foreach (var lease in _state.Leases.Values.Where(l => l.Node == node))
                _tasks.Tell(new TaskProtocol.AdmitTask(lease.TaskId, lease.Attempt, lease));
        });
    }

    /// <summary>Applies a decision and the admissions it makes possible, persists them, then acts.</summary>
    private void Handle(SchedulerDecision d, Action? after = null, bool replan = false)
    {
        if (d.Outcome == DecisionOutcome.Rejected) return;
        foreach (var e in d.Events) _state = SchedulerLogic.Apply(_state, e);
        var admissions = d.Events.Count == 0 && !replan
            ? []
            : SchedulerLogic.PlanAdmissions(_state, _settings, DateTimeOffset.UtcNow, () => Guid.NewGuid().ToString("N"), EnvironmentIds.New);
        foreach (var a in admissions) _state = SchedulerLogic.Apply(_state, a);

        var all = d.Events.Concat(admissions).ToList();
        if (all.Count == 0)
        {
            after?.Invoke();
            return;
        }
        var remaining = all.Count;
        PersistAllAsync(all, e =>
        {
            _persisted = SchedulerLogic.Apply(_persisted, e);
            _eventsSinceSnapshot++;
            if (--remaining > 0) return;
            after?.Invoke();
            foreach (var a in admissions)
                _tasks.Tell(new TaskProtocol.AdmitTask(a.Lease.TaskId, a.Lease.Attempt, a.Lease));
            ScheduleDepthPublish();
            if (_eventsSinceSnapshot >= _snapshotEvery)
            {
                _eventsSinceSnapshot = 0;
                SaveSnapshot(_persisted.ToSnapshot());
            }
        });
    }

    // Recovery starts from the newest snapshot and replays only the events after it, so older snapshots
    // and the events up to it are never read again: deleting them keeps both tables from growing with
    // the scheduler's whole history. Not at once, though: see ObsoleteDeletionDelay.
    private void OnSnapshotSaved(SaveSnapshotSuccess saved)
    {
        if (!_deleteObsolete) return;
        _newestSnapshot = saved.Metadata.SequenceNr;
        if (!Timers.IsTimerActive("delete-obsolete"))
            Timers.StartSingleTimer("delete-obsolete", new DeleteObsolete(_newestSnapshot), ObsoleteDeletionDelay);
    }

    private void OnDeleteObsolete(DeleteObsolete m)
    {
        if (m.UpTo > 1) DeleteSnapshots(new SnapshotSelectionCriteria(m.UpTo - 1));
        DeleteMessages(m.UpTo);
        if (_newestSnapshot > m.UpTo)
            Timers.StartSingleTimer("delete-obsolete", new DeleteObsolete(_newestSnapshot), ObsoleteDeletionDelay);
    }

    /// <summary>
    /// How old a snapshot is before the events it covers are deleted. The journal's readers (the task
    /// read model's live query) follow the journal's ordering, and the SQL plugin treats an ordering it
    /// has not seen yet that is gone as a gap: it waits for it (up to max-tries × query-delay, 10 s)
    /// and checks every later event against every open gap. Deleting events a fraction of a second
    /// after writing them left ~38,000 such gaps in a 10,000-task benchmark run and stalled the read
    /// model; events this old have been read (the plugin polls every second).
    /// </summary>
    private static readonly TimeSpan ObsoleteDeletionDelay = TimeSpan.FromSeconds(10);

    private sealed record DeleteObsolete(long UpTo);

    // Coalesces depth changes into at most one publication per interval: a burst of 10,000
    // submissions produces a handful of messages, not 10,000.
    private void ScheduleDepthPublish()
    {
        if (_depthPublishScheduled || _state.QueueDepth == _publishedDepth) return;
        _depthPublishScheduled = true;
        Timers.StartSingleTimer("publish-depth", PublishDepth.Instance, DepthPublishInterval);
    }

    private void PublishDepthIfChanged()
    {
        if (_state.QueueDepth == _publishedDepth) return;
        _publishedDepth = _state.QueueDepth;
        _topics.Tell(new Akka.Cluster.Tools.PublishSubscribe.Publish(Topics.SchedulerStatus, new QueueDepthChanged(_state.QueueDepth, _state.Running, DateTimeOffset.UtcNow)));
    }

    private sealed record PublishDepth
    {
        public static readonly PublishDepth Instance = new();
    }

    private SchedulerStatus Status() => new(
        _state.QueueDepth,
        _state.Running,
        _state.Starting,
        _state.RunningByPool,
        _state.RunningByNode,
        _state.Idle.ToDictionary(kv => kv.Key, kv => kv.Value.Count),
        _state.PoolSizes,
        _state.Nodes.ToList(),
        _settings,
        _state.RunningByQuota);

    // Queue lengths per pool or per quota (lanes without a quota are left out of the latter).
    private Dictionary<string, int> QueuedBy(Func<QueueLane, string?> key)
    {
        var counts = new Dictionary<string, int>();
        foreach (var (lane, queue) in _state.Queues)
            if (key(lane) is { } k)
                counts[k] = counts.GetValueOrDefault(k) + queue.Count;
        return counts;
    }
}
