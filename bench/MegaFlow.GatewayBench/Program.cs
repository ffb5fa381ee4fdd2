using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using Akka.Actor;
using MegaFlow.Agents.Model;
using MegaFlow.Bench;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Gateway;
using MegaFlow.Hosting;
using MegaFlow.Hosting.Persistence;
using MegaFlow.Model.Inference;
using MegaFlow.Model.Policy;
using MegaFlow.ModelService.Hosting;
using MegaFlow.Protocol.Tasks;
using MegaFlow.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using static MegaFlow.Contracts.Tasks.TaskProtocol;

// Usage: MegaFlow.GatewayBench [--calls N] [--burst N] [--warmup N] [--torch-threads N]
// The latency a model call gains by going through a node's gateway, against calling the model
// service directly. Every path sends the same small chat request (max_tokens 1, so the model's own
// time is small) one at a time; the paths take turns in bursts of --burst calls, the order rotating
// every round, so load drift on this shared machine hits each path alike.
var arguments = args.Chunk(2).Where(p => p.Length == 2).ToDictionary(p => p[0].TrimStart('-'), p => int.Parse(p[1]));
int Arg(string name, int fallback) => arguments.TryGetValue(name, out var v) ? v : fallback;
var calls = Arg("calls", 500);
var burst = Arg("burst", 5);
var warmup = Arg("warmup", 100);
const string ModelName = "bench-policy";

Console.WriteLine(MachineInfo.Read());
var loadAtStart = MachineInfo.LoadAverage();
Console.WriteLine($"load average at start: {loadAtStart}");
Console.WriteLine($"{calls} calls per path, in bursts of {burst}, after {warmup} warm-up calls per path; torch threads {Arg("torch-threads", 1)}");

var dataDir = Directory.CreateTempSubdirectory("megaflow-gwbench-").FullName;

// The model service: the default policy size behind the OpenAI-compatible API, as a model node runs
// it, but on one torch thread: the model's time is common to every path and only adds noise to their
// difference, and two intra-op threads on a shared two-core machine wait for each other.
TorchSharp.torch.set_num_threads(Arg("torch-threads", 1));
var policy = new PolicyConfig();
using var initial = PolicyModel.CreateInitial(ModelName, policy, seed: 1);
using var engine = new InferenceEngine(PolicyModel.FromWeights(ModelName, 1, policy, initial.SaveWeights()), new EngineOptions { MaxBatchRows = 64 });
await using var modelServer = await ModelServer.StartAsync(engine);
var modelBase = new Uri(modelServer.BaseAddress, "v1");
Console.WriteLine($"model service: {modelBase}");

// A real single node (SQLite journal, local-process provider) whose agents call that service by default.
var settings = new NodeSettings
{
    Port = 0,
    DataDir = dataDir,
    Provider = "local",
    ExtraHocon = $"""
        akka.loglevel = WARNING
        megaflow.agents.model-endpoint = "{modelBase}"
        megaflow.agents.model = "{ModelName}"
        """,
};
await SchemaInitializer.EnsureAsync(settings, TimeSpan.FromMinutes(1));
await using var node = await RunningNode.StartSingleNodeAsync(settings);
var tasks = node.Refs.Tasks;

// The task: a command agent whose program publishes the attempt's gateway URL and key, and its
// process id, then waits (exec: the sleep keeps the shell's pid). Published by rename so the bench
// never reads half a file.
var taskId = "gwbench-" + Guid.NewGuid().ToString("N")[..8];
var published = Path.Combine(dataDir, "attempt.txt");
var spec = new TaskSpec
{
    TaskId = taskId,
    Mode = "ephemeral",
    Image = "gwbench",
    ScoreCommand = "true",
    MaxRounds = 1,
    SetupTimeoutSeconds = 120,
    RunTimeoutSeconds = 1800,
    ScoringTimeoutSeconds = 60,
    ExecTimeoutSeconds = 1800,
    MaxInfraRetries = 0,
    Agent = new AgentSpec
    {
        Kind = AgentKinds.Command,
        Command = $"""printf '%s\n%s\n%s\n' "$OPENAI_BASE_URL" "$OPENAI_API_KEY" "$$" > '{published}.tmp' && mv '{published}.tmp' '{published}' && exec sleep 1800""",
    },
};
var submitted = await TaskGateway.SubmitAsync(tasks, spec, TimeSpan.FromSeconds(60));
if (submitted is not SubmitAccepted) throw new InvalidOperationException($"the task was not accepted: {submitted}");
var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
while (!File.Exists(published))
{
    if (DateTime.UtcNow > deadline) throw new TimeoutException($"the task's program did not publish its gateway URL within 2 min (data in {dataDir})");
    await Task.Delay(50);
}
var lines = await File.ReadAllLinesAsync(published);
var (gatewayBase, attemptKey, programPid) = (lines[0].TrimEnd('/'), lines[1], int.Parse(lines[2]));
Console.WriteLine($"task {taskId}: gateway {gatewayBase}");

// A second gateway, outside the node: the same ModelGateway and Kestrel listener, forwarding to the
// same service and writing records to a local folder the same way, but its key check answered from
// memory instead of by the task actor, and its reports collected instead of journalled. Its distance
// to the full path is what the actor round trip and the journal cost.
var memoryTasks = new InMemoryAttempts("mem-task", 1, "mem-key");
var memoryGatewaySettings = new GatewaySettings();
await using var memoryGateway = await GatewayServer.StartAsync(
    new ModelGateway(memoryTasks, new LocalFolderArtifactStore(Path.Combine(dataDir, "memory-gateway-artifacts")),
        _ => new ModelUpstream(modelBase, ModelName, null), memoryGatewaySettings, NullLogger.Instance),
    memoryGatewaySettings);
var memoryBase = ModelGatewayRoutes.BaseUrl(memoryGateway.BaseAddress, "mem-task", 1).ToString();
// And one that also keeps its records in memory: its distance to the previous one is the record's
// file write.
var bareTasks = new InMemoryAttempts("bare-task", 1, "bare-key");
await using var bareGateway = await GatewayServer.StartAsync(
    new ModelGateway(bareTasks, new InMemoryArtifacts(), _ => new ModelUpstream(modelBase, ModelName, null), memoryGatewaySettings, NullLogger.Instance),
    memoryGatewaySettings);
var bareBase = ModelGatewayRoutes.BaseUrl(bareGateway.BaseAddress, "bare-task", 1).ToString();

// One client for every path: a pooled keep-alive connection per listener, as an agent's SDK keeps.
using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) });
// logprobs: true on every path, so the model service does the same work whichever way a call comes
// (the gateway would otherwise add it, and the direct call would skip it).
var body = Encoding.UTF8.GetBytes($$"""{"model":"{{ModelName}}","messages":[{"role":"user","content":"Say hi."}],"max_tokens":1,"logprobs":true}""");

var paths = new (string Name, string BaseUrl, string? Key)[]
{
    ("direct to the model service", modelBase.ToString().TrimEnd('/'), null),
    ("gateway, full path (task actor, journal)", gatewayBase, attemptKey),
    ("gateway, key check in memory (no actor, no journal)", memoryBase.TrimEnd('/'), "mem-key"),
    ("gateway, key check and record in memory (no file)", bareBase.TrimEnd('/'), "bare-key"),
};

async Task<TimeSpan> Call(int path)
{
    var (_, baseUrl, key) = paths[path];
    using var request = new HttpRequestMessage(HttpMethod.Post, baseUrl + "/chat/completions") { Content = new ByteArrayContent(body) };
    request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
    if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
    var start = Stopwatch.GetTimestamp();
    using var response = await http.SendAsync(request);
    var answer = await response.Content.ReadAsByteArrayAsync();
    var elapsed = Stopwatch.GetElapsedTime(start);
    if (!response.IsSuccessStatusCode)
        throw new InvalidOperationException($"{paths[path].Name}: HTTP {(int)response.StatusCode}: {Encoding.UTF8.GetString(answer)}");
    return elapsed;
}

// Warm-up (JIT tiers, connection pools, the task actor's first journal writes), interleaved too.
for (var i = 0; i < warmup; i++)
    for (var p = 0; p < paths.Length; p++)
        await Call(p);

var latencies = paths.Select(_ => new List<TimeSpan>(calls)).ToArray();
var wall = Stopwatch.StartNew();
for (var round = 0; latencies.Any(l => l.Count < calls); round++)
    for (var k = 0; k < paths.Length; k++)
    {
        var p = (round + k) % paths.Length;
        for (var b = 0; b < burst && latencies[p].Count < calls; b++)
            latencies[p].Add(await Call(p));
    }
wall.Stop();

// Every call through the node's gateway must be a ModelCallRecorded event in the task: its state
// holds them (reports are fire and forget, so give the last ones a moment to be journalled).
var gatewayCalls = warmup + calls;
TaskState state;
var recordDeadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
while (true)
{
    state = await tasks.Ask<TaskState>(new GetTaskState(taskId), TimeSpan.FromSeconds(10));
    if (state.ModelCalls.Count >= gatewayCalls || DateTime.UtcNow > recordDeadline) break;
    await Task.Delay(100);
}
var cancelled = await tasks.Ask<object>(new CancelTask(taskId, "benchmark over"), TimeSpan.FromSeconds(30));
var final = state;
for (var end = DateTime.UtcNow + TimeSpan.FromSeconds(30); !final.Status.IsTerminal() && DateTime.UtcNow < end; await Task.Delay(100))
    final = await tasks.Ask<TaskState>(new GetTaskState(taskId), TimeSpan.FromSeconds(10));
// Cancelling the task does not stop a step that is running (the local provider kills a program only
// at its exec timeout), so the bench ends the program it started itself.
try
{
    using var program = Process.GetProcessById(programPid);
    program.Kill(entireProcessTree: true);
}
catch (ArgumentException)
{
    // Already gone.
}
var loadAtEnd = MachineInfo.LoadAverage();

// The gateway's own clock (its handler starting → upstream answered; the measured calls only):
// what it leaves out of the caller's time is the caller→gateway hop, and the record and report
// made after the upstream answered.
var gatewayClock = new[] { state.ModelCalls, memoryTasks.Reported, bareTasks.Reported }
    .Select(reported => reported.Skip(warmup).Select(c => c.LatencyMs).Order().ToArray()).ToArray();
var table = new ResultTable("path", "calls", "p50", "p90", "p99", "mean", "added p50", "added p99", "gateway's clock p50");
var direct = Percentiles.Sorted(latencies[0]);
for (var p = 0; p < paths.Length; p++)
{
    var ms = Percentiles.Sorted(latencies[p]);
    table.Add(paths[p].Name, ms.Length.ToString(), Ms(Percentiles.Rank(ms, 0.50)), Ms(Percentiles.Rank(ms, 0.90)), Ms(Percentiles.Rank(ms, 0.99)), Ms(ms.Average()),
        p == 0 ? "" : Ms(Percentiles.Rank(ms, 0.50) - Percentiles.Rank(direct, 0.50)),
        p == 0 ? "" : Ms(Percentiles.Rank(ms, 0.99) - Percentiles.Rank(direct, 0.99)),
        p == 0 || gatewayClock[p - 1].Length == 0 ? "" : Ms(Percentiles.Rank(gatewayClock[p - 1], 0.50)));
}
Console.WriteLine();
Console.WriteLine(table.Render());
Console.WriteLine($"ModelCallRecorded events in task {taskId}: {state.ModelCalls.Count} for {gatewayCalls} calls through its gateway ({warmup} warm-up + {calls} measured): {(state.ModelCalls.Count == gatewayCalls ? "all recorded" : "MISMATCH")}; "
    + $"failed calls among them: {state.ModelCalls.Count(c => c.Status != 200)}");
Console.WriteLine($"in-memory gateways: {memoryTasks.Reported.Count} and {bareTasks.Reported.Count} reports for {warmup + calls} calls each");
Console.WriteLine($"measured part: {wall.Elapsed.TotalSeconds:F1} s; cancel: {cancelled.GetType().Name}, task ended {final.Status}");
Console.WriteLine($"load average at end: {loadAtEnd}");
// Kept for inspection (the journal, the records); it is under the temp folder.
Console.WriteLine($"data (journal, model-call records): {dataDir}");
return state.ModelCalls.Count == gatewayCalls ? 0 : 1;

static string Ms(double ms) => $"{ms:F2} ms";

/// <summary>One attempt whose key check and reports stay in memory: the gateway without the task actor behind it.</summary>
sealed class InMemoryAttempts(string taskId, int attempt, string key) : IAttemptDirectory
{
    private readonly AgentSpec _agent = new() { Kind = AgentKinds.Command };
    private readonly System.Collections.Concurrent.ConcurrentQueue<ModelCall> _reported = new();

    /// <summary>The calls reported, in order (what the task actor would have journalled).</summary>
    public IReadOnlyList<ModelCall> Reported => _reported.ToArray();

    public Task<AttemptGrant> AuthorizeAsync(string task, int a, string k, CancellationToken ct) =>
        Task.FromResult(task == taskId && a == attempt && k == key ? AttemptGrant.Allow(1, _agent) : AttemptGrant.Refuse("not the benchmark's attempt"));

    public void Report(string task, int a, ModelCall call) => _reported.Enqueue(call);
}

/// <summary>Records kept in memory, so a call pays no file write: only to measure what the write costs.</summary>
sealed class InMemoryArtifacts : IArtifactStore
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte[]> _saved = new();

    public Task<string> SaveAsync(string key, ReadOnlyMemory<byte> content, CancellationToken ct)
    {
        _saved[key] = content.ToArray();
        return Task.FromResult("memory:" + key);
    }

    public Task<byte[]?> ReadAsync(string key, CancellationToken ct) => Task.FromResult(_saved.GetValueOrDefault(key));

    public Task<byte[]?> ReadLocationAsync(string location, CancellationToken ct) =>
        location.StartsWith("memory:", StringComparison.Ordinal)
            ? ReadAsync(location["memory:".Length..], ct)
            : throw new ArgumentException($"'{location}' is not in memory", nameof(location));
}
