using MegaFlow.Node.Tests.Client;

namespace MegaFlow.Management.Tests.Infrastructure;

/// <summary>
/// One 3-process cluster shared by the tests that leave its membership alone: node 0 has the
/// scheduler and worker roles, nodes 1 and 2 are workers, node 2's management API is read-only.
/// The local-process provider runs the tasks' commands for real.
/// </summary>
public sealed class ManagementClusterFixture : IAsyncLifetime
{
    public const string Token = "test-token-7f3a";

    public NodeProcessCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Cluster = await NodeProcessCluster.StartAsync(3, "", provider: "local",
            env: new Dictionary<string, string> { ["MEGAFLOW_MANAGEMENT_TOKEN"] = Token },
            nodeEnv: i => i switch
            {
                0 => new Dictionary<string, string> { ["MEGAFLOW_ROLES"] = "scheduler,worker" },
                1 => new Dictionary<string, string> { ["MEGAFLOW_ROLES"] = "worker" },
                _ => new Dictionary<string, string> { ["MEGAFLOW_ROLES"] = "worker", ["MEGAFLOW_MANAGEMENT_READONLY"] = "true" },
            });
        await WaitReadyAsync(Cluster, TimeSpan.FromMinutes(2));
        await WaitConvergedAsync(Cluster, TimeSpan.FromMinutes(1));
    }

    public Task<CliResult> Cli(int node, params string[] args) => CliRun.OnAsync(Cluster.Api(node), Token, args);

    public HttpClient Http(int node) => new() { BaseAddress = new Uri($"http://{Cluster.Api(node)}/"), Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>Every node answers /ready with 200 (Up, actors started).</summary>
    public static async Task WaitReadyAsync(NodeProcessCluster cluster, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await CliRun.Eventually(async () =>
        {
            foreach (var i in Enumerable.Range(0, cluster.Nodes.Count))
                if (!await CliRun.IsReadyAsync(http, cluster.Api(i))) return false;
            return true;
        }, timeout, "every node ready", () => string.Join("\n----\n", cluster.Nodes.Select(n => n.Output.Length > 3000 ? n.Output[^3000..] : n.Output)));
    }

    /// <summary>
    /// Every node sees every member Up and reachable. /ready only says a node itself is Up: a peer can
    /// still be Joining in another node's view for a gossip round or two, and `cluster show` on that
    /// node would honestly list it so.
    /// </summary>
    public static async Task WaitConvergedAsync(NodeProcessCluster cluster, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var seen = "";
        await CliRun.Eventually(async () =>
        {
            foreach (var i in Enumerable.Range(0, cluster.Nodes.Count))
            {
                try
                {
                    using var doc = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync($"http://{cluster.Api(i)}/api/cluster"));
                    seen = doc.RootElement.ToString();
                    var members = doc.RootElement.GetProperty("members").EnumerateArray().ToList();
                    if (members.Count != cluster.Nodes.Count || members.Any(m => m.GetProperty("status").GetString() != "up" || !m.GetProperty("reachable").GetBoolean()))
                        return false;
                }
                catch (HttpRequestException) { return false; }
                catch (TaskCanceledException) { return false; }
            }
            return true;
        }, timeout, "every node sees every member up and reachable", () => seen);
    }

    public async Task DisposeAsync()
    {
        if (Cluster is not null) await Cluster.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ManagementClusterCollection : ICollectionFixture<ManagementClusterFixture>
{
    public const string Name = "management cluster";
}
