using System.Collections.Concurrent;
using MegaFlow.Protocol.Tasks;
using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using MegaFlow.Hosting;
using MegaFlow.Hosting.Persistence;
using MegaFlow.Actors.Tasks;
using MegaFlow.Bench;
using MegaFlow.Client;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using Npgsql;

// Client benchmark (issue 3): accepted submissions per second from one host program and end-to-end
// result latency over a cluster of two `megaflow node` processes (PostgreSQL journal), beside the
// in-process submit path (TaskGateway straight into the node's own shard region) in the same run.
//   dotnet run -c Release --project bench/MegaFlow.ClientBench -- [--tasks 2000]
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
var tasks = args.Length >= 2 && args[0] == "--tasks" && int.TryParse(args[1], out var n) && n > 0 ? n : 2000;
const int Parallelism = 32;
var admin = Environment.GetEnvironmentVariable("MEGAFLOW_TEST_POSTGRES") ?? "Host=127.0.0.1;Port=5432;Username=megaflow;Password=megaflow;Database=postgres";
var clock = Stopwatch.StartNew();
void Log(string s) => Console.WriteLine($"{clock.Elapsed.TotalSeconds,7:F1}s  {s}");
Console.WriteLine($"MegaFlow.ClientBench {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss}Z tasks={tasks} parallelism={Parallelism}");
Console.WriteLine(MachineInfo.Read());
var loadStart = MachineInfo.LoadAverage();

TaskSpec Spec(string id) => new() { TaskId = id, Mode = "ephemeral", Image = "img", Actions = ["echo a"], ScoreCommand = "exit 0" };

// Both runs: subscribe, submit with bounded concurrency (timing accepted submissions), then record each
// task's latency from its submit to its terminal event.
async Task<(double AcceptedPerSec, Percentiles Latency, double Wall)> Run(ActorSystem system, Func<TaskSpec, Task> submit, string prefix)
{
    await using var feed = await TaskEventFeed.SubscribeAsync(system, capacity: 20 * tasks);
    var submittedAt = new ConcurrentDictionary<string, long>();
    var latencies = new ConcurrentBag<TimeSpan>();
    var done = 0;
    var sw = Stopwatch.StartNew();
    var reader = Task.Run(async () =>
    {
        var seen = new HashSet<string>();
        while (seen.Count < tasks)
        {
            var e = await feed.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromMinutes(5));
            if (!e.Status.IsTerminal() || !e.TaskId.StartsWith(prefix, StringComparison.Ordinal) || !seen.Add(e.TaskId)) continue;
            if (submittedAt.TryGetValue(e.TaskId, out var t0)) latencies.Add(Stopwatch.GetElapsedTime(t0));
            if (Interlocked.Increment(ref done) % 500 == 0) Log($"  {done}/{tasks} finished");
        }
    });
    await Parallel.ForEachAsync(Enumerable.Range(0, tasks), new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (i, _) =>
    {
        var id = $"{prefix}{i:D6}";
        submittedAt[id] = Stopwatch.GetTimestamp();
        await submit(Spec(id));
    });
    var accepted = tasks / sw.Elapsed.TotalSeconds;
    Log($"  {tasks} submissions accepted in {sw.Elapsed.TotalSeconds:F1} s");
    await reader;
    return (accepted, Percentiles.Of(latencies), sw.Elapsed.TotalSeconds);
}

async Task<string> NewDatabase()
{
    var db = "megaflow_bench_" + Guid.NewGuid().ToString("N")[..10];
    await using var conn = new NpgsqlConnection(admin);
    await conn.OpenAsync();
    await using var cmd = new NpgsqlCommand($"CREATE DATABASE {db}", conn);
    await cmd.ExecuteNonQueryAsync();
    return new NpgsqlConnectionStringBuilder(admin) { Database = db }.ConnectionString;
}

const string Caps = "megaflow.scheduler { max-running = 400, max-starting = 400, slots-per-node = 400 }\nakka.loglevel = WARNING";

// 1. In-process: one node, its own region, same PostgreSQL journal kind.
Log("in-process: one node, submissions straight into its shard region");
var inProcess = new NodeSettings
{
    Port = 0, Persistence = PersistenceBackend.Postgres, ConnectionString = await NewDatabase(), Provider = "simulated",
    DataDir = Path.Combine(Path.GetTempPath(), "megaflow-clientbench", Guid.NewGuid().ToString("N")[..8]), ExtraHocon = Caps,
};
await SchemaInitializer.EnsureAsync(inProcess, TimeSpan.FromMinutes(1));
var inProcessNode = await RunningNode.StartAsync(inProcess);
var nodeSystem = inProcessNode.System;
var refs = inProcessNode.Refs;
await Task.Delay(TimeSpan.FromSeconds(5)); // member up, singleton started
var local = await Run(nodeSystem, async s => await TaskGateway.SubmitAsync(refs.Tasks, s, TimeSpan.FromSeconds(60)), "ip-");
await inProcessNode.DisposeAsync();

// 2. Two `megaflow node` processes and this program as a client.
Log("client: two megaflow node processes, this program connected with the client library");
var cs = await NewDatabase();
var ports = new[] { FreePort(), FreePort() };
var seeds = ports.Select(p => $"akka.tcp://megaflow@127.0.0.1:{p}").ToList();
var conf = Path.Combine(Path.GetTempPath(), $"clientbench-{Guid.NewGuid():N}.conf");
await File.WriteAllTextAsync(conf, Caps);
var nodes = ports.Select((p, i) => StartNode(p, i)).ToList();
try
{
    await using var client = await MegaFlowClient.ConnectAsync(new ClientOptions { Seeds = seeds, QueueBound = 100_000 });
    var remote = await Run(client.System, async s => await client.SubmitAsync(s), "cl-");

    var table = new ResultTable("metric", "client, 2 processes", "in-process", "ratio");
    table.Add("accepted submissions/s", $"{remote.AcceptedPerSec:F0}", $"{local.AcceptedPerSec:F0}", $"{remote.AcceptedPerSec / local.AcceptedPerSec:F2}");
    table.Add("result latency p50 (submit → terminal event)", $"{remote.Latency.P50:F0} ms", $"{local.Latency.P50:F0} ms", $"{remote.Latency.P50 / local.Latency.P50:F2}");
    table.Add("result latency p99", $"{remote.Latency.P99:F0} ms", $"{local.Latency.P99:F0} ms", $"{remote.Latency.P99 / local.Latency.P99:F2}");
    table.Add("tasks finished / wall", $"{remote.Latency.Count} / {remote.Wall:F1} s", $"{local.Latency.Count} / {local.Wall:F1} s", "");
    Console.WriteLine();
    Console.WriteLine(MachineInfo.Read());
    Console.WriteLine($"load average: start {loadStart}, end {MachineInfo.LoadAverage()}");
    Console.WriteLine(table.Render());
}
finally
{
    foreach (var p in nodes) { try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } }
    File.Delete(conf);
}
return 0;

Process StartNode(int port, int i)
{
    var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
    psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "megaflow.dll"));
    psi.ArgumentList.Add("node");
    psi.Environment["MEGAFLOW_PORT"] = port.ToString();
    psi.Environment["MEGAFLOW_SEEDS"] = string.Join(",", seeds);
    psi.Environment["MEGAFLOW_PERSISTENCE"] = "postgres";
    psi.Environment["MEGAFLOW_CONNECTION_STRING"] = cs;
    psi.Environment["MEGAFLOW_PROVIDER"] = "simulated";
    psi.Environment["MEGAFLOW_CONFIG"] = conf;
    psi.Environment["MEGAFLOW_DATA_DIR"] = Path.Combine(Path.GetTempPath(), "megaflow-clientbench", $"node{i}-{port}");
    var p = Process.Start(psi)!;
    p.OutputDataReceived += (_, _) => { };
    p.ErrorDataReceived += (_, _) => { };
    p.BeginOutputReadLine();
    p.BeginErrorReadLine();
    return p;
}

static int FreePort()
{
    var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
    l.Start();
    var port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
    l.Stop();
    return port;
}
