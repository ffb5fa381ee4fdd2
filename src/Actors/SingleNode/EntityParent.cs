using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Sharding;

namespace MegaFlow.Actors.SingleNode;

/// <summary>
/// Single-node mode's stand-in for a shard region: a plain parent with one child per entity, routed
/// by the same message extractor the region uses, so entity actors run unchanged without a cluster.
/// It speaks the parts of the sharding protocol entities and host programs use: an entity's
/// <see cref="Passivate"/> (messages arriving while it stops are kept and start it again) and
/// <see cref="GetShardRegionState"/> (one shard holding every live entity).
/// </summary>
/// <remarks>
/// There is no remember-entities here: an entity that was running when the process stopped starts
/// again when a message next reaches it (the scheduler re-sends its admissions on recovery, which
/// wakes every task that held a lease). That is enough for tests and embedding; clusters keep sharding.
/// </remarks>
public sealed class EntityParent : ReceiveActor
{
    public const string ShardId = "single-node";

    private readonly Func<string, Props> _entityProps;
    private readonly IMessageExtractor _extractor;
    // Entities told to stop, with the messages that reached them meanwhile (delivered to a new incarnation).
    private readonly Dictionary<string, List<(object Message, IActorRef Sender)>> _stopping = new(StringComparer.Ordinal);

    public EntityParent(Func<string, Props> entityProps, IMessageExtractor extractor)
    {
        _entityProps = entityProps;
        _extractor = extractor;

        Receive<Passivate>(p =>
        {
            var name = Sender.Path.Name;
            if (Context.Child(name).IsNobody() || _stopping.ContainsKey(name)) return;
            _stopping[name] = [];
            Sender.Tell(p.StopMessage);
        });
        Receive<Terminated>(t =>
        {
            var name = t.ActorRef.Path.Name;
            if (!_stopping.Remove(name, out var buffered) || buffered.Count == 0) return;
            var entity = Start(name);
            foreach (var (message, sender) in buffered) entity.Tell(message, sender);
        });
        Receive<GetShardRegionState>(_ => Sender.Tell(new CurrentShardRegionState(
            ImmutableHashSet.Create(new ShardState(ShardId, Context.GetChildren().Select(c => Uri.UnescapeDataString(c.Path.Name)).ToImmutableHashSet())),
            ImmutableHashSet<string>.Empty)));
        ReceiveAny(Deliver);
    }

    public static Props Props(Func<string, Props> entityProps, IMessageExtractor extractor) =>
        Akka.Actor.Props.Create(() => new EntityParent(entityProps, extractor));

    private void Deliver(object message)
    {
        if (_extractor.EntityId(message) is not { Length: > 0 } id)
        {
            Unhandled(message);
            return;
        }
        var payload = _extractor.EntityMessage(message) ?? message;
        // Children are named by their escaped entity id, as sharding names them.
        var name = Uri.EscapeDataString(id);
        if (_stopping.TryGetValue(name, out var buffered))
        {
            buffered.Add((payload, Sender));
            return;
        }
        var child = Context.Child(name);
        (child.IsNobody() ? Start(name) : child).Forward(payload);
    }

    private IActorRef Start(string name) => Context.Watch(Context.ActorOf(_entityProps(Uri.UnescapeDataString(name)), name));
}
