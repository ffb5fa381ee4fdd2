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
/// in-process. A randomly initialised policy never writes a bash block, so with swe-v1 these tasks
/// would fail on format; with guided_choice each reply is one of the candidates, and every task is
/// scored.
/// </summary>
public sealed class ChoiceAgentTaskTests(ITestOutputHelper output)
{
    private const string ModelName = "choice-e2e";

    // All as long as "submit" (6 bytes): under a random byte-level policy a candidate's log-prob falls
    // by about ln(259) per byte, so with unequal lengths the shortest one would win every time; equal
    // lengths leave the choice to the policy's (random, context-dependent) preferences.
    private static readonly string[] Actions = [">a.txt", "cat a*", "ls -la"];

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
            var specs = Enumerable.Range(0, 50).Select(i => Specs.Simple($"choice-{i:D2}", score: "test -f a.txt") with
            {
                Actions = Actions,
                MaxRounds = 4,
                MaxInfraRetries = 0, // an endpoint failure must show, not be retried away
                Agent = new AgentSpec { Kind = AgentKinds.Model, Template = AgentSpec.ChoiceTemplate },
                Metadata = new Dictionary<string, string> { [TaskSpecValidator.ProblemStatementKey] = "Create a.txt holding the word one." },
            }).ToList();
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
            Assert.All(states, s =>
            {
                Assert.True(s.Status == TaskStatus.Completed, $"{s.TaskId} is {s.Status}: {s.FailureReason}");
                Assert.NotNull(s.Score);
                Assert.InRange(s.Steps.Count, 0, 4);
                Assert.All(s.Steps, step => Assert.Contains(step.Command, Actions));
                // The score is the environment's: a.txt exists exactly when the echo ran.
                Assert.Equal(s.Steps.Any(step => step.Command == ">a.txt"), s.Score!.Passed);
            });
            // Every call was answered with a candidate: one call per decision, none retried for format.
            var submits = states.Count(s => s.Steps.Count < 4);
            Assert.Equal(states.Sum(s => s.Steps.Count) + submits, counters.RequestsCompleted);
            // With equal-length candidates the seed-11 policy submits early in some tasks and creates
            // a.txt in about half (28 to 29 of 50 over runs here): both paths of the loop are exercised.
            Assert.True(submits > 0, "no task submitted before its last round");
            Assert.Contains(states, s => s.Score!.Passed);
            Assert.Contains(states, s => !s.Score!.Passed);
        }
        finally
        {
            await server.DisposeAsync();
            engine.Dispose();
        }
    }
}
