using System.Diagnostics;
using MegaFlow.Protocol.Tasks;
using Akka.Actor;
using MegaFlow.Hosting;
using MegaFlow.Hosting.Persistence;
using MegaFlow.Protocol.Serialization;
using MegaFlow.Actors.Tasks;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using Microsoft.Data.Sqlite;
using static MegaFlow.Contracts.Tasks.TaskProtocol;

namespace MegaFlow.Bench;

/// <summary>Options of one benchmark run.</summary>
public sealed record BenchOptions
{
    public int Tasks { get; init; } = 10_000;
    public int Parallelism { get; init; } = 256;
    public int Recoveries { get; init; } = 2_000;
    public int VerifySample { get; init; } = 200;

    /// <summary>How long to wait for every task; null for the mode's default (8 min, or the work plus 10 min with <see cref="Concurrent"/>).</summary>
    public TimeSpan? Deadline { get; init; }

    /// <summary>Capacity mode: this many tasks running at once, each with <see cref="WorkSeconds"/> of simulated work (see <see cref="ConcurrentRun"/>).</summary>
    public int? Concurrent { get; init; }

    /// <summary>Simulated work per task in the capacity mode.</summary>
    public int WorkSeconds { get; init; } = 90;

    /// <summary>Length of the CPU sampling windows in the capacity mode (idle node, bare exec loops, all tasks running).</summary>
    public int WindowSeconds { get; init; } = 30;

    /// <summary>Extra HOCON appended to the node's configuration (for trying settings).</summary>
    public string? ExtraHocon { get; init; }

    /// <summary>Leave the databases in place for inspection (profiling by journal timestamps).</summary>
    public bool KeepData { get; init; }
}

/// <summary>What the full persisted path measured.</summary>
public sealed record ClusterResult
{
    public required int Submitted { get; init; }
    public required int Rejected { get; init; }
    public required int SubmitErrors { get; init; }
    public required int Terminal { get; init; }
    public required IReadOnlyDictionary<TaskStatus, int> TerminalByStatus { get; init; }
    public required bool TimedOut { get; init; }
    public required TimeSpan Wall { get; init; }
    public required TimeSpan Cpu { get; init; }
    public required long JournalRows { get; init; }
    public required long ShardingRows { get; init; }
    public required long TagRows { get; init; }
    public required double AvgMessageBytes { get; init; }
    public required IReadOnlyList<string> JournalDdl { get; init; }
    public required int TaskEntities { get; init; }
    public required int EnvironmentEntities { get; init; }
    public required int CompletedEvents { get; init; }
    public required int Recoveries { get; init; }
    public required TimeSpan RecoveryWall { get; init; }
    public required int SampleChecked { get; init; }
    public required int SampleCompleted { get; init; }
    public required Percentiles SubmitToAdmit { get; init; }
    public required Percentiles QueueToAdmit { get; init; }
    public required Percentiles SubmitToFinish { get; init; }
    public required long PeakWorkingSet { get; init; }
    public required long ManagedHeapAtEnd { get; init; }
    public required long TotalAllocated { get; init; }
    public required int[] Collections { get; init; }
    public required IReadOnlyList<string> Progress { get; init; }
}

/// <summary>
/// Step 1: one node (scheduler + worker) on a fresh SQLite journal, the simulated provider with zero
/// latency, and scheduler caps high enough that admission is not the limit. Everything goes through
/// the same entry points the host uses (MegaFlowConfig, SchemaInitializer, MegaFlowNode, TaskGateway).
/// </summary>
public static class ClusterRun
{
    private const string BenchHocon = """
        akka.loglevel = WARNING
        megaflow.scheduler {
          max-running = 2000
          max-starting = 2000
          slots-per-node = 2000
          max-pool-size = 64
        }
        megaflow.simulated {
          provision-latency = "0"
          exec-latency = "0"
          reset-latency = "0"
          destroy-latency = "0"
        }
        """;

    public static TaskSpec Spec(int i)
    {
        // 20% persistent over four pools, the rest ephemeral.
        var persistent = i % 5 == 0;
        var pool = persistent ? $"pool-{i / 5 % 4}" : "bench-image";
        return new TaskSpec
        {
            TaskId = $"bench-{i:D6}",
            Mode = persistent ? "persistent" : "ephemeral",
            Image = pool,
            Pool = pool,
            Actions = ["echo a", "echo b"],
            ScoreCommand = "exit 0",
            MaxRounds = 10,
            SetupTimeoutSeconds = 600,
            RunTimeoutSeconds = 600,
            ScoringTimeoutSeconds = 600,
            ExecTimeoutSeconds = 60,
            MaxInfraRetries = 2,
        };
    }

    public static async Task<ClusterResult> RunAsync(BenchOptions o, string dataDir, Action<string> log)
    {
        var settings = new NodeSettings
        {
            Port = 0,
            DataDir = dataDir,
            Provider = "simulated",
            Roles = ["scheduler", "worker"],
            ExtraHocon = BenchHocon + "\n" + (o.ExtraHocon ?? ""),
        };
        await SchemaInitializer.EnsureAsync(settings, TimeSpan.FromMinutes(1));
        var cs = settings.SqliteConnectionString;

        var node = await RunningNode.StartAsync(settings);
        var system = node.System;
        try
        {
            var refs = node.Refs;
            await MegaFlow.Actors.Scheduling.SchedulerReadiness.WaitForWorkersAsync(refs.Scheduler, workers: 1, TimeSpan.FromSeconds(60));
            log("node up, scheduler sees 1 node");

            // Subscribe before submitting so no status change is missed.
            await using var feed = await TaskEventFeed.SubscribeAsync(system, capacity: 1_000_000);
            var terminalIds = new HashSet<string>();
            var byStatus = new Dictionary<TaskStatus, int>();
            var terminalCount = 0;
            var allTerminal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var reader = Task.Run(async () =>
            {
                await foreach (var e in feed.Reader.ReadAllAsync())
                {
                    if (!e.Status.IsTerminal() || !terminalIds.Add(e.TaskId)) continue;
                    byStatus[e.Status] = byStatus.GetValueOrDefault(e.Status) + 1;
                    if (Interlocked.Increment(ref terminalCount) == o.Tasks) allTerminal.TrySetResult();
                }
            });

            var submissions = new Submissions();
            var progress = new List<string>();
            var clock = Stopwatch.StartNew();
            // CPU time of the whole process over the measured window: unlike tasks/s it barely moves
            // with what else the machine is running, so it is the figure to compare changes by.
            var cpuAtStart = Process.GetCurrentProcess().TotalProcessorTime;
            using var stopProgress = new CancellationTokenSource();
            var progressTask = ReportProgressAsync(cs, clock, () => (submissions.Accepted, Volatile.Read(ref terminalCount)), o.Tasks, progress, log, stopProgress.Token);

            await submissions.SubmitAsync(refs.Tasks, o.Tasks, o.Parallelism, i => Spec(i));
            log($"all submissions answered after {clock.Elapsed.TotalSeconds:F1}s: {submissions}");

            var deadline = o.Deadline ?? TimeSpan.FromMinutes(8);
            var timedOut = await Task.WhenAny(allTerminal.Task, Task.Delay(deadline - clock.Elapsed > TimeSpan.Zero ? deadline - clock.Elapsed : TimeSpan.Zero)) != allTerminal.Task;
            var wall = clock.Elapsed;
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuAtStart;
            await stopProgress.CancelAsync();
            await progressTask;
            log(timedOut
                ? $"DEADLINE: only {Volatile.Read(ref terminalCount)}/{o.Tasks} terminal after {wall.TotalSeconds:F1}s"
                : $"all {o.Tasks} tasks terminal after {wall.TotalSeconds:F1}s");

            // How far the task read model trails the journal: a listing that waits for every write made
            // before it (as `megaflow tasks list` does), asked the moment the last task ended.
            var listingClock = Stopwatch.StartNew();
            var listing = await MegaFlow.Actors.Tasks.ReadModel.TaskReadModels.ListAsync(system);
            log($"task read model: a listing of every write answered {listingClock.Elapsed.TotalSeconds:F2}s after the last task ended " +
                $"({listing.Counts.GetValueOrDefault(TaskStatus.Completed)} completed)");

            // Count what was persisted right at the end of the measured window.
            var (journalRows, shardingRows, tagRows, avgBytes, ddl) = await CountRowsAsync(cs);

            // Fresh-entity recoveries: never-seen ids through the region. Each one is a shard
            // remember-entities write, an entity start and an (empty) journal recovery.
            var recoveryClock = Stopwatch.StartNew();
            var recoveries = Enumerable.Range(0, o.Recoveries)
                .Select(i => refs.Tasks.Ask<TaskState>(new GetTaskState($"fresh-{i:D6}"), TimeSpan.FromSeconds(180)))
                .ToArray();
            await Task.WhenAll(recoveries);
            var recoveryWall = recoveryClock.Elapsed;
            log($"{o.Recoveries} fresh entities recovered in {recoveryWall.TotalSeconds:F2}s");

            // Spot check through the actors (these re-activate passivated tasks; not timed).
            var step = Math.Max(1, o.Tasks / Math.Max(1, o.VerifySample));
            var sampleIds = Enumerable.Range(0, o.Tasks).Where(i => i % step == 0).Take(o.VerifySample).Select(i => Spec(i).TaskId!).ToList();
            var states = await Task.WhenAll(sampleIds.Select(id => refs.Tasks.Ask<TaskState>(new GetTaskState(id), TimeSpan.FromSeconds(120))));
            var sampleCompleted = states.Count(s => s.Status == TaskStatus.Completed);

            var journal = await ReadTaskStatesAsync(cs);
            var proc = Process.GetCurrentProcess();
            proc.Refresh();
            var result = new ClusterResult
            {
                Submitted = submissions.Accepted,
                Rejected = submissions.Rejected,
                SubmitErrors = submissions.Errors,
                Terminal = Volatile.Read(ref terminalCount),
                TerminalByStatus = new Dictionary<TaskStatus, int>(byStatus),
                TimedOut = timedOut,
                Wall = wall,
                Cpu = cpu,
                JournalRows = journalRows,
                ShardingRows = shardingRows,
                TagRows = tagRows,
                AvgMessageBytes = avgBytes,
                JournalDdl = ddl,
                TaskEntities = journal.States.Count(s => s.TaskId.StartsWith("bench-", StringComparison.Ordinal)),
                EnvironmentEntities = journal.EnvironmentIds,
                CompletedEvents = journal.CompletedEvents,
                Recoveries = o.Recoveries,
                RecoveryWall = recoveryWall,
                SampleChecked = states.Length,
                SampleCompleted = sampleCompleted,
                SubmitToAdmit = Percentiles.Of(journal.States.Where(s => s.SubmittedAt is not null && s.AdmittedAt is not null).Select(s => s.AdmittedAt!.Value - s.SubmittedAt!.Value)),
                QueueToAdmit = Percentiles.Of(journal.States.Where(s => s.QueuedAt is not null && s.AdmittedAt is not null).Select(s => s.AdmittedAt!.Value - s.QueuedAt!.Value)),
                SubmitToFinish = Percentiles.Of(journal.States.Where(s => s.SubmittedAt is not null && s.FinishedAt is not null).Select(s => s.FinishedAt!.Value - s.SubmittedAt!.Value)),
                PeakWorkingSet = proc.PeakWorkingSet64,
                ManagedHeapAtEnd = GC.GetTotalMemory(false),
                TotalAllocated = GC.GetTotalAllocatedBytes(),
                Collections = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)],
                Progress = progress,
            };
            await feed.DisposeAsync();
            await reader.WaitAsync(TimeSpan.FromSeconds(5));
            return result;
        }
        finally
        {
            await CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClrExitReason.Instance).WaitAsync(TimeSpan.FromSeconds(60)).ContinueWith(_ => { });
            await node.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { });
            SqliteConnection.ClearAllPools();
        }
    }

    // A line every 2 s; journal sizes come from max(ordering), which is an index lookup, so polling
    // does not slow the writer down noticeably.
    private static async Task ReportProgressAsync(string cs, Stopwatch clock, Func<(int Submitted, int Done)> read, int total,
        List<string> lines, Action<string> log, CancellationToken ct)
    {
        await using var conn = new SqliteConnection(cs);
        await conn.OpenAsync(CancellationToken.None);
        long lastRows = 0;
        var lastDone = 0;
        var lastAt = TimeSpan.Zero;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(2));
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                var (submitted, done) = read();
                var rows = await ScalarAsync(conn, "SELECT coalesce(max(ordering),0) FROM journal") + await ScalarAsync(conn, "SELECT coalesce(max(ordering),0) FROM sharding_journal");
                var now = clock.Elapsed;
                var dt = (now - lastAt).TotalSeconds;
                var line = $"[{now.TotalSeconds,6:F1}s] done {done,6}/{total} ({done / now.TotalSeconds,6:F0}/s avg, {(done - lastDone) / dt,6:F0}/s now)  accepted {submitted,6}  events {rows,7} ({(rows - lastRows) / dt,6:F0}/s now)";
                lines.Add(line);
                log(line);
                (lastRows, lastDone, lastAt) = (rows, done, now);
            }
        }
        catch (OperationCanceledException) { }
    }

    private static async Task<(long Journal, long Sharding, long Tags, double AvgBytes, IReadOnlyList<string> Ddl)> CountRowsAsync(string cs)
    {
        await using var conn = new SqliteConnection(cs);
        await conn.OpenAsync();
        // Rows written, not rows left: the scheduler deletes the events its snapshots make obsolete, so
        // count(*) would undercount the writes; ordering is the insert sequence (its highest row is kept).
        var journal = await ScalarAsync(conn, "SELECT coalesce(max(ordering),0) FROM journal");
        var sharding = await ScalarAsync(conn, "SELECT coalesce(max(ordering),0) FROM sharding_journal");
        // Tags are a column of the journal's own rows (the task read model's row events).
        var tags = await ScalarAsync(conn, "SELECT count(*) FROM journal WHERE tags <> ''");
        var bytes = await ScalarAsync(conn, "SELECT coalesce(sum(length(message)),0) FROM journal") + await ScalarAsync(conn, "SELECT coalesce(sum(length(message)),0) FROM sharding_journal");
        var ddl = new List<string>();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT sql FROM sqlite_master WHERE tbl_name = 'journal' AND sql IS NOT NULL ORDER BY type DESC";
        await using (var r = await cmd.ExecuteReaderAsync())
            while (await r.ReadAsync()) ddl.Add(r.GetString(0));
        var rows = journal + sharding;
        return (journal, sharding, tags, rows == 0 ? 0 : (double)bytes / rows, ddl);
    }

    internal sealed record JournalSummary(IReadOnlyList<TaskState> States, int EnvironmentIds, int CompletedEvents);

    // Task states rebuilt from the durable events (the same fold the TaskActor recovers with).
    internal static async Task<JournalSummary> ReadTaskStatesAsync(string cs)
    {
        var states = new Dictionary<string, TaskState>();
        var envIds = new HashSet<string>();
        var completed = 0;
        await using var conn = new SqliteConnection(cs);
        await conn.OpenAsync();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT persistence_id, manifest, message FROM journal ORDER BY ordering";
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            var pid = r.GetString(0);
            if (pid.StartsWith("env-", StringComparison.Ordinal)) { envIds.Add(pid); continue; }
            if (!pid.StartsWith("task-", StringComparison.Ordinal)) continue;
            if (MegaFlowSerializer.Decode((byte[])r.GetValue(2), r.GetString(1)) is not TaskEvents.ITaskEvent e) continue;
            var id = pid["task-".Length..];
            states[id] = TaskLogic.Apply(states.GetValueOrDefault(id) ?? TaskState.Empty(id), e);
            if (e is TaskEvents.Completed) completed++;
        }
        return new JournalSummary(states.Values.ToList(), envIds.Count, completed);
    }

    internal static async Task<long> ScalarAsync(SqliteConnection conn, string sql)
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }
}
