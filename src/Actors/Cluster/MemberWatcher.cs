using Akka.Actor;
using Akka.Cluster;
using static Akka.Cluster.ClusterEvent;

namespace MegaFlow.Actors.Cluster;

/// <summary>
/// One per node: turns cluster membership changes into <see cref="NodeLost"/> on the local event
/// stream, so in-flight tasks whose environment lived on a lost node fail over at once instead of
/// waiting for an exec timeout. (Thousands of TaskActors each subscribing to cluster events would
/// be far heavier than this single subscriber.)
/// </summary>
public sealed class MemberWatcher : ReceiveActor
{
    public MemberWatcher()
    {
        var cluster = Akka.Cluster.Cluster.Get(Context.System);
        Receive<IMemberEvent>(e =>
        {
            if (e is MemberRemoved or MemberDowned or MemberLeft or MemberExited)
                Context.System.EventStream.Publish(new NodeLost(NodeKey.Of(e.Member)));
        });
        Receive<UnreachableMember>(_ => { });
        cluster.Subscribe(Self, InitialStateAsEvents, typeof(IMemberEvent));
    }

    protected override void PostStop() => Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);
}
