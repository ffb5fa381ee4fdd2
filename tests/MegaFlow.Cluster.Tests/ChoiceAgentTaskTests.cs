using System.Diagnostics;
using MegaFlow.Cluster.Tests.Infrastructure;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Hosting;
using MegaFlow.Model.Inference;
using MegaFlow.Model.Policy;
using MegaFlow.ModelService.Hosting;
using Xunit.Abstractions;

namespace MegaFlow.Cluster.Tests;

/// <summary>
/// The model agent with the choice-v1 template end to end: a real single node on the local-process
/// provider, its model agent pointed (megaflow.agents.model-endpoint) at our own model service started
/// in-process, every call going through the node's gateway. A randomly initialised policy never writes a bash block, so with swe-v1 these tasks
/// would fail on format; with guided_choice each reply is one of the candidates, and every task is
/// scored.
/// </summary>
public sealed class ChoiceAgentTaskTests(ITestOutputHelper output)
{
    private const string ModelName = "choice-e2e";

    [Fact]
    public async Task Fifty_choice_v1_tasks_against_our_model_service_all_complete_with_only_candidate_commands()
    {
        // Default (tiny) architecture; a context that holds the prompt after four short rounds.
        var engine = new InferenceEngine(PolicyModel.CreateInitial(ModelName, new PolicyConfig { ContextLength = 4096 }, seed: 11));
        var server = await ModelServer.StartAsync(engine);
        try
        {
            var endpoint = new Uri(server.BaseAddress, "v1");
            await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
            await using var cluster = await TestCluster.StartSingleNodeAsync(storage, provider: "local", extraHocon: $"""
                megaflow.agents.model-endpoint = "{endpoint}"
                megaflow.agents.model = {ModelName}
                megaflow.agents.retries = 1
                megaflow.agents.retry-backoff = 50ms
                megaflow.agents.request-timeout = 30s
                """);
            var tasks = cluster.Nodes[0].Refs.Tasks;
            var specs = ChoiceTaskSet.Specs("choice", 50);
            Assert.All(specs, s => Assert.Empty(TaskSpecValidator.Validate(s)));
            var clock = Stopwatch.StartNew();

            await TestCluster.SubmitAllAsync(tasks, specs);
            var states = await TestCluster.WaitForTerminalAsync(tasks, specs.Select(s => s.TaskId!).ToList(), TimeSpan.FromSeconds(120));

            var counters = engine.Counters;
            output.WriteLine($"{states.Count} tasks in {clock.Elapsed.TotalSeconds:0.0} s; model calls {counters.RequestsCompleted}, "
                + $"forward passes {counters.ForwardPasses}, largest batch {counters.LargestBatch}; "
                + $"rewards {string.Join(", ", states.GroupBy(s => s.Score?.Reward).Select(g => $"{g.Key}: {g.Count()}"))}; "
                + $"steps {string.Join(", ", states.SelectMany(s => s.Steps).GroupBy(s => s.Command).Select(g => $"'{g.Key}': {g.Count()}"))}");
            Assert.Equal(50, states.Count);
            var calls = ChoiceTaskSet.AssertRanThrough(states, weightVersion: engine.Current.Version);
            // Every call the model service answered went through the gateway and is in a task's journal.
            Assert.Equal(counters.RequestsCompleted, calls);
        }
        finally
        {
            await server.DisposeAsync();
            engine.Dispose();
        }
    }
}
