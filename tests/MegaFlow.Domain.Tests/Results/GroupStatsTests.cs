using MegaFlow.Contracts.Results;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;

namespace MegaFlow.Domain.Tests.Results;

public sealed class GroupStatsTests
{
    [Theory]
    [InlineData(10, 0, 1, 0.0)]
    [InlineData(10, 10, 1, 1.0)]
    [InlineData(10, 3, 1, 0.3)]
    [InlineData(4, 1, 2, 0.5)]       // 1 - C(3,2)/C(4,2) = 1 - 3/6
    [InlineData(16, 4, 8, 0.9615384615384616)] // 1 - C(12,8)/C(16,8) = 1 - 495/12870
    [InlineData(2, 1, 5, 1.0)]       // fewer samples than k: any pass counts
    [InlineData(0, 0, 1, 0.0)]
    public void Pass_at_k_matches_the_unbiased_estimator(int n, int c, int k, double expected) =>
        Assert.Equal(expected, GroupStats.PassAtK(n, c, k), 9);

    [Fact]
    public void Groups_aggregate_replicas_and_exclude_infrastructure_failures_from_rewards()
    {
        var tasks = new[]
        {
            Done("a#r1", "a", passed: true),
            Done("a#r2", "a", passed: false),
            Done("a#r3", "a", passed: true),
            InfraFailed("a#r4", "a"),
            Done("b#r1", "b", passed: false),
        };
        var groups = GroupStats.ByGroup(tasks, k: 2).ToDictionary(g => g.Key);

        var a = groups["a"];
        Assert.Equal(4, a.Tasks);
        Assert.Equal(4, a.Finished);
        Assert.Equal(2, a.Passed);
        Assert.Equal(1, a.InfraFailed);
        Assert.Equal(2.0 / 3, a.MeanReward, 9);   // the infra failure is not a zero reward
        Assert.Equal(2.0 / 3, a.PassAt1, 9);
        Assert.Equal(1.0, a.PassAtK, 9);           // 1 - C(1,2)/C(3,2) = 1
        Assert.Equal(0.0, groups["b"].PassAtK);

        var datasets = GroupStats.ByDataset(tasks, k: 2);
        Assert.Equal("demo", Assert.Single(datasets).Key);
        Assert.Equal(5, datasets[0].Tasks);
        Assert.Equal((2.0 / 3 + 0) / 2, datasets[0].PassAt1, 9); // mean over groups a and b, not pooled
        Assert.Equal((1.0 + 0) / 2, datasets[0].PassAtK, 9);
    }

    [Fact]
    public void Groups_and_datasets_add_up_model_calls_tokens_and_latency()
    {
        var tasks = new[]
        {
            ModelCallJournal.WithCalls("a#r1") with { Spec = Done("a#r1", "a", true).Spec },
            Done("a#r2", "a", passed: false), // no calls: adds nothing
            Done("b#r1", "b", passed: true) with { ModelCalls = [ModelCallJournal.Call("b#r1", 1, 1, 5, prompt: 50, completion: 10, latencyMs: 20)] },
        };

        var groups = GroupStats.ByGroup(tasks, k: 2).ToDictionary(g => g.Key);
        var a = groups["a"].Model;
        Assert.Equal((4, 1, 400L, 75L), (a.Calls, a.FailedCalls, a.PromptTokens, a.CompletionTokens));
        Assert.Equal([3L, 4L], a.WeightVersions);
        Assert.Equal((1, 50L, 10L), (groups["b"].Model.Calls, groups["b"].Model.PromptTokens, groups["b"].Model.CompletionTokens));

        // A dataset pools its calls: percentiles over all five, not an average of its groups'.
        var d = Assert.Single(GroupStats.ByDataset(tasks, k: 2)).Model;
        Assert.Equal((5, 450L, 85L), (d.Calls, d.PromptTokens, d.CompletionTokens));
        Assert.Equal((20 + 40 + 60 + 80 + 5000) / 5.0, d.MeanLatencyMs, 9);
        Assert.Equal(60, d.P50LatencyMs);
        Assert.Equal(5000, d.P99LatencyMs);
        Assert.Equal([3L, 4L, 5L], d.WeightVersions);

        // Tasks without model calls (every journal before the gateway): zero usage, nothing else changes.
        Assert.Equal(0, GroupStats.ByGroup([Done("c#r1", "c", true)], k: 1)[0].Model.Calls);
    }

    private static TaskState Done(string id, string group, bool passed) => new()
    {
        TaskId = id,
        Status = TaskStatus.Completed,
        Spec = new TaskSpec { TaskId = id, Metadata = new Dictionary<string, string> { ["group"] = group, ["dataset"] = "demo" } },
        Score = new Score(passed ? 0 : 1, "", passed ? 1 : 0),
    };

    private static TaskState InfraFailed(string id, string group) => Done(id, group, false) with
    {
        Status = TaskStatus.Failed, Score = null, FailureKind = FailureKind.Infrastructure,
    };
}
