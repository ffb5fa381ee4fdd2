using System.Globalization;
using Akka.Actor;
using Akka.Cluster;

namespace MegaFlow.Actors.Cluster;

/// <summary>
/// Names of nodes. <see cref="Of(Address)"/> is the address, "host:port", for operators and for the
/// labels on a node's containers. <see cref="Incarnation(UniqueAddress)"/>, "host:port~uid", names
/// one run of a node process: environment ids, leases, slots and node-loss notices use it, because
/// an environment's resource belongs to the process that created it — a node restarted at the same
/// address is a new incarnation and never adopts its predecessor's environments.
/// </summary>
public static class NodeKey
{
    public static string Of(Address address) => $"{address.Host}:{address.Port}";

    public static string Of(Member member) => Of(member.Address);

    public static string Self(ActorSystem system) =>
        IsSingleNode(system) ? SingleNodeAddress : Of(Akka.Cluster.Cluster.Get(system).SelfAddress);

    public static string Incarnation(UniqueAddress node) => $"{Of(node.Address)}~{node.Uid.ToString(CultureInfo.InvariantCulture)}";

    public static string Incarnation(Member member) => Incarnation(member.UniqueAddress);

    public static string SelfIncarnation(ActorSystem system) =>
        IsSingleNode(system) ? SingleNodeIncarnations.GetValue(system, _ => $"{SingleNodeAddress}~{Random.Shared.NextInt64(1, long.MaxValue).ToString(CultureInfo.InvariantCulture)}")
            : Incarnation(Akka.Cluster.Cluster.Get(system).SelfUniqueAddress);

    /// <summary>The name a single-node (non-cluster) system goes by; its incarnation adds a random id per ActorSystem, as a cluster member's uid does.</summary>
    public const string SingleNodeAddress = "local:0";

    /// <summary>True for a system without a cluster (single-node mode: the local actor provider).</summary>
    public static bool IsSingleNode(ActorSystem system) =>
        !system.Settings.ProviderClass.Contains("Cluster", StringComparison.Ordinal);

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ActorSystem, string> SingleNodeIncarnations = new();
}

/// <summary>Published on the local event stream when a member (by incarnation) is downed, removed or leaves.</summary>
public sealed record NodeLost(string Node);
