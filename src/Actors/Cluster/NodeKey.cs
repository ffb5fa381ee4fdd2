using Akka.Actor;
using Akka.Cluster;

namespace MegaFlow.Actors.Cluster;

/// <summary>
/// A node's short name, "host:port", used in environment ids and leases. The scheduler picks a node
/// for each new environment; the environment shard named after that node is allocated to it.
/// </summary>
public static class NodeKey
{
    public static string Of(Address address) => $"{address.Host}:{address.Port}";

    public static string Of(Member member) => Of(member.Address);

    public static string Self(ActorSystem system) => Of(Akka.Cluster.Cluster.Get(system).SelfAddress);
}

/// <summary>Published on the local event stream when a member is downed, removed or leaves.</summary>
public sealed record NodeLost(string Node);
