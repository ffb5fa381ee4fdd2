namespace MegaFlow.Contracts.Management;

public sealed record ShardingTypes(IReadOnlyList<string> Types);

/// <summary>The nodes hosting a region of <paramref name="Type"/>, from the shard coordinator.</summary>
public sealed record ShardingRegions(string Type, IReadOnlyList<string> Regions);

/// <summary>Shards and entities per region (cluster-wide, from every region). <paramref name="Failed"/>: regions that did not answer in time.</summary>
public sealed record ShardingStats(string Type, IReadOnlyList<RegionStats> Regions, IReadOnlyList<string> Failed);

public sealed record RegionStats(string Address, int Shards, int Entities, IReadOnlyDictionary<string, int> EntitiesPerShard);

/// <summary>The shards each region hosts and their live entities.</summary>
public sealed record ShardingShards(string Type, IReadOnlyList<RegionShards> Regions, IReadOnlyList<string> Failed);

public sealed record RegionShards(string Address, IReadOnlyList<ShardInfo> Shards);

public sealed record ShardInfo(string ShardId, int Entities, IReadOnlyList<string>? EntityIds);

/// <summary>Where an entity lives: its shard, and the region currently hosting that shard (null if none yet).</summary>
public sealed record EntityLocation(string Type, string EntityId, string ShardId, string? Address, bool Active);
