using MegaFlow.Management.Tests.Infrastructure;

namespace MegaFlow.Management.Tests.Api;

/// <summary>`cluster show` and the sharding palette against a running 3-process cluster.</summary>
[Collection(ManagementClusterCollection.Name)]
public sealed class ClusterAndShardingTests(ManagementClusterFixture f)
{
    [Fact]
    public async Task Cluster_show_lists_every_member_of_the_3_process_cluster_with_its_roles()
    {
        var table = await f.Cli(1, "cluster", "show");
        Assert.Equal(0, table.ExitCode);
        for (var i = 0; i < 3; i++) Assert.Contains(f.Cluster.Address(i), table.Output);
        Assert.Contains("scheduler,worker", table.Output);
        Assert.Contains("3 member(s), 0 unreachable", table.Output);

        var json = (await f.Cli(2, "cluster", "show", "--json")).Json();
        var members = json.GetProperty("members").EnumerateArray().ToList();
        Assert.Equal(3, members.Count);
        Assert.All(members, m => Assert.Equal("up", m.GetProperty("status").GetString()));
        string[] Roles(int i) => members.Single(m => m.GetProperty("address").GetString() == f.Cluster.Address(i))
            .GetProperty("roles").EnumerateArray().Select(r => r.GetString()!).ToArray();
        Assert.Equal(["scheduler", "worker"], Roles(0));
        Assert.Equal(["worker"], Roles(1));
        Assert.Equal(["worker"], Roles(2));
        Assert.Equal(f.Cluster.Address(0), json.GetProperty("oldestByRole").GetProperty("scheduler").GetString());
        Assert.False(string.IsNullOrEmpty(json.GetProperty("leader").GetString()));
        Assert.Equal(f.Cluster.Address(2), json.GetProperty("self").GetString());
    }

    [Fact]
    public async Task Sharding_palette_lists_types_and_regions_counts_entities_and_locates_a_task()
    {
        var file = TestDatasets.Write("shard", 6);
        (await f.Cli(0, "tasks", "submit", file, "--watch")).Ok();

        var types = await f.Cli(1, "sharding", "types");
        Assert.Equal(0, types.ExitCode);
        Assert.Contains("task", types.Output);
        Assert.Contains("environment", types.Output);

        var regions = await f.Cli(1, "sharding", "regions", "task");
        Assert.Equal(0, regions.ExitCode);
        for (var i = 0; i < 3; i++) Assert.Contains(f.Cluster.Address(i), regions.Output);

        var stats = (await f.Cli(0, "sharding", "stats", "task", "--json")).Json();
        Assert.True(stats.GetProperty("regions").EnumerateArray().Sum(r => r.GetProperty("shards").GetInt32()) >= 1);

        var shards = (await f.Cli(0, "sharding", "shards", "task", "--entities", "--json")).Json();
        var hosting = shards.GetProperty("regions").EnumerateArray()
            .Where(r => r.GetProperty("shards").EnumerateArray().Any(s => s.GetProperty("entityIds").EnumerateArray().Any(e => e.GetString() == "shard-000")))
            .Select(r => r.GetProperty("address").GetString()).ToList();

        var located = (await f.Cli(2, "sharding", "locate", "task", "shard-000", "--json")).Json();
        var address = located.GetProperty("address").GetString();
        Assert.Contains(address, Enumerable.Range(0, 3).Select(f.Cluster.Address));
        // Finished tasks linger briefly and passivate; while the entity runs, both views agree on its node.
        if (located.GetProperty("active").GetBoolean() && hosting.Count == 1) Assert.Equal(hosting[0], address);

        var unknown = await f.Cli(0, "sharding", "stats", "widget");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("no sharded type 'widget'", unknown.Output);
    }
}
