using System.Text.Json;
using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Cluster.Tests.Infrastructure;

/// <summary>
/// A set of model-agent tasks (template choice-v1) that a randomly initialised policy can run to the
/// end, and what must hold of them once they are over — shared by the local-process and Docker runs.
/// </summary>
public static class ChoiceTaskSet
{
    // All as long as "submit" (6 bytes): under a random byte-level policy a candidate's log-prob falls
    // by about ln(259) per byte, so with unequal lengths the shortest one would win every time; equal
    // lengths leave the choice to the policy's (random, context-dependent) preferences.
    public static readonly string[] Actions = [">a.txt", "cat a*", "ls -la"];

    public const int MaxRounds = 4;

    public static IReadOnlyList<TaskSpec> Specs(string prefix, int count, Func<TaskSpec, TaskSpec>? adapt = null) =>
        Enumerable.Range(0, count).Select(i => (adapt ?? (s => s))(Infrastructure.Specs.Simple($"{prefix}-{i:D2}", score: "test -f a.txt") with
        {
            Actions = Actions,
            MaxRounds = MaxRounds,
            MaxInfraRetries = 0, // an endpoint failure must show, not be retried away
            Agent = new AgentSpec { Kind = AgentKinds.Model, Template = AgentSpec.ChoiceTemplate },
            Metadata = new Dictionary<string, string> { [TaskSpecValidator.ProblemStatementKey] = "Create a.txt holding the word one." },
        })).ToList();

    /// <summary>
    /// Every task completed with only candidate commands, scored by its environment; every decision was
    /// one model call through the gateway, recorded with the weight version and token ids that produced it.
    /// Returns the number of model calls.
    /// </summary>
    public static int AssertRanThrough(IReadOnlyList<TaskState> states, long weightVersion)
    {
        Assert.All(states, s =>
        {
            Assert.True(s.Status == TaskStatus.Completed, $"{s.TaskId} is {s.Status}: {s.FailureReason}");
            Assert.InRange(s.Steps.Count, 0, MaxRounds);
            Assert.All(s.Steps, step => Assert.Contains(step.Command, Actions));
            // The score is the environment's: a.txt exists exactly when that command ran.
            Assert.Equal(s.Steps.Any(step => step.Command == ">a.txt"), s.Score!.Passed);
            // One call per decision: each step's, and the submit's (a round with no step) unless the round limit submitted.
            var decisions = s.Steps.Count < MaxRounds ? s.Steps.Count + 1 : s.Steps.Count;
            Assert.Equal(Enumerable.Range(1, decisions), s.ModelCalls.Select(c => c.Round));
            Assert.All(s.ModelCalls, c =>
            {
                Assert.Equal((200, weightVersion), (c.Status, c.WeightVersion));
                Assert.True(c.PromptTokens > 0 && c.CompletionTokens > 0, $"{s.TaskId} round {c.Round}: {c.PromptTokens}/{c.CompletionTokens} tokens");
                var record = JsonDocument.Parse(File.ReadAllBytes(c.Path)).RootElement;
                Assert.Equal(c.PromptTokens, record.GetProperty("prompt_token_ids").GetArrayLength());
                Assert.Equal(c.CompletionTokens, record.GetProperty("choices")[0].GetProperty("token_ids").GetArrayLength());
            });
        });
        // Both paths of the loop are exercised: some tasks submit early, some create a.txt and some do not.
        Assert.Contains(states, s => s.Steps.Count < MaxRounds);
        Assert.Contains(states, s => s.Score!.Passed);
        Assert.Contains(states, s => !s.Score!.Passed);
        return states.Sum(s => s.ModelCalls.Count);
    }
}
