using System.Text.Json;
using MegaFlow.Management.Tests.Infrastructure;
using MegaFlow.Node.Tests.Client;

namespace MegaFlow.Management.Tests.Api;

/// <summary>
/// `cluster leave`, `cluster down` and `cluster down-unreachable` on a cluster of its own (they shrink
/// it). The split-brain resolver waits an hour here, so only the operator downs members.
/// </summary>
public sealed class MembershipTests
{
    private const string Token = "membership-token";

    [Fact]
    public async Task Leave_hands_shards_over_with_no_task_lost_then_down_and_down_unreachable_remove_killed_nodes()
    {
        await using var cluster = await NodeProcessCluster.StartAsync(4, "akka.cluster.split-brain-resolver.stable-after = 1h", provider: "local",
            env: new Dictionary<string, string> { ["MEGAFLOW_MANAGEMENT_TOKEN"] = Token },
            nodeEnv: i => new Dictionary<string, string> { ["MEGAFLOW_ROLES"] = i == 0 ? "scheduler,worker" : "worker" });
        await ManagementClusterFixture.WaitReadyAsync(cluster, TimeSpan.FromMinutes(2));
        Task<CliResult> Cli(params string[] args) => CliRun.OnAsync(cluster.Api(0), Token, args);
        string Logs() => string.Join("\n----\n", cluster.Nodes.Select(n => n.Output.Length > 4000 ? n.Output[^4000..] : n.Output));

        // Tasks that run long enough to be mid-run on every node when node 1 leaves.
        var file = TestDatasets.Write("leave", 24, action: "sleep 8");
        (await Cli("tasks", "submit", file)).Ok();
        var leaving = cluster.Address(1);
        var leavingKey = leaving["akka.tcp://megaflow@".Length..];
        List<string> tasksOnLeaving = [];
        string lastSeen = "";
        await CliRun.Eventually(async () =>
        {
            var shardsRun = await Cli("sharding", "shards", "task", "--entities", "--json");
            var schedulerRun = await Cli("scheduler", "show", "--json");
            lastSeen = shardsRun.Output + "\n" + schedulerRun.Output;
            var shards = shardsRun.Json();
            tasksOnLeaving = shards.GetProperty("regions").EnumerateArray()
                .Where(r => r.GetProperty("address").GetString() == leaving)
                .SelectMany(r => r.GetProperty("shards").EnumerateArray().SelectMany(s => s.GetProperty("entityIds").EnumerateArray().Select(e => e.GetString()!)))
                .ToList();
            var scheduler = schedulerRun.Json();
            var runningThere = scheduler.GetProperty("semaphores").EnumerateArray().Any(s => s.GetProperty("name").GetString()!.StartsWith($"node:{leavingKey}~", StringComparison.Ordinal) && s.GetProperty("used").GetInt32() > 0);
            return tasksOnLeaving.Count > 0 && runningThere;
        }, TimeSpan.FromMinutes(1), "tasks running on node 1", () => lastSeen + "\n" + Logs());

        var leave = await Cli("cluster", "leave", leaving);
        Assert.Equal(0, leave.ExitCode);
        Assert.Contains("is leaving", leave.Output);
        Assert.Equal(0, await cluster.Nodes[1].WaitForExitAsync(TimeSpan.FromMinutes(1))); // a graceful exit

        // No task is lost: every one reaches completion; those whose actor lived on node 1 now live elsewhere.
        var watch = await Cli("tasks", "watch", "--file", file);
        Assert.Equal(0, watch.ExitCode);
        for (var i = 0; i < 24; i++) Assert.Contains($"leave-{i:D3} completed", watch.Output);
        var regions = await Cli("sharding", "regions", "task");
        Assert.DoesNotContain(leaving, regions.Output);
        var located = (await Cli("sharding", "locate", "task", tasksOnLeaving[0], "--json")).Json();
        Assert.NotEqual(leaving, located.GetProperty("address").GetString());
        var stats = (await Cli("sharding", "stats", "task", "--json")).Json();
        Assert.DoesNotContain(leaving, stats.GetProperty("regions").EnumerateArray().Select(r => r.GetProperty("address").GetString()));

        // A killed node is unreachable until an operator downs it; then it is removed.
        cluster.Nodes[2].Signal("KILL");
        await WaitUnreachable(Cli, [cluster.Address(2)], Logs);
        var down = await Cli("cluster", "down", cluster.Address(2));
        Assert.Equal(0, down.ExitCode);
        await WaitMembers(Cli, [cluster.Address(0), cluster.Address(3)], Logs);

        cluster.Nodes[3].Signal("KILL");
        await WaitUnreachable(Cli, [cluster.Address(3)], Logs);
        var downAll = await Cli("cluster", "down-unreachable");
        Assert.Equal(0, downAll.ExitCode);
        Assert.Contains("downed 1 unreachable member(s)", downAll.Output);
        await WaitMembers(Cli, [cluster.Address(0)], Logs);
        var ready = await new HttpClient().GetAsync($"http://{cluster.Api(0)}/ready");
        Assert.True(ready.IsSuccessStatusCode, await ready.Content.ReadAsStringAsync());
    }

    private static Task WaitUnreachable(Func<string[], Task<CliResult>> cli, string[] addresses, Func<string> logs) =>
        CliRun.Eventually(async () =>
        {
            var view = (await cli(["cluster", "show", "--json"])).Json();
            var unreachable = view.GetProperty("unreachable").EnumerateArray().ToList();
            // Each unreachable member names the members that observe it so.
            return addresses.All(a => unreachable.Any(u => u.GetProperty("address").GetString() == a && u.GetProperty("observers").GetArrayLength() > 0));
        }, TimeSpan.FromSeconds(60), $"{string.Join(", ", addresses)} unreachable", logs);

    private static Task WaitMembers(Func<string[], Task<CliResult>> cli, string[] addresses, Func<string> logs) =>
        CliRun.Eventually(async () =>
        {
            var view = (await cli(["cluster", "show", "--json"])).Json();
            var members = view.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("address").GetString()).OrderBy(a => a).ToList();
            return members.SequenceEqual(addresses.OrderBy(a => a));
        }, TimeSpan.FromSeconds(60), $"members exactly {string.Join(", ", addresses)}", logs);
}
