using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Sharding;

namespace MegaFlow.Actors.Cluster;

/// <summary>
/// Allocation for the environment region: the shard id is a node key ("host:port") and the shard is
/// placed on that node, because the environment's resource (folder, container) lives on that node's
/// machine. If the node is gone, the shard goes to the region with the fewest shards, where the
/// recovered EnvironmentActors find their resource missing and mark themselves Lost. Never rebalances:
/// moving a live environment's actor away from its resource would strand the resource.
/// </summary>
public sealed class NodePinnedAllocationStrategy(Address selfAddress) : IShardAllocationStrategy
{
    public Task<IActorRef> AllocateShard(
        IActorRef requester, string shardId, IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations)
    {
        foreach (var region in currentShardAllocations.Keys)
            if (NodeKey.Of(AddressOf(region)) == shardId)
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
        region.Path.Address.HasGlobalScope ? region.Path.Address : selfAddress;
}
