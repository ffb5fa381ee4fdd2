using System.Diagnostics;
using System.Globalization;
using MegaFlow.Bench;

// MegaFlow end-to-end benchmark: the full persisted path on one node, then raw SQLite inserts of the
// same number of rows as a baseline, then one table. Usage:
//   dotnet run -c Release --project bench/MegaFlow.Bench -- [--tasks 10000] [--parallelism 256] [--recoveries 2000]
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
    return 2;
}

var machine = MachineInfo.Read();
var loadBefore = MachineInfo.LoadAverage();
var started = DateTimeOffset.UtcNow;
var root = Path.Combine(Path.GetTempPath(), "megaflow-bench", started.ToString("yyyyMMdd-HHmmss") + "-" + Guid.NewGuid().ToString("N")[..6]);
var clock = Stopwatch.StartNew();
void Log(string line) => Console.WriteLine($"{clock.Elapsed.TotalSeconds,7:F1}s  {line}");

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
table.Add("  rows in tags (not counted above)", $"{cluster.TagRows}", "", "", "", "");
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

if (options.KeepData) Console.WriteLine($"data kept in {root}");
else try { Directory.Delete(root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
return cluster.Terminal == options.Tasks ? 0 : 1;

static string Yes(bool ok) => ok ? "yes" : "NO";
static string Ms(double ms) => double.IsNaN(ms) ? "n/a" : $"{ms:F0} ms";
static string Mb(long bytes) => $"{bytes / 1024.0 / 1024.0:F0} MiB";

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
            "--keep-data" => o with { KeepData = true },
            "--hocon" => o with { ExtraHocon = ++i < args.Length && File.Exists(args[i]) ? File.ReadAllText(args[i]) : throw new ArgumentException("--hocon needs an existing file") },
            _ => throw new ArgumentException($"unknown argument '{flag}'"),
        };
    }
    return o;
}
