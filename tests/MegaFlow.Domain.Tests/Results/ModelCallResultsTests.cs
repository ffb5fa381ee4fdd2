using System.Text.Json;
using System.Text.Json.Nodes;
using MegaFlow.Contracts.Management;
using MegaFlow.Contracts.Results;
using MegaFlow.Contracts.Tasks;
using static MegaFlow.Domain.Tests.Results.ModelCallJournal;

namespace MegaFlow.Domain.Tests.Results;

/// <summary>
/// The results side of model calls, over journals with ModelCallRecorded events: the task detail's
/// per-step usage, the export line, and the usage sums behind them. Journals from before model
/// calls must read and render exactly as they did.
/// </summary>
public sealed class ModelCallResultsTests
{
    [Fact]
    public void Usage_counts_calls_failures_tokens_latency_percentiles_and_weight_versions()
    {
        var u = ModelUsage.Of(Calls("t"));
        Assert.Equal((4, 1, 400L, 75L), (u.Calls, u.FailedCalls, u.PromptTokens, u.CompletionTokens));
        Assert.Equal((40 + 60 + 80 + 5000) / 4.0, u.MeanLatencyMs, 9);
        Assert.Equal(60, u.P50LatencyMs);   // nearest rank: the 2nd of 4
        Assert.Equal(5000, u.P99LatencyMs); // the slowest of 4
        Assert.Equal([3L, 4L], u.WeightVersions); // the call without a version adds none
        Assert.Equal("3, 4", u.VersionsText());
        Assert.Equal("4 calls (1 failed), tokens 400 in / 75 out, latency ms 1295 mean / 60 p50 / 5000 p99", u.Describe());

        var rounds = ModelUsage.ByRound(Calls("t"));
        Assert.Equal([1, 2, 3], rounds.Keys);
        Assert.Equal((2, 230L, 45L), (rounds[1].Calls, rounds[1].PromptTokens, rounds[1].CompletionTokens));
        Assert.Equal([4L], rounds[2].WeightVersions);
        Assert.Equal(1, rounds[3].FailedCalls);

        Assert.Equal(0, ModelUsage.Of([]).Calls);
    }

    [Fact]
    public void The_folded_journal_keeps_the_attempts_calls_in_order()
    {
        var s = WithCalls("t");
        Assert.Equal(TaskStatus.Completed, s.Status);
        Assert.Equal(Calls("t").Select(c => c.Path), s.ModelCalls.Select(c => c.Path));
    }

    [Fact]
    public void The_task_detail_gives_each_step_its_calls_usage_and_the_attempt_its_total()
    {
        var detail = TaskDetail.ToJson(WithCalls("t"));
        var steps = detail["steps"]!.AsArray();
        var first = steps[0]!["model"]!;
        Assert.Equal(2, first["calls"]!.GetValue<int>());
        Assert.Equal([3L, 4L], first["weightVersions"]!.AsArray().Select(v => v!.GetValue<long>()));
        Assert.Equal(230, first["promptTokens"]!.GetValue<long>());
        Assert.Equal(45, first["completionTokens"]!.GetValue<long>());
        Assert.Equal(1, steps[1]!["model"]!["calls"]!.GetValue<int>());
        Assert.Equal(4, detail["modelUsage"]!["calls"]!.GetValue<int>());
        Assert.Equal(4, detail["modelCalls"]!.AsArray().Count);

        // It still reads as the task's state, calls and all (what `tasks show` deserializes).
        var read = JsonSerializer.Deserialize<TaskState>(detail.ToJsonString(), ManagementJson.Options)!;
        Assert.Equal(WithCalls("t").ModelCalls, read.ModelCalls);
    }

    [Fact]
    public void A_task_without_model_calls_has_the_detail_it_always_had()
    {
        var s = Fold(Events("t", []));
        var detail = TaskDetail.ToJson(s);
        Assert.Equal(JsonSerializer.Serialize(s, ManagementJson.Options), detail.ToJsonString(ManagementJson.Options));
        Assert.False(detail.ContainsKey("modelUsage"));
        Assert.All(detail["steps"]!.AsArray(), st => Assert.False(st!.AsObject().ContainsKey("model")));
    }

    [Fact]
    public void An_export_line_lists_every_call_with_its_record_path_and_the_totals()
    {
        var line = JsonNode.Parse(TaskExportLine.Of(WithCalls("t")).ToJson())!.AsObject();
        var calls = line["modelCalls"]!.AsArray();
        Assert.Equal(Calls("t").Select(c => c.Path), calls.Select(c => c!["path"]!.GetValue<string>()));
        Assert.Equal("t/attempt-1/model-calls/round-001-c1.json", calls[0]!["path"]!.GetValue<string>());
        Assert.Equal(3, calls[0]!["weightVersion"]!.GetValue<long>());
        Assert.Equal((100, 20), (calls[0]!["promptTokens"]!.GetValue<int>(), calls[0]!["completionTokens"]!.GetValue<int>()));
        Assert.Equal("upstream timed out", calls[3]!["error"]!.GetValue<string>());
        Assert.Null(calls[3]!["weightVersion"]);
        Assert.Equal(400, line["model"]!["promptTokens"]!.GetValue<long>());
        Assert.Equal(75, line["model"]!["completionTokens"]!.GetValue<long>());
        Assert.Equal(5000, line["model"]!["p99LatencyMs"]!.GetValue<double>());
        Assert.Equal(2, line["steps"]!.GetValue<int>());
    }

    [Fact]
    public void A_journal_from_before_model_calls_exports_the_line_it_always_did()
    {
        var line = TaskExportLine.Of(Fold(Events("old", []))).ToJson();
        // The line the export wrote before model calls were recorded, field for field.
        Assert.Equal("""{"taskId":"old","status":"completed","attempts":1,"dataset":"demo","group":"g","reward":1,"scoreExitCode":0,"failure":null,"failureKind":null,"steps":2,"trajectory":"journal:task-old","artifacts":[],"submittedAt":"2026-01-01T00:00:00+00:00","finishedAt":"2026-01-01T00:00:31+00:00"}""", line);
    }
}
