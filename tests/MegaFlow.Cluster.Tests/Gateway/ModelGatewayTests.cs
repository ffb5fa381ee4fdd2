using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MegaFlow.Agents.Tests;
using MegaFlow.Cluster.Tests.Infrastructure;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Hosting;

namespace MegaFlow.Cluster.Tests.Gateway;

/// <summary>
/// The node's model gateway with the real model service behind it, on a real node with the
/// local-process provider: every call of a task goes through it and is recorded (token ids,
/// log-probs, weight version) in the artifact store and referenced from the journal; calls without
/// the running attempt's key are refused and recorded nowhere.
/// </summary>
public sealed class ModelGatewayTests
{
    // An agent program using only Python's standard library, as any framework's would: it reads the
    // OpenAI variables the environment was given. "holder" publishes its URL and key and waits;
    // "intruder" tries calls the gateway must refuse (no key, a made-up key, the holder's key on its own
    // URL, its own key on the holder's URL), then makes one call of its own. Both write the answer.
    private const string AgentProgram = """
        import json, os, sys, time, urllib.request, urllib.error

        mode, shared = sys.argv[1], sys.argv[2]
        base, key = os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"]

        def call(url, k):
            body = json.dumps({"model": "anything", "messages": [{"role": "user", "content": "say hi"}], "max_tokens": 8}).encode()
            req = urllib.request.Request(url + "/chat/completions", data=body, headers={"Content-Type": "application/json"})
            if k is not None:
                req.add_header("Authorization", "Bearer " + k)
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    return r.status, json.load(r)
            except urllib.error.HTTPError as e:
                return e.code, json.load(e)

        def wait_for(name):
            for _ in range(1200):
                if os.path.exists(os.path.join(shared, name)):
                    return
                time.sleep(0.05)
            sys.exit("gave up waiting for " + name)

        if mode == "holder":
            with open(os.path.join(shared, "holder.tmp"), "w") as f:
                json.dump({"base": base, "key": key}, f)
            os.rename(os.path.join(shared, "holder.tmp"), os.path.join(shared, "holder.json"))
            wait_for("tried")
            status, reply = call(base, key)
        else:
            wait_for("holder.json")
            holder = json.load(open(os.path.join(shared, "holder.json")))
            print("no-key", call(base, None)[0])
            print("made-up-key", call(base, "mf-made-up")[0])
            print("holders-key", call(base, holder["key"])[0])
            print("holders-url", call(holder["base"], key)[0])
            status, reply = call(base, key)
            open(os.path.join(shared, "tried"), "w").close()
        print("own", status)
        with open("reply.json", "w") as f:
            json.dump(reply, f)
        """;

    [Fact]
    public async Task A_command_agents_program_calls_the_model_through_the_gateway_and_calls_without_its_key_are_refused_and_recorded_nowhere()
    {
        await using var model = await LocalModelService.StartAsync();
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartSingleNodeAsync(storage, provider: "local", extraHocon: model.Hocon);
        var (shared, program) = await WriteProgramAsync("agent.py", AgentProgram);
        TaskSpec Program(string id, string mode) => Specs.Simple(id, score: "test -f reply.json") with
        {
            Actions = null,
            Agent = new AgentSpec { Kind = AgentKinds.Command, Command = $"python3 {program} {mode} {shared}" },
        };
        var tasks = cluster.Nodes[0].Refs.Tasks;

        await TestCluster.SubmitAllAsync(tasks, [Program("gw-holder", "holder"), Program("gw-intruder", "intruder")]);
        var states = (await TestCluster.WaitForTerminalAsync(tasks, ["gw-holder", "gw-intruder"], TimeSpan.FromSeconds(90)))
            .ToDictionary(s => s.TaskId);

        var intruder = states["gw-intruder"];
        Assert.Equal(TaskStatus.Completed, intruder.Status);
        var output = Assert.Single(intruder.Steps).Output;
        Assert.Contains("no-key 401", output);
        Assert.Contains("made-up-key 403", output);
        Assert.Contains("holders-key 403", output);
        Assert.Contains("holders-url 403", output);
        Assert.Contains("own 200", output);
        Assert.Equal(TaskStatus.Completed, states["gw-holder"].Status);
        Assert.Contains("own 200", Assert.Single(states["gw-holder"].Steps).Output);

        // Exactly one recorded call per task, from the journal: the refused ones are nowhere.
        foreach (var id in new[] { "gw-holder", "gw-intruder" })
        {
            var events = (await storage.Journal().ReadAllAsync("task-" + id)).Select(r => r.Event).ToList();
            var call = Assert.Single(events.OfType<TaskEvents.ModelCallRecorded>()).Call;
            Assert.Equal(1, call.Round);
            Assert.Equal(200, call.Status);
            Assert.Equal("chat/completions", call.Route);
            Assert.Equal(LocalModelService.ModelName, call.Model); // the gateway sends the task's model, not the program's "anything"
            Assert.Equal(LocalModelService.WeightVersion, call.WeightVersion);
            Assert.True(call.PromptTokens > 0 && call.CompletionTokens is > 0 and <= 8, $"{call.PromptTokens} prompt, {call.CompletionTokens} completion tokens");
            await AssertTokenRecordAsync(call, id);
            var recordFolder = Path.GetDirectoryName(call.Path)!;
            Assert.Single(Directory.GetFiles(recordFolder)); // no record for the refused calls either
        }

        // The holder's attempt is over: its key opens nothing any more, and that call is not recorded.
        var holder = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(shared, "holder.json"))).RootElement;
        using var http = new HttpClient();
        using var late = new HttpRequestMessage(HttpMethod.Post, holder.GetProperty("base").GetString() + "/chat/completions")
        {
            Content = new StringContent("""{"model":"x","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        late.Headers.Authorization = new AuthenticationHeaderValue("Bearer", holder.GetProperty("key").GetString());
        using var refused = await http.SendAsync(late);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("not running", await refused.Content.ReadAsStringAsync());
        await Task.Delay(500);
        var holderEvents = (await storage.Journal().ReadAllAsync("task-gw-holder")).Select(r => r.Event);
        Assert.Single(holderEvents.OfType<TaskEvents.ModelCallRecorded>());
    }

    // Calls its model five times, says so, then keeps running until the test releases it.
    private const string BusyProgram = """
        import json, os, sys, time, urllib.request

        shared = sys.argv[1]
        base, key = os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"]
        for i in range(5):
            body = json.dumps({"messages": [{"role": "user", "content": "call %d" % i}], "max_tokens": 2}).encode()
            req = urllib.request.Request(base + "/chat/completions", data=body,
                                         headers={"Content-Type": "application/json", "Authorization": "Bearer " + key})
            with urllib.request.urlopen(req, timeout=60) as r:
                print("call", i, r.status)
        open(os.path.join(shared, "called"), "w").close()
        for _ in range(1200):
            if os.path.exists(os.path.join(shared, "release")):
                break
            time.sleep(0.05)
        """;

    [Fact]
    public async Task A_running_programs_calls_reach_the_journal_within_seconds_without_waiting_for_its_step_and_before_it()
    {
        // Records are written many per write (TaskActor.ModelCallFlushInterval), not one write per call:
        // they must still reach the journal while the program runs, and before the step they belong to.
        await using var model = await LocalModelService.StartAsync();
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartSingleNodeAsync(storage, provider: "local", extraHocon: model.Hocon);
        var (shared, program) = await WriteProgramAsync("busy.py", BusyProgram);
        var spec = Specs.Simple("gw-busy", score: "true") with
        {
            Actions = null,
            Agent = new AgentSpec { Kind = AgentKinds.Command, Command = $"python3 {program} {shared}" },
        };
        var tasks = cluster.Nodes[0].Refs.Tasks;
        await TestCluster.SubmitAllAsync(tasks, [spec]);

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!File.Exists(Path.Combine(shared, "called")))
        {
            Assert.True(DateTime.UtcNow < deadline, "the program did not make its five calls within 60 s");
            await Task.Delay(50);
        }
        var calledAt = DateTime.UtcNow;
        List<object> events;
        while (true)
        {
            events = (await storage.Journal().ReadAllAsync("task-gw-busy")).Select(r => r.Event).ToList();
            if (events.OfType<TaskEvents.ModelCallRecorded>().Count() == 5) break;
            Assert.True(DateTime.UtcNow < calledAt.AddSeconds(5),
                $"{events.OfType<TaskEvents.ModelCallRecorded>().Count()} of 5 calls in the journal 5 s after the program made them");
            await Task.Delay(100);
        }
        Assert.Empty(events.OfType<TaskEvents.StepRecorded>()); // the program is still running: nothing else forced the write

        File.WriteAllText(Path.Combine(shared, "release"), "");
        var state = Assert.Single(await TestCluster.WaitForTerminalAsync(tasks, ["gw-busy"], TimeSpan.FromSeconds(60)));
        Assert.Equal(TaskStatus.Completed, state.Status);
        events = (await storage.Journal().ReadAllAsync("task-gw-busy")).Select(r => r.Event).ToList();
        var calls = events.OfType<TaskEvents.ModelCallRecorded>().Select(e => e.Call).ToList();
        Assert.Equal(5, calls.Count);
        Assert.Equal(5, calls.Select(c => c.Path).Distinct().Count());
        Assert.True(events.FindLastIndex(e => e is TaskEvents.ModelCallRecorded) < events.FindIndex(e => e is TaskEvents.StepRecorded),
            "a call's record is journaled after the step it belongs to");
    }

    [Fact]
    public async Task A_model_agents_calls_are_recorded_with_token_ids_log_probs_and_weight_version_even_when_the_attempt_fails()
    {
        // A random policy does not write a fenced bash block: each round's replies break the format,
        // the agent asks again (megaflow.agents.format-retries = 2), then the attempt fails as the
        // agent's failure. All three calls went through the gateway and are in the journal.
        await using var model = await LocalModelService.StartAsync();
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartSingleNodeAsync(storage, provider: "local", extraHocon: model.Hocon);
        var spec = Specs.Simple("gw-model", score: "true") with
        {
            Actions = null,
            Agent = new AgentSpec { Kind = AgentKinds.Model, MaxTokens = 16 },
            Metadata = new Dictionary<string, string> { [TaskSpecValidator.ProblemStatementKey] = "Print hello." },
        };
        var tasks = cluster.Nodes[0].Refs.Tasks;

        await TestCluster.SubmitAllAsync(tasks, [spec]);
        var state = Assert.Single(await TestCluster.WaitForTerminalAsync(tasks, [spec.TaskId!], TimeSpan.FromSeconds(90)));

        Assert.Equal(TaskStatus.Failed, state.Status);
        Assert.Equal(FailureKind.Agent, state.FailureKind);
        var calls = (await storage.Journal().ReadAllAsync("task-gw-model")).Select(r => r.Event).OfType<TaskEvents.ModelCallRecorded>().Select(e => e.Call).ToList();
        Assert.True(calls.Count == 3, $"{calls.Count} call(s) recorded; the attempt failed with: {state.FailureReason}");
        Assert.Equal(calls, state.ModelCalls);
        foreach (var call in calls)
        {
            Assert.Equal((1, 200, LocalModelService.WeightVersion), (call.Round, call.Status, call.WeightVersion));
            await AssertTokenRecordAsync(call, "gw-model");
        }
    }

    [Fact]
    public async Task An_unreachable_upstream_is_answered_502_naming_it_recorded_as_an_error_and_fails_the_attempt_as_infrastructure()
    {
        using var closed = new ClosedPort();
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartSingleNodeAsync(storage, provider: "local", extraHocon: """
            megaflow.agents.retries = 1
            megaflow.agents.retry-backoff = 50ms
            """);
        var spec = Specs.Simple("gw-down", score: "true") with
        {
            Actions = null,
            MaxInfraRetries = 0,
            Agent = new AgentSpec { Kind = AgentKinds.Model, Endpoint = closed.BaseUrl, Model = "m" },
            Metadata = new Dictionary<string, string> { [TaskSpecValidator.ProblemStatementKey] = "Anything." },
        };
        var tasks = cluster.Nodes[0].Refs.Tasks;

        await TestCluster.SubmitAllAsync(tasks, [spec]);
        var state = Assert.Single(await TestCluster.WaitForTerminalAsync(tasks, [spec.TaskId!], TimeSpan.FromSeconds(60)));

        Assert.Equal((TaskStatus.Failed, FailureKind.Infrastructure), (state.Status, state.FailureKind));
        Assert.Contains($"model endpoint {closed.BaseUrl}", state.FailureReason);
        var calls = (await storage.Journal().ReadAllAsync("task-gw-down")).Select(r => r.Event).OfType<TaskEvents.ModelCallRecorded>().Select(e => e.Call).ToList();
        Assert.Equal(2, calls.Count); // the call and one retry
        Assert.All(calls, c =>
        {
            Assert.Equal(502, c.Status);
            Assert.Contains("could not be reached", c.Error);
            Assert.StartsWith(closed.BaseUrl, c.Endpoint);
        });
    }

    /// <summary>A temporary folder the test and an agent program share, with the program written into it.</summary>
    private static async Task<(string Shared, string Program)> WriteProgramAsync(string fileName, string text)
    {
        var shared = Directory.CreateTempSubdirectory("megaflow-gw-").FullName;
        var program = Path.Combine(shared, fileName);
        await File.WriteAllTextAsync(program, text);
        return (shared, program);
    }

    /// <summary>The record the journal points at holds the exchange's tokens: ids and one log-prob per generated token.</summary>
    private static async Task AssertTokenRecordAsync(ModelCall call, string taskId)
    {
        Assert.True(File.Exists(call.Path), call.Path);
        var record = JsonDocument.Parse(await File.ReadAllBytesAsync(call.Path)).RootElement;
        Assert.Equal("megaflow.model-call.v1", record.GetProperty("schema").GetString());
        Assert.Equal(taskId, record.GetProperty("task").GetString());
        Assert.Equal(call.WeightVersion, record.GetProperty("weight_version").GetInt64());
        Assert.Equal(call.PromptTokens, record.GetProperty("prompt_token_ids").GetArrayLength());
        var choice = record.GetProperty("choices")[0];
        var ids = choice.GetProperty("token_ids").EnumerateArray().Select(e => e.GetInt32()).ToList();
        var logprobs = choice.GetProperty("token_logprobs").EnumerateArray().Select(e => e.GetDouble()).ToList();
        Assert.Equal(call.CompletionTokens, ids.Count);
        Assert.Equal(ids.Count, logprobs.Count);
        Assert.All(logprobs, lp => Assert.True(lp <= 0 && double.IsFinite(lp), $"log-prob {lp}"));
        Assert.Equal(call.Model, record.GetProperty("request").GetProperty("model").GetString());
        Assert.True(record.GetProperty("request").GetProperty("logprobs").GetBoolean());
    }
}
