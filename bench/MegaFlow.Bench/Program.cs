using System.Diagnostics;
using System.Globalization;
using MegaFlow.Bench;

// MegaFlow end-to-end benchmark: the full persisted path on one node, then raw SQLite inserts of the
// same number of rows as a baseline, then one table. Usage:
//   dotnet run -c Release --project bench/MegaFlow.Bench -- [--tasks 10000] [--parallelism 256] [--recoveries 2000]
// Capacity mode (ConcurrentRun): N tasks running at once, each W seconds of simulated work; the idle
// node and bare exec loops over the same window as baselines, then its own table:
//   dotnet run -c Release --project bench/MegaFlow.Bench -- --concurrent 10000 --work-seconds 90 [--window-seconds 30]
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

BenchOptions options;
try
{
    options = ParseArgs(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine("usage: MegaFlow.Bench [--tasks N] [--parallelism N] [--recoveries N] [--deadline-minutes N] [--keep-data] [--hocon FILE]");
    Console.Error.WriteLine("       MegaFlow.Bench --concurrent N [--work-seconds 90] [--window-seconds 30] [--parallelism N] [--deadline-minutes N] [--keep-data] [--hocon FILE]");
    return 2;
}

var machine = MachineInfo.Read();
var loadBefore = MachineInfo.LoadAverage();
var started = DateTimeOffset.UtcNow;
var root = Path.Combine(Path.GetTempPath(), "megaflow-bench", started.ToString("yyyyMMdd-HHmmss") + "-" + Guid.NewGuid().ToString("N")[..6]);
var clock = Stopwatch.StartNew();
void Log(string line) => Console.WriteLine($"{clock.Elapsed.TotalSeconds,7:F1}s  {line}");
void RemoveData()
{
    if (options.KeepData) Console.WriteLine($"data kept in {root}");
    else try { Directory.Delete(root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
}

if (options.Concurrent is { } concurrent)
{
    Console.WriteLine($"MegaFlow.Bench {started:yyyy-MM-dd HH:mm:ss}Z  concurrent={concurrent} work-seconds={options.WorkSeconds} window-seconds={options.WindowSeconds} parallelism={options.Parallelism}");
    Console.WriteLine(machine);
    Console.WriteLine($"load average (1/5/15 min) at start: {loadBefore}");
    Console.WriteLine($"data: {root}");
    var run = await ConcurrentRun.RunAsync(options, Path.Combine(root, "node"), Log);
    Console.WriteLine();
    Console.WriteLine(machine);
    Console.WriteLine($"load average (1/5/15 min): start {loadBefore}, end {MachineInfo.LoadAverage()}");
    Console.WriteLine($"terminal by status: {string.Join(", ", run.TerminalByStatus.Select(kv => $"{kv.Key}={kv.Value}"))}; submit rejected={run.Rejected} errors={run.SubmitErrors}");
    Console.WriteLine($"baselines, in the same process before the run: the idle node (0 tasks) over {run.Idle.Wall.TotalSeconds:F1} s; "
        + $"{run.ExecLoops.Loops} bare exec loops on a SimulatedProvider ({run.ExecLatency} ms, no actors or persistence) over {run.ExecLoops.Window.Wall.TotalSeconds:F1} s");
    Console.WriteLine();
    Console.WriteLine(ConcurrentTable(run).Render());
    RemoveData();
    return run.Terminal == concurrent && !run.TimedOut ? 0 : 1;
}

Console.WriteLine($"MegaFlow.Bench {started:yyyy-MM-dd HH:mm:ss}Z  tasks={options.Tasks} parallelism={options.Parallelism} recoveries={options.Recoveries}");
Console.WriteLine(machine);
Console.WriteLine($"load average (1/5/15 min) at start: {loadBefore}");
Console.WriteLine($"data: {root}");

var cluster = await ClusterRun.RunAsync(options, Path.Combine(root, "node"), Log);
var rows = cluster.JournalRows + cluster.ShardingRows;
Log($"baseline: {rows} raw inserts of {cluster.AvgMessageBytes:F0}-byte payloads, 100 per transaction");
var baseline = await SqliteBaseline.RunAsync(Path.Combine(root, "baseline"), cluster.JournalDdl, rows, (int)Math.Round(cluster.AvgMessageBytes));
var loadAfter = MachineInfo.LoadAverage();

var wall = cluster.Wall.TotalSeconds;
var tasksPerSec = cluster.Terminal / wall;
var eventsPerSec = rows / wall;
var recoveriesPerSec = cluster.Recoveries / cluster.RecoveryWall.TotalSeconds;
var upperBoundRecoveries = (cluster.TaskEntities + cluster.EnvironmentEntities) / wall;

var table = new ResultTable("metric", "MegaFlow", "baseline", "ratio", "target", "met");
table.Add("tasks terminal / submitted", $"{cluster.Terminal} / {cluster.Submitted}", "", "", $"{options.Tasks}", Yes(cluster.Terminal == options.Tasks && !cluster.TimedOut));
table.Add("wall time (submit → all terminal)", $"{wall:F1} s", "", "", "", "");
table.Add("tasks/s end to end", $"{tasksPerSec:F0}", "", "", "≥ 500", Yes(tasksPerSec >= 500));
table.Add("  CPU per task (process user+sys / tasks)", $"{cluster.Cpu.TotalMilliseconds / Math.Max(1, cluster.Terminal):F2} ms", "", "", "", "");
table.Add("  CPU-bound ceiling on this machine", $"{Environment.ProcessorCount * 1000.0 * Math.Max(1, cluster.Terminal) / Math.Max(1, cluster.Cpu.TotalMilliseconds):F0} tasks/s", "", "", "", "");
table.Add("persisted events/s (journal + sharding)", $"{eventsPerSec:F0}", $"{baseline.RowsPerSecond:F0} raw rows/s", $"{eventsPerSec / baseline.RowsPerSecond:P1}", "≥ 10% of raw", Yes(eventsPerSec >= 0.10 * baseline.RowsPerSecond));
table.Add("  rows in journal", $"{cluster.JournalRows}", "", "", "", "");
table.Add("  rows in sharding_journal", $"{cluster.ShardingRows}", "", "", "", "");
table.Add("  of them tagged (the task read model's row events)", $"{cluster.TagRows}", "", "", "", "");
table.Add("  events per task", $"{(double)rows / Math.Max(1, cluster.Terminal):F1}", "", "", "", "");
table.Add("  avg message bytes", $"{cluster.AvgMessageBytes:F0}", $"{baseline.PayloadBytes}", "", "", "");
table.Add("fresh-entity recoveries/s (measured)", $"{recoveriesPerSec:F0}", "", "", "", "");
table.Add($"  {cluster.Recoveries} never-seen ids, all replied in", $"{cluster.RecoveryWall.TotalSeconds:F2} s", "", "", "", "");
table.Add("  upper bound from run (task+env entities / wall)", $"{upperBoundRecoveries:F0}", "", "", "", "");
table.Add("admission latency p50 (AdmittedAt − SubmittedAt)", Ms(cluster.SubmitToAdmit.P50), "", "", "", "");
table.Add("admission latency p99 (AdmittedAt − SubmittedAt)", Ms(cluster.SubmitToAdmit.P99), "", "", "", "");
table.Add("queue wait p50 / p99 (AdmittedAt − QueuedAt)", $"{Ms(cluster.QueueToAdmit.P50)} / {Ms(cluster.QueueToAdmit.P99)}", "", "", "", "");
table.Add("task latency p50 / p99 (FinishedAt − SubmittedAt)", $"{Ms(cluster.SubmitToFinish.P50)} / {Ms(cluster.SubmitToFinish.P99)}", "", "", "", "");
table.Add("Completed events in journal", $"{cluster.CompletedEvents}", "", "", $"{options.Tasks}", Yes(cluster.CompletedEvents == options.Tasks));
table.Add("sample GetTaskState = Completed", $"{cluster.SampleCompleted} / {cluster.SampleChecked}", "", "", "all", Yes(cluster.SampleCompleted == cluster.SampleChecked));
table.Add("peak working set", Mb(cluster.PeakWorkingSet), "", "", "", "");
table.Add("managed heap at end / allocated total", $"{Mb(cluster.ManagedHeapAtEnd)} / {Mb(cluster.TotalAllocated)}", "", "", "", "");
table.Add("GC collections gen0/1/2", string.Join("/", cluster.Collections), "", "", "", "");

Console.WriteLine();
Console.WriteLine(machine);
Console.WriteLine($"load average (1/5/15 min): start {loadBefore}, end {loadAfter}");
Console.WriteLine($"terminal by status: {string.Join(", ", cluster.TerminalByStatus.Select(kv => $"{kv.Key}={kv.Value}"))}; submit rejected={cluster.Rejected} errors={cluster.SubmitErrors}");
Console.WriteLine($"baseline: {baseline.Rows} rows in {baseline.Wall.TotalSeconds:F2} s ({baseline.BatchSize} per transaction, WAL, synchronous=NORMAL, journal DDL incl. indexes)");
Console.WriteLine();
Console.WriteLine(table.Render());

RemoveData();
return cluster.Terminal == options.Tasks ? 0 : 1;

static string Yes(bool ok) => ok ? "yes" : "NO";
static string Ms(double ms) => double.IsNaN(ms) ? "n/a" : $"{ms:F0} ms";
static string Mb(long bytes) => $"{bytes / 1024.0 / 1024.0:F0} MiB";
static string MsPair(Percentiles p) => $"{Ms(p.P50)} / {Ms(p.P99)}";
static string Rate(CpuWindow w) => $"{w.MsPerSecond:F1} CPU-ms/s ({w.PercentOfCore:F1}% of one core)";

static ResultTable ConcurrentTable(ConcurrentResult r)
{
    var n = r.Tasks;
    var thousands = n / 1000.0;
    var completed = r.TerminalByStatus.GetValueOrDefault(TaskStatus.Completed);
    var failed = r.TerminalByStatus.GetValueOrDefault(TaskStatus.Failed);
    var timedOut = r.TerminalByStatus.GetValueOrDefault(TaskStatus.TimedOut);
    var idle = r.Idle;
    var loops = r.ExecLoops;
    var loopsPerThousand = (loops.Window.MsPerSecond - idle.MsPerSecond) / thousands;
    var loopsPerExecUs = (loops.Window.MsPerSecond - idle.MsPerSecond) / loops.ExecsPerSecond * 1000;

    var t = new ResultTable("metric", "MegaFlow", "baseline", "ratio", "check");
    t.Add("tasks Completed / submitted", $"{completed} / {r.Submitted}", "", "", Yes(completed == n && r.CompletedEvents == n && !r.TimedOut));
    t.Add("  retried / Failed / TimedOut", $"{r.Retried} / {failed} / {timedOut}", "", "", Yes(r.Retried == 0 && failed == 0 && timedOut == 0));
    t.Add("wall time (first submit → all terminal) vs ideal", $"{r.Wall.TotalSeconds:F1} s", $"{r.IdealWall.TotalSeconds:F1} s ideal", $"{r.Wall / r.IdealWall:F2}x", "");
    t.Add("  ideal: latest of submit offset + own exec times", $"{r.IdealWall.TotalSeconds:F1} s", "", "", "");
    t.Add("  submission (first submit → all answered)", $"{r.SubmissionWall.TotalSeconds:F1} s", "", "", "");
    t.Add($"  nominal work per task ({ConcurrentRun.ExecsPerTask} execs, {r.ExecLatency} ms)", $"{r.NominalWorkMs / 1000:F1} s", "", "", "");
    t.Add("CPU per task over the whole run (process / tasks)", $"{r.Cpu.TotalMilliseconds / Math.Max(1, n):F2} ms", "", "", "");
    t.Add("  process CPU over the whole run", $"{r.Cpu.TotalSeconds:F1} s ({r.Cpu.TotalMilliseconds / r.Wall.TotalMilliseconds * 100:F0}% of one core)", "", "", "");
    t.Add("peak working set (process high-water mark)", Mb(r.PeakWorkingSet), $"{Mb(idle.WorkingSetAtEnd)} idle node", $"{(double)r.PeakWorkingSet / idle.WorkingSetAtEnd:F1}x", "");
    t.Add("admission latency p50 / p99 (AdmittedAt − SubmittedAt)", MsPair(r.SubmitToAdmit), "", "", "");
    t.Add("queue wait p50 / p99 (AdmittedAt − QueuedAt)", MsPair(r.QueueToAdmit), "", "", "");
    t.Add("task latency p50 / p99 (FinishedAt − SubmittedAt)", MsPair(r.SubmitToFinish), $"{r.NominalWorkMs:F0} ms nominal work", $"{r.SubmitToFinish.P50 / r.NominalWorkMs:F2}x", "");
    if (r.Steady is { } s)
    {
        var steps = r.SteadySteps / s.Wall.TotalSeconds;
        var perThousand = (s.MsPerSecond - idle.MsPerSecond) / thousands;
        var perExecUs = (s.MsPerSecond - idle.MsPerSecond) / steps * 1000;
        t.Add($"steady window: all {n} running, none finished", $"{s.Wall.TotalSeconds:F1} s", $"idle {idle.Wall.TotalSeconds:F1} s, loops {loops.Window.Wall.TotalSeconds:F1} s", "", r.SteadyCutShort ? "cut at 1st finish" : "full");
        t.Add("  node CPU in the window", Rate(s), $"{Rate(idle)} idle node", $"{s.MsPerSecond / idle.MsPerSecond:F1}x", "");
        t.Add("  control plane per 1,000 running (window − idle)", $"{perThousand:F1} CPU-ms/s ({perThousand / 10:F1}% of one core)", $"{loopsPerThousand:F1} CPU-ms/s bare exec loops (− idle)", $"{perThousand / loopsPerThousand:F1}x", "");
        t.Add("  execs completed/s in the window", $"{steps:F0} agent steps/s", $"{loops.ExecsPerSecond:F0} execs/s", $"{steps / loops.ExecsPerSecond:F2}x", "");
        t.Add("  CPU per exec in the window (− idle)", $"{perExecUs:F0} µs", $"{loopsPerExecUs:F0} µs", $"{perExecUs / loopsPerExecUs:F1}x", "");
        t.Add("  journal rows written/s in the window", $"{r.SteadyJournalRows / s.Wall.TotalSeconds:F0}", "", "", "");
        t.Add("  working set at the window's end", Mb(s.WorkingSetAtEnd), $"{Mb(idle.WorkingSetAtEnd)} idle node", "", "");
        t.Add("  working set per 1,000 running (− idle)", Mb((long)((s.WorkingSetAtEnd - idle.WorkingSetAtEnd) / thousands)), "", "", "");
    }
    else
    {
        t.Add($"steady window: all {n} running, none finished", "n/a: a task finished before all were running (raise --work-seconds)", "", "", "NO");
    }
    t.Add("GC collections gen0/1/2 (whole process)", string.Join("/", r.Collections), "", "", "");
    return t;
}

static BenchOptions ParseArgs(string[] args)
{
    var o = new BenchOptions();
    for (var i = 0; i < args.Length; i++)
    {
        var flag = args[i];
        int Next() => ++i < args.Length && int.TryParse(args[i], out var v) && v > 0
            ? v
            : throw new ArgumentException($"{flag} needs a positive integer");
        o = flag switch
        {
            "--tasks" => o with { Tasks = Next() },
            "--parallelism" => o with { Parallelism = Next() },
            "--recoveries" => o with { Recoveries = Next() },
            "--deadline-minutes" => o with { Deadline = TimeSpan.FromMinutes(Next()) },
            "--concurrent" => o with { Concurrent = Next() },
            "--work-seconds" => o with { WorkSeconds = Next() },
            "--window-seconds" => o with { WindowSeconds = Next() },
            "--keep-data" => o with { KeepData = true },
            "--hocon" => o with { ExtraHocon = ++i < args.Length && File.Exists(args[i]) ? File.ReadAllText(args[i]) : throw new ArgumentException("--hocon needs an existing file") },
            _ => throw new ArgumentException($"unknown argument '{flag}'"),
        };
    }
    return o;
}
