using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;

namespace MegaFlow.Actors.Cluster;

/// <summary>
/// Allocation for the environment region: the shard id is a node incarnation ("host:port~uid", see
/// <see cref="NodeKey"/>) and the shard is placed on that incarnation, because the environment's
/// resource (folder, container) lives in that node's process and machine. If the incarnation is
/// gone — even if a new one runs at the same address — the shard goes to the region with the fewest
/// shards, where the recovered EnvironmentActors see they are not on their owner and mark themselves
/// Lost. Never rebalances: moving a live environment's actor away from its resource would strand it.
/// </summary>
public sealed class NodePinnedAllocationStrategy(Akka.Cluster.Cluster cluster) : IShardAllocationStrategy
{
    public Task<IActorRef> AllocateShard(
        IActorRef requester, string shardId, IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations)
    {
        // During a restart two incarnations may share an address: only a live member with exactly
        // this incarnation gets the shard.
        var owner = cluster.State.Members.FirstOrDefault(m =>
            m.Status is MemberStatus.Up or MemberStatus.Joining or MemberStatus.WeaklyUp && NodeKey.Incarnation(m) == shardId);
        if (owner is not null)
            foreach (var region in currentShardAllocations.Keys)
                if (AddressOf(region) == owner.Address)
                    return Task.FromResult(region);
        var fallback = currentShardAllocations
            .OrderBy(kv => kv.Value.Count)
            .ThenBy(kv => AddressOf(kv.Key).ToString(), StringComparer.Ordinal)
            .First().Key;
        return Task.FromResult(fallback);
    }

    public Task<IImmutableSet<string>> Rebalance(
        IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations, IImmutableSet<string> rebalanceInProgress) =>
        Task.FromResult<IImmutableSet<string>>(ImmutableHashSet<string>.Empty);

    // The coordinator runs on some node; regions on that node have local refs without host/port.
    private Address AddressOf(IActorRef region) =>
        region.Path.Address.HasGlobalScope ? region.Path.Address : cluster.SelfAddress;
}
