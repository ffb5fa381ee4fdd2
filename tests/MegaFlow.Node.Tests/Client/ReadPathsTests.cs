using System.Text.Json;
using MegaFlow.Client;
using MegaFlow.Contracts;
using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Node.Tests.Client;

/// <summary>
/// Every way of reading tasks agrees, because they share one read model and one fold: for the same
/// journal, <c>tasks list</c> (HTTP), <c>tasks list --journal</c>, <c>tasks watch</c> (the server's
/// event stream), the client's <c>WatchAsync</c> and <c>tasks export</c> count the same tasks per status.
/// </summary>
/// <remarks>Here because this project reaches both a node process (HTTP, the offline commands) and the client library.</remarks>
public sealed class ReadPathsTests
{
    [Fact]
    public async Task Listing_journal_listing_server_watch_client_watch_and_export_give_the_same_counts()
    {
        await using var cluster = await NodeProcessCluster.StartAsync(1, """megaflow.simulated { provision-latency = "uniform:20-80", exec-latency = "uniform:200-400" }""");
        await using var client = await MegaFlowClient.ConnectAsync(new ClientOptions { Seeds = cluster.Seeds, ExtraHocon = "akka.cluster.split-brain-resolver.stable-after = 5s" });
        var specs = Enumerable.Range(0, 10).Select(i => new TaskSpec
        {
            TaskId = $"paths-{i}",
            Mode = i % 2 == 0 ? "ephemeral" : "persistent",
            Image = "img",
            Actions = ["echo a", "echo b", "echo c"],
            ScoreCommand = i % 3 == 0 ? "exit 1" : "exit 0",
        }).ToList();
        var ids = specs.Select(s => s.TaskId!).ToList();
        await client.SubmitBatchAsync(specs);
        // Some end cancelled (if they have not finished yet), so more than one status is counted.
        await client.CancelAsync("paths-1", "test");
        await client.CancelAsync("paths-2", "test");

        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var clientWatch = new Dictionary<string, TaskStatus>();
        await foreach (var e in client.WatchAsync(ids, deadline.Token))
            if (e.Status.IsTerminal()) clientWatch.Add(e.TaskId, e.Status); // Add: each final state once
        var expected = Count(clientWatch.Values.Select(StatusNames.Format));
        Assert.Equal(10, expected.Values.Sum());

        var cli = new Dictionary<string, string>();
        var api = cluster.Api(0);

        using var watch = MegaflowProcess.Start(cli, ["tasks", "watch", "--json", "--node", api, .. ids]);
        Assert.Equal(0, await watch.WaitForExitAsync(TimeSpan.FromMinutes(1)));
        var serverWatch = watch.Output.Split('\n').Where(l => l.TrimStart().StartsWith('{'))
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("terminal", out var t) && t.GetBoolean())
            .Select(e => e.GetProperty("status").GetString()!);
        Assert.Equal(expected, Count(serverWatch));

        using var list = MegaflowProcess.Start(cli, "tasks", "list", "--json", "--node", api);
        Assert.Equal(0, await list.WaitForExitAsync(TimeSpan.FromMinutes(1)));
        Assert.Equal(expected, Counts(list.Output));

        var journal = new Dictionary<string, string>
        {
            ["MEGAFLOW_PERSISTENCE"] = "postgres",
            ["MEGAFLOW_CONNECTION_STRING"] = cluster.ConnectionString,
            ["MEGAFLOW_DATA_DIR"] = Path.Combine(Path.GetTempPath(), "megaflow-paths-" + Guid.NewGuid().ToString("N")[..8]),
            ["MEGAFLOW_PORT"] = MegaflowProcess.FreePort().ToString(),
        };
        using var offline = MegaflowProcess.Start(journal, "tasks", "list", "--journal", "--json");
        Assert.Equal(0, await offline.WaitForExitAsync(TimeSpan.FromMinutes(1)));
        Assert.Equal(expected, Counts(offline.Output));

        var output = Path.Combine(journal["MEGAFLOW_DATA_DIR"], "export.jsonl");
        Directory.CreateDirectory(journal["MEGAFLOW_DATA_DIR"]);
        using var export = MegaflowProcess.Start(journal, "tasks", "export", output);
        Assert.Equal(0, await export.WaitForExitAsync(TimeSpan.FromMinutes(1)));
        var exported = File.ReadAllLines(output).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("status").GetString()!);
        Assert.Equal(expected, Count(exported));
        Directory.Delete(journal["MEGAFLOW_DATA_DIR"], recursive: true);
    }

    private static SortedDictionary<string, int> Count(IEnumerable<string> statuses) =>
        new(statuses.GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count()));

    // The "counts" object of a `tasks list --json` answer (the API's and the journal listing's).
    private static SortedDictionary<string, int> Counts(string output)
    {
        var json = JsonDocument.Parse(output[output.IndexOf('{')..]).RootElement;
        return new(json.GetProperty("counts").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32()));
    }
}
