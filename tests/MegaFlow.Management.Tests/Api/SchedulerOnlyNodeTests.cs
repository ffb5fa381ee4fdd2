using System.Net;
using MegaFlow.Management.Tests.Infrastructure;
using MegaFlow.Node.Tests.Client;

namespace MegaFlow.Management.Tests.Api;

/// <summary>
/// A node that hosts no shards (a standby scheduler) still serves the sharding, environment and
/// task palettes: it answers through its shard-region proxies.
/// </summary>
public sealed class SchedulerOnlyNodeTests
{
    [Fact]
    public async Task A_scheduler_only_node_answers_sharding_environment_and_task_queries_through_its_proxies()
    {
        await using var cluster = await NodeProcessCluster.StartAsync(2, "", provider: "local",
            env: new Dictionary<string, string> { ["MEGAFLOW_MANAGEMENT_TOKEN"] = ManagementClusterFixture.Token },
            nodeEnv: i => new Dictionary<string, string> { ["MEGAFLOW_ROLES"] = i == 0 ? "scheduler,worker" : "scheduler" });
        await ManagementClusterFixture.WaitReadyAsync(cluster, TimeSpan.FromMinutes(2));
        Task<CliResult> Cli(params string[] args) => CliRun.OnAsync(cluster.Api(1), ManagementClusterFixture.Token, args);

        var file = TestDatasets.Write("standby", 3);
        (await Cli("tasks", "submit", file, "--watch")).Ok();

        var types = await Cli("sharding", "types");
        Assert.Equal(0, types.ExitCode);
        Assert.Contains("task", types.Output);
        Assert.Contains("environment", types.Output);

        var regions = await Cli("sharding", "regions", "task");
        Assert.Equal(0, regions.ExitCode);
        Assert.Contains(cluster.Address(0), regions.Output);
        Assert.DoesNotContain(cluster.Address(1), regions.Output); // it hosts none

        var envs = await Cli("envs", "list");
        Assert.Equal(0, envs.ExitCode);
        var located = await Cli("sharding", "locate", "task", "standby-000");
        Assert.Equal(0, located.ExitCode);

        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://{cluster.Api(1)}/api/environments")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://{cluster.Api(1)}/ready")).StatusCode);
    }
}
