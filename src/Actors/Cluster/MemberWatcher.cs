using Akka.Actor;
using Akka.Cluster;
using static Akka.Cluster.ClusterEvent;

namespace MegaFlow.Actors.Cluster;

/// <summary>
/// One per node: turns cluster membership changes into <see cref="NodeLost"/>, so in-flight tasks
/// whose environment lived on a lost node fail over at once instead of waiting for an exec timeout.
/// (Thousands of TaskActors each subscribing to cluster events would be far heavier than this single
/// subscriber.)
/// </summary>
/// <remarks>
/// Tasks register for the one node they depend on with <see cref="WatchNode"/> and are told directly.
/// They used to subscribe to the local event stream instead, but its subscribe and unsubscribe are
/// linear scans over all subscribers of the type: with 2,000 tasks in flight that was ~3% of the
/// node's CPU (bench profile) and grew with the number in flight. A node lost before a task's
/// registration arrives is remembered (until a member with that key joins again), so the task still
/// hears of it. NodeLost is still published on the event stream for any other listener.
/// </remarks>
public sealed class MemberWatcher : ReceiveActor
{
    public const string Name = "member-watcher";

    private readonly Dictionary<string, HashSet<IActorRef>> _watchers = new();
    private readonly HashSet<string> _lost = new();

    public MemberWatcher()
    {
        var cluster = Akka.Cluster.Cluster.Get(Context.System);
        Receive<WatchNode>(m =>
        {
            if (_lost.Contains(m.Node))
            {
                m.Task.Tell(new NodeLost(m.Node));
                return;
            }
            if (!_watchers.TryGetValue(m.Node, out var set))
                _watchers[m.Node] = set = new HashSet<IActorRef>();
            set.Add(m.Task);
        });
        Receive<UnwatchNode>(m =>
        {
            if (_watchers.TryGetValue(m.Node, out var set) && set.Remove(m.Task) && set.Count == 0)
                _watchers.Remove(m.Node);
        });
        Receive<IMemberEvent>(e =>
        {
            var node = NodeKey.Incarnation(e.Member);
            if (e is MemberRemoved or MemberDowned or MemberLeft or MemberExited)
            {
                var lost = new NodeLost(node);
                _lost.Add(node);
                Context.System.EventStream.Publish(lost);
                if (_watchers.Remove(node, out var tasks))
                    foreach (var task in tasks) task.Tell(lost);
            }
            else if (e is MemberJoined or MemberUp or MemberWeaklyUp)
            {
                // Incarnations are never reused; this only keeps the set from growing with restarts.
                _lost.Remove(node);
            }
        });
        Receive<UnreachableMember>(_ => { });
        cluster.Subscribe(Self, InitialStateAsEvents, typeof(IMemberEvent));
    }

    protected override void PostStop() => Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);

    /// <summary>Tell <paramref name="Task"/> (once) when <paramref name="Node"/> is lost. Local only.</summary>
    public sealed record WatchNode(string Node, IActorRef Task);

    /// <summary>Stop telling <paramref name="Task"/> about <paramref name="Node"/>. Local only.</summary>
    public sealed record UnwatchNode(string Node, IActorRef Task);
}
