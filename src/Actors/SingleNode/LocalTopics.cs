using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;

namespace MegaFlow.Actors.SingleNode;

/// <summary>
/// Single-node mode's stand-in for the DistributedPubSub mediator: the same <see cref="Publish"/>,
/// <see cref="Subscribe"/> and <see cref="Unsubscribe"/> messages, delivered within this ActorSystem,
/// so actors that publish topics need not know which mode they run in.
/// </summary>
public sealed class LocalTopics : ReceiveActor
{
    private readonly Dictionary<string, HashSet<IActorRef>> _subscribers = new(StringComparer.Ordinal);

    public LocalTopics()
    {
        Receive<Subscribe>(s =>
        {
            if (!_subscribers.TryGetValue(s.Topic, out var set)) _subscribers[s.Topic] = set = [];
            if (set.Add(s.Ref)) Context.Watch(s.Ref);
            Sender.Tell(new SubscribeAck(s));
        });
        Receive<Unsubscribe>(u =>
        {
            if (_subscribers.TryGetValue(u.Topic, out var set)) set.Remove(u.Ref);
            Sender.Tell(new UnsubscribeAck(u));
        });
        Receive<Publish>(p =>
        {
            if (!_subscribers.TryGetValue(p.Topic, out var set)) return;
            foreach (var subscriber in set) subscriber.Tell(p.Message, Sender);
        });
        Receive<Terminated>(t =>
        {
            foreach (var set in _subscribers.Values) set.Remove(t.ActorRef);
        });
    }
}
