using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using MegaFlow.Actors.Tasks.ReadModel;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Management.Tests.Infrastructure;
using MegaFlow.Node.Tests;
using static MegaFlow.Contracts.Tasks.TaskProtocol;
using static MegaFlow.Domain.Tests.Results.ModelCallJournal;

namespace MegaFlow.Management.Tests.Api;

/// <summary>
/// A node's task detail with model calls recorded the way the gateway records them (RecordModelCall
/// to the task, journaled as ModelCallRecorded): each step carries its calls' usage, the attempt its
/// total, and `tasks show` lists every call; a task without calls answers as before.
/// </summary>
public sealed class ModelCallDetailTests : IAsyncLifetime
{
    private InProcessNode _node = null!;

    public async Task InitializeAsync() => _node = await InProcessNode.StartAsync();

    public async Task DisposeAsync()
    {
        if (_node is not null) await _node.DisposeAsync();
    }

    [Fact]
    public async Task Recorded_calls_show_per_step_in_the_detail_and_in_tasks_show()
    {
        using var http = _node.Http();
        await SubmitAsync(http, "mc-1", "mc-2");
        await CompletedAsync(http, "mc-1");
        await CompletedAsync(http, "mc-2");

        // Recorded after the task finished, as a gateway's last record may be: still the attempt's.
        var calls = new[]
        {
            Call("mc-1", 1, 1, 7, prompt: 100, completion: 20, latencyMs: 40),
            Call("mc-1", 1, 2, 8, prompt: 130, completion: 25, latencyMs: 60),
            Call("mc-1", 3, 3, 8, prompt: 170, completion: 30, latencyMs: 80),
        };
        foreach (var c in calls)
            _node.Node.Refs.Tasks.Tell(new RecordModelCall("mc-1", 1, c)); // as the gateway reports: told, not asked
        // Waited for in the journal, which `tasks export` below reads, not in the task's state: the
        // task writes model calls up to a second after taking them (ModelCallFlushInterval), and an
        // export started in that second missed them (a CI run, session 19).
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await TaskJournal.FoldAsync(_node.Node.System, keepOutputs: true)).States.Single(s => s.TaskId == "mc-1").ModelCalls.Count < calls.Length)
        {
            Assert.True(DateTime.UtcNow < deadline, "the task did not journal the three calls within 30 s");
            await Task.Delay(100);
        }

        var detail = JsonDocument.Parse(await http.GetStringAsync("api/tasks/mc-1")).RootElement;
        var steps = detail.GetProperty("steps").EnumerateArray().ToList();
        var first = steps.Single(s => s.GetProperty("round").GetInt32() == 1).GetProperty("model");
        Assert.Equal(2, first.GetProperty("calls").GetInt32());
        Assert.Equal([7L, 8L], first.GetProperty("weightVersions").EnumerateArray().Select(v => v.GetInt64()));
        Assert.Equal((230, 45), (first.GetProperty("promptTokens").GetInt64(), first.GetProperty("completionTokens").GetInt64()));
        Assert.All(steps.Where(s => s.GetProperty("round").GetInt32() != 1), s => Assert.False(s.TryGetProperty("model", out _)));
        Assert.Equal(3, detail.GetProperty("modelUsage").GetProperty("calls").GetInt32());
        Assert.Equal(calls.Select(c => c.Path), detail.GetProperty("modelCalls").EnumerateArray().Select(c => c.GetProperty("path").GetString()));

        var plain = JsonDocument.Parse(await http.GetStringAsync("api/tasks/mc-2")).RootElement;
        Assert.False(plain.TryGetProperty("modelUsage", out _));
        Assert.All(plain.GetProperty("steps").EnumerateArray(), s => Assert.False(s.TryGetProperty("model", out _)));

        var show = (await _node.Cli("tasks", "show", "mc-1")).Ok().Output;
        Assert.Contains("3 calls (0 failed), tokens 400 in / 75 out", show);
        foreach (var c in calls) Assert.Contains(c.Path, show);

        // `tasks export` over the node's journal: the calls (record paths, not tokens) and totals on the task's line, model columns in the summary.
        var output = Path.Combine(_node.DataDir, "export.jsonl");
        using var export = MegaflowProcess.Start(new Dictionary<string, string>
        {
            ["MEGAFLOW_DATA_DIR"] = _node.DataDir, ["MEGAFLOW_PORT"] = MegaflowProcess.FreePort().ToString(),
        }, "tasks", "export", output);
        Assert.True(await export.WaitForExitAsync(TimeSpan.FromMinutes(1)) == 0, export.Output);
        var lines = File.ReadAllLines(output).Select(l => JsonDocument.Parse(l).RootElement).ToDictionary(l => l.GetProperty("taskId").GetString()!);
        Assert.Equal(calls.Select(c => c.Path), lines["mc-1"].GetProperty("modelCalls").EnumerateArray().Select(c => c.GetProperty("path").GetString()));
        Assert.Equal(400, lines["mc-1"].GetProperty("model").GetProperty("promptTokens").GetInt64());
        Assert.False(lines["mc-2"].TryGetProperty("modelCalls", out _));
        Assert.Contains("tokens in", export.Output);
        Assert.Contains("400", export.Output);
        Assert.DoesNotContain("…", export.Output); // nothing cut short to fit the terminal
    }

    private static async Task SubmitAsync(HttpClient http, params string[] ids)
    {
        var specs = ids.Select(id => new { taskId = id, mode = "ephemeral", image = "img", actions = new[] { "echo a", "echo b" }, scoreCommand = "exit 0" });
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/tasks")
        {
            Content = new StringContent(JsonSerializer.Serialize(specs), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", InProcessNode.Token);
        (await http.SendAsync(request)).EnsureSuccessStatusCode();
    }

    private static Task CompletedAsync(HttpClient http, string id) =>
        CliRun.Eventually(async () =>
        {
            var response = await http.GetAsync($"api/tasks/{id}");
            return response.IsSuccessStatusCode
                   && JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString() == "completed";
        }, TimeSpan.FromMinutes(1), $"task {id} completes");
}
