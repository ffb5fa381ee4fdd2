using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using MegaFlow.Contracts.Tasks;
using static MegaFlow.Contracts.Tasks.TaskProtocol;

namespace MegaFlow.Protocol.Tasks;

/// <summary>One item of a watch: a task's new row, or a task the read model has never heard of.</summary>
public sealed record TaskWatchItem(string TaskId, TaskSummary? Row)
{
    public bool Unknown => Row is null;
}

/// <summary>
/// Watches tasks through a node's task read model: the current row of each task first, then every
/// change, ending when every task is final (or unknown). The one watch behind the management API's
/// watch stream, the client's <c>WatchAsync</c>/<c>ResultsAsync</c> and the demo.
/// </summary>
/// <remarks>
/// The read model pushes changes numbered by its change sequence. On a gap (a push that does not
/// follow the last one seen), or after a quiet period (a push lost with a node, a read model that
/// restarted), the watcher asks for the changes since the last sequence it saw — one request for all
/// its tasks, never one per task. Rows only move forward (a later attempt, or a later status within
/// an attempt), so a repeated or reordered row is dropped and each final state is reported once.
/// </remarks>
public static class TaskWatchFeed
{
    /// <summary>How long a watch waits in silence before asking for the changes since the last sequence.</summary>
    public static readonly TimeSpan QuietPeriod = TimeSpan.FromSeconds(3);

    /// <summary>
    /// A task still unknown this long after the watch began is reported unknown: a submission made a
    /// moment ago through another node takes the journal's poll interval to reach this read model.
    /// </summary>
    public static readonly TimeSpan UnknownAfter = TimeSpan.FromSeconds(10);

    /// <summary>Watches <paramref name="taskIds"/>; with <paramref name="localFirst"/> the read model of this node is preferred.</summary>
    public static async IAsyncEnumerable<TaskWatchItem> WatchAsync(ActorSystem system, IEnumerable<string> taskIds, bool localFirst = true,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        var open = taskIds.ToHashSet(StringComparer.Ordinal);
        if (open.Count == 0) yield break;
        var channel = Channel.CreateUnbounded<TaskChanges>(new UnboundedChannelOptions { SingleReader = true });
        var ids = open.ToList();
        var watcher = system.ActorOf(Props.Create(() => new Watcher(ids, localFirst, channel.Writer)));
        var seen = new Dictionary<string, TaskSummary>(StringComparer.Ordinal);
        try
        {
            while (open.Count > 0)
            {
                var changes = await channel.Reader.ReadAsync(ct);
                foreach (var row in changes.Tasks)
                {
                    if (!open.Contains(row.TaskId)) continue;
                    if (seen.TryGetValue(row.TaskId, out var last) && !IsLater(row, last)) continue;
                    seen[row.TaskId] = row;
                    if (row.Status.IsTerminal()) open.Remove(row.TaskId);
                    yield return new TaskWatchItem(row.TaskId, row);
                }
                foreach (var id in changes.Unknown)
                    if (!seen.ContainsKey(id) && open.Remove(id))
                        yield return new TaskWatchItem(id, null);
            }
        }
        finally
        {
            watcher.Tell(PoisonPill.Instance);
        }
    }

    /// <summary>A row moves forward: a later attempt, or a later status within the attempt; a final status is final.</summary>
    public static bool IsLater(TaskSummary row, TaskSummary than) =>
        !than.Status.IsTerminal() && (row.Attempt, (int)row.Status).CompareTo((than.Attempt, (int)than.Status)) > 0
        || !than.Status.IsTerminal() && row.Status.IsTerminal();

    /// <summary>Subscribes to a read model and keeps the subscription whole: gaps and silences are caught up.</summary>
    private sealed class Watcher : ReceiveActor, IWithTimers
    {
        private sealed class Quiet { public static readonly Quiet Instance = new(); }

        private sealed class Recheck { public static readonly Recheck Instance = new(); }

        private readonly IReadOnlyList<string> _ids;
        private readonly bool _localFirst;
        private string? _source;
        private IActorRef? _readModel;
        private long _last;
        private bool _heard;

        // Only an answer to a request sent through the mediator may move the watch to another read
        // model; a late push from one it left is told to stop instead.
        private bool _mayMove = true;

        public Watcher(IReadOnlyList<string> ids, bool localFirst, ChannelWriter<TaskChanges> writer)
        {
            _ids = ids;
            _localFirst = localFirst;
            Receive<TaskChanges>(c =>
            {
                _heard = true;
                Timers.StartSingleTimer("quiet", Quiet.Instance, QuietPeriod);
                if (c.Source != _source)
                {
                    if (!_mayMove)
                    {
                        Sender.Tell(new ReadTaskChanges([], 0, Subscribe: true));
                        return;
                    }
                    _readModel?.Tell(new ReadTaskChanges([], 0, Subscribe: true));
                    _source = c.Source;
                    _readModel = Sender;
                    _mayMove = false;
                    if (c.After != _last || _last != 0)
                    {
                        // Its sequence is its own: start over from 0 there (rows only move forward, so repeats are dropped).
                        _last = 0;
                        Ask(Sender);
                        return;
                    }
                }
                else if (c.After != _last)
                {
                    if (c.Sequence > _last) Ask(Sender); // a push went missing: ask for everything since the last one seen
                    return;
                }
                _last = c.Sequence;
                _mayMove = false;
                writer.TryWrite(c);
            });
            Receive<Recheck>(_ => Ask(_readModel));
            Receive<Quiet>(_ =>
            {
                // Silence: ask the read model we know; if it did not answer the last time either, any live one.
                Ask(_heard ? _readModel : null);
                _heard = false;
                Timers.StartSingleTimer("quiet", Quiet.Instance, QuietPeriod);
            });
        }

        public ITimerScheduler Timers { get; set; } = null!;

        protected override void PreStart()
        {
            Ask(null);
            Timers.StartSingleTimer("quiet", Quiet.Instance, QuietPeriod);
            // Once unknown tasks can be reported, ask once more even if pushes keep the watch from going quiet.
            Timers.StartSingleTimer("recheck", Recheck.Instance, UnknownAfter + TimeSpan.FromMilliseconds(500));
        }

        private void Ask(IActorRef? readModel)
        {
            var request = new ReadTaskChanges(_ids, _last, Subscribe: true);
            if (readModel is not null)
            {
                readModel.Tell(request);
                return;
            }
            _mayMove = true;
            DistributedPubSub.Get(Context.System).Mediator.Tell(new Send(Topics.TaskReadModel, request, localAffinity: _localFirst));
        }
    }
}
