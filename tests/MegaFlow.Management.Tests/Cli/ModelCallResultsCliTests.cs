using System.Text.Json.Nodes;
using MegaFlow.Cli;
using MegaFlow.Cli.CommandLine;
using MegaFlow.Contracts.Management;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Management.Tests.Infrastructure;
using MegaFlow.Node;
using static MegaFlow.Domain.Tests.Results.ModelCallJournal;

namespace MegaFlow.Management.Tests.Cli;

/// <summary>
/// `tasks show` of a task whose agent called a model (its detail served by a loopback stand-in for
/// the management API, in the shape the API gives), and the export's summary table; a task
/// without model calls must print exactly what it did before.
/// </summary>
public sealed class ModelCallResultsCliTests
{
    /// <summary>`tasks show ID` against a server answering with <paramref name="detail"/>: exit code and standard output.</summary>
    private static async Task<(int Code, string Output)> Show(string id, JsonObject detail)
    {
        using var api = new LoopbackApi((method, path, _) =>
            method == "GET" && path == $"/api/tasks/{id}" ? (200, detail.ToJsonString(ManagementJson.Options)) : (404, """{"error":"not_found","message":"no"}"""));
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await MegaFlowCommandLine.RunAsync(["tasks", "show", id, "--node", api.Address], new CliHost(output, error, _ => null));
        Assert.True(code == 0, error.ToString());
        return (code, output.ToString());
    }

    private static string[] Lines(string output) => output.Split('\n');

    [Fact]
    public async Task Show_gives_the_totals_each_steps_weight_versions_and_tokens_and_every_call()
    {
        var (_, output) = await Show("t-1", TaskDetail.ToJson(WithCalls("t-1")));

        Assert.Single(Lines(output), l => l.Contains("model") && l.Contains("4 calls (1 failed), tokens 400 in / 75 out, latency ms 1295 mean / 60 p50 / 5000 p99"));
        Assert.Single(Lines(output), l => l.Contains("weight versions") && l.Contains("3, 4"));
        // Per step: round 1's two calls (weights 3 and 4, 230 / 45 tokens), round 2's one, and the final decision without a step.
        Assert.Single(Lines(output), l => l.Contains("cat setup.py") && l.Contains("3, 4") && l.Contains("230") && l.Contains("45") && l.Contains("100"));
        Assert.Single(Lines(output), l => l.Contains("pytest -q") && l.Contains("170") && l.Contains("30"));
        Assert.Single(Lines(output), l => l.Contains("(no step)") && l.Contains("5000"));
        // Every call, with the path of its record in the artifact store.
        foreach (var c in WithCalls("t-1").ModelCalls)
            Assert.Single(Lines(output), l => l.Contains(c.Path) && l.Contains(c.Route) && l.Contains(c.PromptTokens.ToString()) && l.Contains(c.Status.ToString()));
        Assert.Single(Lines(output), l => l.Contains("upstream timed out") && l.Contains("504"));
    }

    [Fact]
    public async Task A_task_without_model_calls_shows_as_before_from_a_new_node_or_an_old_one()
    {
        var state = Fold(Events("t-2", []));
        var (_, output) = await Show("t-2", TaskDetail.ToJson(state));

        Assert.DoesNotContain("model", output);
        Assert.DoesNotContain("weight", output);
        Assert.DoesNotContain("round", output);
        Assert.Single(Lines(output), l => l.Contains("steps") && l.Contains('2'));

        // A node from before model calls sends no modelCalls at all: the same output.
        var old = TaskDetail.ToJson(state);
        Assert.True(old.Remove("modelCalls"));
        Assert.Equal(output, (await Show("t-2", old)).Output);
    }

    [Fact]
    public void The_summary_adds_model_calls_tokens_and_latency_per_dataset_and_group()
    {
        var tasks = new List<TaskState>
        {
            WithCalls("a#r1"),
            Fold(Events("a#r2", [Call("a#r2", 1, 1, 5, prompt: 50, completion: 10, latencyMs: 20)], passed: false)),
        };
        var tables = TasksCommand.Summary(tasks);
        Assert.Equal(2, tables.Count);
        var output = Render(tables[1]);

        Assert.Contains("model calls (latency in ms)", output);
        Assert.Equal(["dataset / group", "calls", "tokens in", "tokens out", "mean", "p50", "p99"], Cells(Assert.Single(Lines(output), l => l.Contains("dataset / group"))));
        // The dataset and its group of two: five calls, 450 / 85 tokens, latency pooled over all of them.
        Assert.Equal(["demo", "5", "450", "85", "1040", "60", "5000"], Cells(Assert.Single(Lines(output), l => l.Contains("demo"))));
        Assert.Equal(["g", "5", "450", "85", "1040", "60", "5000"], Cells(Assert.Single(Lines(output), l => l.Contains(" g "))));
        // Both tables fit an 80-column terminal (the width a redirected console gets by default).
        Assert.All(tables, t => Assert.All(Lines(Render(t, 80)), l => Assert.True(l.TrimEnd().Length <= 80, l)));
        Assert.DoesNotContain("…", Render(tables[1], 80));
    }

    [Fact]
    public void Without_model_calls_the_summary_is_the_table_it_was()
    {
        var output = Render(Assert.Single(TasksCommand.Summary([Fold(Events("a#r1", [])), Fold(Events("a#r2", [], passed: false))])));

        Assert.Equal(["dataset / group", "tasks", "passed", "infra", "mean reward", "pass@1", "pass@k"],
            Cells(Assert.Single(Lines(output), l => l.Contains("dataset / group"))));
        Assert.DoesNotContain("model", output);
        Assert.Single(Lines(output), l => l.Contains("demo") && l.Contains("0.50"));
    }

    private static string[] Cells(string row) => row.Split('│', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string Render(Spectre.Console.Rendering.IRenderable table, int? width = null)
    {
        var text = new StringWriter();
        var console = CliContext.CreateConsole(text);
        if (width is { } w) console.Profile.Width = w;
        console.Write(table);
        return text.ToString();
    }
}
