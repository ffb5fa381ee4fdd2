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
/// Lost.
/// </summary>
/// <remarks>
/// A node that has just joined may be asked for before its region has registered with the
/// coordinator (the scheduler admits onto a node as soon as it is Up). Its shard must not fall back
/// elsewhere then — every environment there would be foreign, and fail. So a live owner always gets
/// its own region, resolved by path; if that region has not registered yet the coordinator drops the
/// allocation and the asking region asks again moments later. A shard that still ended up away from
/// its live owner is moved back by <see cref="Rebalance"/>; no other shard ever moves (moving a live
/// environment's actor away from its resource would strand it).
/// </remarks>
public sealed class NodePinnedAllocationStrategy(ActorSystem system, string typeName) : IShardAllocationStrategy
{
    private static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(3);
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(system);

    public async Task<IActorRef> AllocateShard(
        IActorRef requester, string shardId, IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations)
    {
        if (LiveOwner(shardId) is { } owner)
        {
            foreach (var region in currentShardAllocations.Keys)
                if (AddressOf(region) == owner.Address)
                    return region;
            try
            {
                var guardian = system.Settings.Config.GetString("akka.cluster.sharding.guardian-name", "sharding");
                return await system.ActorSelection(new RootActorPath(owner.Address) / "system" / guardian / typeName).ResolveOne(ResolveTimeout);
            }
            catch (Exception e) when (e is ActorNotFoundException or AskTimeoutException or TimeoutException)
            {
                // Its region is not up yet: fall back below (a later Rebalance moves the shard home).
            }
        }
        return currentShardAllocations
            .OrderBy(kv => kv.Value.Count)
            .ThenBy(kv => AddressOf(kv.Key).ToString(), StringComparer.Ordinal)
            .First().Key;
    }

    /// <summary>Moves home the shards that sit away from their live owner's registered region.</summary>
    public Task<IImmutableSet<string>> Rebalance(
        IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations, IImmutableSet<string> rebalanceInProgress)
    {
        var registered = currentShardAllocations.Keys.Select(AddressOf).ToHashSet();
        var misplaced = ImmutableHashSet.CreateBuilder<string>();
        foreach (var (region, shards) in currentShardAllocations)
        foreach (var shard in shards)
            if (!rebalanceInProgress.Contains(shard) && LiveOwner(shard) is { } owner
                && owner.Address != AddressOf(region) && registered.Contains(owner.Address))
                misplaced.Add(shard);
        return Task.FromResult<IImmutableSet<string>>(misplaced.ToImmutable());
    }

    // During a restart two incarnations may share an address: only a live member with exactly this
    // incarnation owns the shard.
    private Member? LiveOwner(string shardId) => _cluster.State.Members.FirstOrDefault(m =>
        m.Status is MemberStatus.Up or MemberStatus.Joining or MemberStatus.WeaklyUp && NodeKey.Incarnation(m) == shardId);

    // The coordinator runs on some node; regions on that node have local refs without host/port.
    private Address AddressOf(IActorRef region) =>
        region.Path.Address.HasGlobalScope ? region.Path.Address : _cluster.SelfAddress;
}
