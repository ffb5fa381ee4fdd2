using MegaFlow.Agents.Tests;
using MegaFlow.Cluster.Tests.Infrastructure;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Hosting;

namespace MegaFlow.Cluster.Tests;

/// <summary>
/// Tasks whose spec names the model agent, run by the node's own agent router (nothing injected) on
/// the local-process provider: a model endpoint that cannot be reached or keeps answering 5xx fails
/// the attempt as an infrastructure failure naming the endpoint, retried on the infrastructure budget;
/// a working endpoint drives the rounds to a scored result.
/// </summary>
public sealed class ModelAgentTaskTests
{
    // Fast retries so a test waits on the behaviour, not on production backoff.
    private const string FastRetries = """
        megaflow.agents.retries = 1
        megaflow.agents.retry-backoff = 50ms
        megaflow.agents.request-timeout = 10s
        """;

    private static TaskSpec ModelTask(string id, string endpoint, int maxInfraRetries = 1) => Specs.Simple(id, score: "test -f done.txt") with
    {
        Actions = null,
        MaxInfraRetries = maxInfraRetries,
        Agent = new AgentSpec { Kind = AgentKinds.Model, Endpoint = endpoint, Model = "tiny" },
        Metadata = new Dictionary<string, string> { [TaskSpecValidator.ProblemStatementKey] = "Create done.txt." },
    };

    [Fact]
    public async Task An_unreachable_endpoint_fails_every_attempt_as_infrastructure_naming_it_until_the_infra_budget_is_spent()
    {
        using var closed = new ClosedPort();
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartAsync(storage, workers: 1, provider: "local", extraHocon: FastRetries);
        var tasks = cluster.Nodes[0].Refs.Tasks;
        var spec = ModelTask("model-unreachable", closed.BaseUrl, maxInfraRetries: 2);

        await TestCluster.SubmitAllAsync(tasks, [spec]);
        var state = Assert.Single(await TestCluster.WaitForTerminalAsync(tasks, [spec.TaskId!], TimeSpan.FromSeconds(60)));

        Assert.Equal(TaskStatus.Failed, state.Status);
        Assert.Equal(FailureKind.Infrastructure, state.FailureKind);
        Assert.Equal(3, state.Attempt); // the first attempt and maxInfraRetries = 2 more
        var events = (await storage.Journal().ReadAllAsync("task-" + spec.TaskId)).Select(r => r.Event).ToList();
        var retried = events.OfType<TaskEvents.AttemptFailed>().ToList();
        var failed = Assert.Single(events.OfType<TaskEvents.Failed>());
        Assert.Equal([1, 2], retried.Select(e => e.Attempt));
        Assert.Equal(3, failed.Attempt);
        Assert.All(retried.Select(e => (e.Kind, e.Reason)).Append((failed.Kind, failed.Reason)), f =>
        {
            Assert.Equal(FailureKind.Infrastructure, f.Kind);
            Assert.Contains($"model endpoint {closed.BaseUrl}", f.Reason);
            Assert.Contains("failed 2 time(s) in a row", f.Reason); // the first call and megaflow.agents.retries = 1
        });
        Assert.Empty(events.OfType<TaskEvents.StepRecorded>());
    }

    [Fact]
    public async Task An_endpoint_answering_5xx_fails_the_attempt_as_infrastructure_after_the_agents_retries()
    {
        await using var server = new ChatServer(_ => (502, "upstream engine down"));
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartAsync(storage, workers: 1, provider: "local", extraHocon: FastRetries);
        var tasks = cluster.Nodes[0].Refs.Tasks;
        var spec = ModelTask("model-5xx", server.BaseUrl, maxInfraRetries: 1);

        await TestCluster.SubmitAllAsync(tasks, [spec]);
        var state = Assert.Single(await TestCluster.WaitForTerminalAsync(tasks, [spec.TaskId!], TimeSpan.FromSeconds(60)));

        Assert.Equal(TaskStatus.Failed, state.Status);
        Assert.Equal(FailureKind.Infrastructure, state.FailureKind);
        Assert.Contains($"model endpoint {server.BaseUrl}", state.FailureReason);
        Assert.Contains("HTTP 502", state.FailureReason);
        // Two attempts, each one call and one retry.
        Assert.Equal(4, server.Requests.Count);
        var failed = Assert.Single((await storage.Journal().ReadAllAsync("task-" + spec.TaskId)).Select(r => r.Event).OfType<TaskEvents.Failed>());
        Assert.Equal(FailureKind.Infrastructure, failed.Kind);
    }

    [Fact]
    public async Task A_model_drives_the_rounds_and_the_environment_is_scored()
    {
        await using var server = ChatServer.Replying(
            "I will create the file.\n```bash\necho ok > done.txt\n```",
            "```bash\ncat done.txt\n```",
            "Done.\n```bash\nsubmit\n```");
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartAsync(storage, workers: 1, provider: "local", extraHocon: FastRetries);
        var tasks = cluster.Nodes[0].Refs.Tasks;
        var spec = ModelTask("model-solves", server.BaseUrl);

        await TestCluster.SubmitAllAsync(tasks, [spec]);
        var state = Assert.Single(await TestCluster.WaitForTerminalAsync(tasks, [spec.TaskId!], TimeSpan.FromSeconds(60)));

        Assert.Equal(TaskStatus.Completed, state.Status);
        Assert.Equal(1.0, state.Score!.Reward);
        Assert.Equal(["echo ok > done.txt", "cat done.txt"], state.Steps.Select(s => s.Command));
        Assert.Equal("ok\n", state.Steps[1].Output);
        // The third call saw both earlier commands and the second one's output.
        var third = server.Requests.ElementAt(2).Body.GetProperty("messages").GetRawText();
        Assert.Contains("cat done.txt", third);
        Assert.Contains("Create done.txt.", third);
    }
}
