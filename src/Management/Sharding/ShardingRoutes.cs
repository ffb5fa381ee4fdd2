using System.Collections.Immutable;
using MegaFlow.Protocol;
using MegaFlow.Protocol.Sharding;
using Akka.Actor;
using Akka.Cluster.Sharding;
using MegaFlow.Actors.Cluster;
using MegaFlow.Contracts.Management;
using MegaFlow.Management.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using EntityLocation = MegaFlow.Contracts.Management.EntityLocation;

namespace MegaFlow.Management.Sharding;

/// <summary>
/// pbm's sharding palette over Akka's own queries: GetCurrentRegions (coordinator), GetClusterShardingStats
/// (every region's shard counts) and GetShardRegionState (one region's shards and entity ids, asked of each
/// region in turn, which is also how an entity is located).
/// </summary>
public static class ShardingRoutes
{
    public static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/sharding", (ManagementNode node) =>
            ApiResults.Ok(new ShardingTypes(Types(node))));

        api.MapGet("/sharding/{type}/regions", async (ManagementNode node, string type, CancellationToken ct) =>
        {
            if (Region(node, type) is not { } region) return UnknownType(node, type);
            var regions = await region.AskAsync<CurrentRegions>(GetCurrentRegions.Instance, AskTimeout, $"the '{type}' shard coordinator", ct);
            return ApiResults.Ok(new ShardingRegions(type, regions.Regions.Select(a => a.ToString()).OrderBy(a => a).ToList()));
        });

        api.MapGet("/sharding/{type}/stats", async (ManagementNode node, string type, CancellationToken ct) =>
        {
            if (Region(node, type) is not { } region) return UnknownType(node, type);
            // The coordinator asks every region within AskTimeout and lists those that did not answer as failed.
            var stats = await region.AskAsync<ClusterShardingStats>(new GetClusterShardingStats(AskTimeout), AskTimeout + TimeSpan.FromSeconds(2),
                $"the '{type}' shard coordinator", ct);
            var rows = stats.Regions
                .OrderBy(kv => kv.Key.ToString())
                .Select(kv => new RegionStats(kv.Key.ToString(), kv.Value.Stats.Count, kv.Value.Stats.Values.Sum(),
                    kv.Value.Stats.OrderBy(s => s.Key).ToDictionary(s => s.Key, s => s.Value)))
                .ToList();
            var failed = stats.Regions.SelectMany(kv => kv.Value.Failed.Select(f => $"{kv.Key}/{f}")).ToList();
            return ApiResults.Ok(new ShardingStats(type, rows, failed));
        });

        api.MapGet("/sharding/{type}/shards", async (ManagementNode node, string type, bool? entities, CancellationToken ct) =>
        {
            if (Region(node, type) is null) return UnknownType(node, type);
            var (states, failed) = await RegionStatesAsync(node, type, ct: ct);
            var rows = states.Select(s => new RegionShards(s.Address, s.State.Shards
                    .OrderBy(sh => sh.ShardId)
                    .Select(sh => new ShardInfo(sh.ShardId, sh.EntityIds.Count, entities == true ? sh.EntityIds.OrderBy(e => e).ToList() : null))
                    .ToList()))
                .ToList();
            return ApiResults.Ok(new ShardingShards(type, rows, failed));
        });

        api.MapGet("/sharding/{type}/locate/{entityId}", async (ManagementNode node, string type, string entityId, CancellationToken ct) =>
        {
            if (Region(node, type) is null) return UnknownType(node, type);
            if (ShardOf(node, type, entityId) is not { } shardId) return ApiResults.BadRequest($"cannot compute the shard of an entity of type '{type}'");
            var (states, _) = await RegionStatesAsync(node, type, ct: ct);
            foreach (var (address, state) in states)
            {
                if (state.Shards.FirstOrDefault(s => s.ShardId == shardId) is { } shard)
                    return ApiResults.Ok(new EntityLocation(type, entityId, shardId, address, shard.EntityIds.Contains(entityId)));
            }
            return ApiResults.Ok(new EntityLocation(type, entityId, shardId, null, false));
        });
    }

    /// <summary>
    /// Asks every region of the type (as the coordinator lists them) for its shards and entities, all
    /// at once, each within <paramref name="timeout"/> (default <see cref="AskTimeout"/>); the regions
    /// that did not answer are listed by address instead of failing the whole answer.
    /// </summary>
    internal static async Task<(IReadOnlyList<(string Address, CurrentShardRegionState State)> States, IReadOnlyList<string> Failed)> RegionStatesAsync(
        ManagementNode node, string type, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var each = timeout ?? AskTimeout;
        var regions = await Region(node, type)!.AskAsync<CurrentRegions>(GetCurrentRegions.Instance, each, $"the '{type}' shard coordinator", ct);
        var system = node.System;
        var self = Akka.Cluster.Cluster.Get(system).SelfAddress;
        var addresses = regions.Regions.Select(a => a.HasLocalScope ? self : a).OrderBy(a => a.ToString()).ToList();
        // A region is the child of the sharding guardian named after its type, on every node that hosts it.
        var asked = await ClusterAsks.EachAsync(addresses,
            (address, t, token) => system.ActorSelection(address + "/system/sharding/" + Uri.EscapeDataString(type))
                .Ask<CurrentShardRegionState>(GetShardRegionState.Instance, t, token),
            each, each, Math.Max(1, addresses.Count), ct);
        return (asked.Answered.Select(a => (a.Item.ToString(), a.Answer)).ToList(), asked.Unanswered.Select(u => u.Item.ToString()).ToList());
    }

    /// <summary>
    /// The type's shard region on this node, or its proxy on a node that hosts no shards (a
    /// scheduler-only node): the coordinator answers either, so every node can serve these routes.
    /// </summary>
    internal static IActorRef? Region(ManagementNode node, string type)
    {
        if (type is not (EntityTypes.Task or EntityTypes.Environment)) return null;
        try
        {
            return ClusterSharding.Get(node.System).ShardRegion(type);
        }
        catch (ArgumentException)
        {
            return null; // neither a region nor a proxy was started for it here
        }
    }

    /// <summary>Our sharded types this node can reach (through its region or its proxy).</summary>
    internal static IReadOnlyList<string> Types(ManagementNode node) =>
        new[] { EntityTypes.Environment, EntityTypes.Task }.Where(t => Region(node, t) is not null).ToList();

    private static string? ShardOf(ManagementNode node, string type, string entityId)
    {
        var mf = node.System.Settings.Config.GetConfig("megaflow");
        IMessageExtractor? extractor = type switch
        {
            EntityTypes.Task => new TaskMessageExtractor(mf.GetInt("task-shards", 100)),
            EntityTypes.Environment => new EnvironmentMessageExtractor(),
            _ => null,
        };
        return extractor?.ShardId(entityId);
    }

    private static IResult UnknownType(ManagementNode node, string type) =>
        ApiResults.NotFound($"no sharded type '{type}' (types: {string.Join(", ", Types(node))})");
}
