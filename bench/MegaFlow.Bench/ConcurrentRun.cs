using System.Diagnostics;
using MegaFlow.Protocol.Tasks;
using System.Globalization;
using Akka.Actor;
using MegaFlow.Hosting;
using MegaFlow.Hosting.Persistence;
using MegaFlow.Actors.Tasks;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using MegaFlow.Environments.Simulated;
using Microsoft.Data.Sqlite;
using static MegaFlow.Contracts.Tasks.TaskProtocol;

namespace MegaFlow.Bench;

/// <summary>What the capacity run measured.</summary>
public sealed record ConcurrentResult
{
    public required int Tasks { get; init; }
    public required string ExecLatency { get; init; }
    public required double NominalWorkMs { get; init; }
    public required int Submitted { get; init; }
    public required int Rejected { get; init; }
    public required int SubmitErrors { get; init; }
    public required int Terminal { get; init; }
    public required IReadOnlyDictionary<TaskStatus, int> TerminalByStatus { get; init; }
    public required int CompletedEvents { get; init; }

    /// <summary>Tasks that needed more than one attempt (infrastructure retries).</summary>
    public required int Retried { get; init; }

    public required bool TimedOut { get; init; }

    /// <summary>First submission sent → last submission answered.</summary>
    public required TimeSpan SubmissionWall { get; init; }

    /// <summary>First submission sent → last task terminal.</summary>
    public required TimeSpan Wall { get; init; }

    /// <summary>Latest over all tasks of (submitted-at − first submission + the task's own drawn exec times).</summary>
    public required TimeSpan IdealWall { get; init; }

    /// <summary>Process CPU from the first submission to the last terminal task.</summary>
    public required TimeSpan Cpu { get; init; }

    public required CpuWindow Idle { get; init; }
    public required ExecLoopResult ExecLoops { get; init; }

    /// <summary>All tasks running, none finished; null if one finished before all were running.</summary>
    public required CpuWindow? Steady { get; init; }

    /// <summary>The steady window ended at the first finished task rather than after its full length.</summary>
    public required bool SteadyCutShort { get; init; }

    public required long SteadyJournalRows { get; init; }

    /// <summary>Agent steps (execs) that ended inside the steady window, from the journal.</summary>
    public required int SteadySteps { get; init; }

    public required Percentiles SubmitToAdmit { get; init; }
    public required Percentiles QueueToAdmit { get; init; }
    public required Percentiles SubmitToFinish { get; init; }
    public required long PeakWorkingSet { get; init; }
    public required int[] Collections { get; init; }
}

/// <summary>
/// Capacity mode: N tasks running at once on one node (scheduler + worker, SQLite, the simulated
/// provider), each about W seconds of simulated work split over <see cref="ExecsPerTask"/> commands
/// (nine agent rounds and the scoring command) drawn from uniform(0.89·W/10, 1.11·W/10). Scheduler caps
/// are raised to N so admission is never held back by a cap; provisioning, reset and destroy are
/// instant so the work is only the commands. Everything else (environment lease checks every
/// check-interval, retry intervals) is the production default.
/// Phases, all in this process: the idle node over one window, <see cref="ExecLoopBaseline"/> over
/// one window, then the run, with the CPU sampled over one window while all N are running and none
/// has finished.
/// </summary>
public static class ConcurrentRun
{
    /// <summary>Commands per task: nine agent rounds and the scoring command.</summary>
    public const int ExecsPerTask = 10;

    public static (int MinMs, int MaxMs) ExecLatencyMs(int workSeconds)
    {
        var mean = workSeconds * 1000.0 / ExecsPerTask;
        return ((int)Math.Round(mean * 8 / 9), (int)Math.Round(mean * 10 / 9));
    }

    public static TaskSpec Spec(int i, int workSeconds, TimeSpan maxExec)
    {
        // The end-to-end mode's mix: 20% persistent over four pools, the rest ephemeral.
        var persistent = i % 5 == 0;
        var pool = persistent ? $"pool-{i / 5 % 4}" : "bench-image";
        return new TaskSpec
        {
            TaskId = $"bench-{i:D6}",
            Mode = persistent ? "persistent" : "ephemeral",
            Image = pool,
            Pool = pool,
            Actions = Enumerable.Range(1, ExecsPerTask - 1).Select(r => $"echo round {r}").ToArray(),
            ScoreCommand = "exit 0",
            MaxRounds = ExecsPerTask - 1,
            // Budgets far above the work, so a slow node shows up as latency, not as timeouts.
            SetupTimeoutSeconds = 600,
            RunTimeoutSeconds = Math.Max(600, 4 * workSeconds),
            ScoringTimeoutSeconds = 600,
            ExecTimeoutSeconds = Math.Max(60, 3 * maxExec.TotalSeconds),
            MaxInfraRetries = 2,
        };
    }

    public static async Task<ConcurrentResult> RunAsync(BenchOptions o, string dataDir, Action<string> log)
    {
        var n = o.Concurrent ?? throw new ArgumentException("capacity mode needs --concurrent");
        var window = TimeSpan.FromSeconds(o.WindowSeconds);
        var (minMs, maxMs) = ExecLatencyMs(o.WorkSeconds);
        var execLatency = string.Create(CultureInfo.InvariantCulture, $"uniform:{minMs}-{maxMs}");
        var maxExec = TimeSpan.FromMilliseconds(maxMs);
        var meanExecMs = (minMs + maxMs) / 2.0;
        var deadline = o.Deadline ?? TimeSpan.FromSeconds(o.WorkSeconds) + TimeSpan.FromMinutes(10);

        var settings = new NodeSettings
        {
            Port = 0,
            DataDir = dataDir,
            Provider = "simulated",
            Roles = ["scheduler", "worker"],
            ExtraHocon = $$"""
                akka.loglevel = WARNING
                megaflow.scheduler {
                  max-running = {{n}}
                  max-starting = {{n}}
                  slots-per-node = {{n}}
                  max-pool-size = {{n}}
                }
                megaflow.simulated {
                  provision-latency = "0"
                  exec-latency = "{{execLatency}}"
                  reset-latency = "0"
                  destroy-latency = "0"
                }
                """ + "\n" + (o.ExtraHocon ?? ""),
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

            // Joining, shard allocation and JIT are start-up, not idle cost.
            await Task.Delay(TimeSpan.FromSeconds(5));
            var idleStart = CpuMark.Now();
            await Task.Delay(window);
            var idle = idleStart.Until(CpuMark.Now());
            log($"idle node: {idle.MsPerSecond:F1} CPU-ms/s over {idle.Wall.TotalSeconds:F1}s, working set {Mb(idle.WorkingSetAtEnd)}");

            log($"bare exec loops: {n} loops, exec {execLatency} ms, warm-up {maxExec.TotalSeconds * 1.5:F1}s, window {window.TotalSeconds:F0}s");
            var loops = await ExecLoopBaseline.RunAsync(n, LatencyDistribution.Parse(execLatency), maxExec, window);
            log($"bare exec loops: {loops.Window.MsPerSecond:F1} CPU-ms/s, {loops.ExecsPerSecond:F0} execs/s");
            // Leave the run a heap like the idle node's, not one holding the loops' garbage.
            GC.Collect();
            GC.WaitForPendingFinalizers();

            await using var feed = await TaskEventFeed.SubscribeAsync(system, capacity: 1_000_000);
            var clock = new Stopwatch();
            var byStatus = new Dictionary<TaskStatus, int>();
            int runningCount = 0, terminalCount = 0;
            var lastTerminalAt = TimeSpan.Zero;
            var allRunning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var firstTerminal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var allTerminal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var reader = Task.Run(async () =>
            {
                var running = new HashSet<string>();
                var terminal = new HashSet<string>();
                await foreach (var e in feed.Reader.ReadAllAsync())
                {
                    if ((e.Status is TaskStatus.Running or TaskStatus.Scoring) && running.Add(e.TaskId)
                        && Interlocked.Increment(ref runningCount) == n)
                        allRunning.TrySetResult();
                    if (!e.Status.IsTerminal() || !terminal.Add(e.TaskId)) continue;
                    lock (byStatus) byStatus[e.Status] = byStatus.GetValueOrDefault(e.Status) + 1;
                    firstTerminal.TrySetResult();
                    if (Interlocked.Increment(ref terminalCount) == n)
                    {
                        lastTerminalAt = clock.Elapsed;
                        allTerminal.TrySetResult();
                    }
                }
            });

            await using var db = new SqliteConnection(cs);
            await db.OpenAsync();
            async Task<long> JournalRowsAsync() =>
                await ClusterRun.ScalarAsync(db, "SELECT coalesce(max(ordering),0) FROM journal")
                + await ClusterRun.ScalarAsync(db, "SELECT coalesce(max(ordering),0) FROM sharding_journal");

            var submissions = new Submissions();
            using var stopProgress = new CancellationTokenSource();
            var progress = Task.Run(async () =>
            {
                using var timer = new PeriodicTimer(TimeSpan.FromSeconds(5));
                try
                {
                    while (await timer.WaitForNextTickAsync(stopProgress.Token))
                        log($"[{clock.Elapsed.TotalSeconds,6:F1}s] accepted {submissions.Accepted,6}  running {Volatile.Read(ref runningCount),6}  terminal {Volatile.Read(ref terminalCount),6}  working set {Mb(CpuMark.WorkingSetNow())}");
                }
                catch (OperationCanceledException)
                {
                }
            });

            log($"run: {n} tasks, {ExecsPerTask} execs each of {execLatency} ms (≈ {ExecsPerTask * meanExecMs / 1000:F1}s of work)");
            var runStartedAt = DateTimeOffset.UtcNow;
            var runStart = CpuMark.Now();
            clock.Start();
            await submissions.SubmitAsync(refs.Tasks, n, o.Parallelism, i => Spec(i, o.WorkSeconds, maxExec));
            var submissionWall = clock.Elapsed;
            log($"all submissions answered after {submissionWall.TotalSeconds:F1}s: {submissions}");

            Task Remaining() => Task.Delay(deadline - clock.Elapsed > TimeSpan.Zero ? deadline - clock.Elapsed : TimeSpan.Zero);

            CpuWindow? steady = null;
            var cutShort = false;
            long steadyRows = 0;
            await Task.WhenAny(allRunning.Task, firstTerminal.Task, Remaining());
            if (allRunning.Task.IsCompleted && !firstTerminal.Task.IsCompleted)
            {
                log($"all {n} running after {clock.Elapsed.TotalSeconds:F1}s; sampling CPU for up to {window.TotalSeconds:F0}s");
                var rowsBefore = await JournalRowsAsync();
                var steadyStart = CpuMark.Now();
                await Task.WhenAny(Task.Delay(window), firstTerminal.Task);
                steady = steadyStart.Until(CpuMark.Now());
                cutShort = firstTerminal.Task.IsCompleted;
                steadyRows = await JournalRowsAsync() - rowsBefore;
                log($"steady window: {steady.MsPerSecond:F1} CPU-ms/s over {steady.Wall.TotalSeconds:F1}s{(cutShort ? " (cut short by the first finished task)" : "")}");
            }
            else
            {
                log($"no steady window: {Volatile.Read(ref runningCount)}/{n} running when the first task finished or the deadline passed");
            }

            var timedOut = await Task.WhenAny(allTerminal.Task, Remaining()) != allTerminal.Task;
            var runEnd = CpuMark.Now();
            var wall = timedOut ? clock.Elapsed : lastTerminalAt;
            await stopProgress.CancelAsync();
            await progress;
            log(timedOut
                ? $"DEADLINE: only {Volatile.Read(ref terminalCount)}/{n} terminal after {clock.Elapsed.TotalSeconds:F1}s"
                : $"all {n} tasks terminal after {wall.TotalSeconds:F1}s");

            var journal = await ClusterRun.ReadTaskStatesAsync(cs);
            var tasks = journal.States.Where(s => s.TaskId.StartsWith("bench-", StringComparison.Ordinal)).ToList();
            // The scoring command's duration is not journaled: it counts at the distribution's mean.
            var ideal = tasks.Where(s => s.SubmittedAt is not null && s.Status == TaskStatus.Completed)
                .Select(s => s.SubmittedAt!.Value - runStartedAt + TimeSpan.FromMilliseconds(s.Steps.Sum(x => x.DurationMs) + meanExecMs))
                .DefaultIfEmpty(TimeSpan.Zero)
                .Max();
            var steadySteps = steady is { } sw
                ? tasks.Sum(s => s.Steps.Count(x => x.StartedAt.AddMilliseconds(x.DurationMs) is var end && end >= sw.StartedAt && end < sw.EndedAt))
                : 0;

            Dictionary<TaskStatus, int> ByStatus()
            {
                lock (byStatus) return new Dictionary<TaskStatus, int>(byStatus);
            }

            using var self = Process.GetCurrentProcess();
            var result = new ConcurrentResult
            {
                Tasks = n,
                ExecLatency = execLatency,
                NominalWorkMs = ExecsPerTask * meanExecMs,
                Submitted = submissions.Accepted,
                Rejected = submissions.Rejected,
                SubmitErrors = submissions.Errors,
                Terminal = Volatile.Read(ref terminalCount),
                TerminalByStatus = ByStatus(),
                CompletedEvents = journal.CompletedEvents,
                Retried = tasks.Count(s => s.Attempt > 1),
                TimedOut = timedOut,
                SubmissionWall = submissionWall,
                Wall = wall,
                IdealWall = ideal,
                Cpu = runStart.Until(runEnd).Cpu,
                Idle = idle,
                ExecLoops = loops,
                Steady = steady,
                SteadyCutShort = cutShort,
                SteadyJournalRows = steadyRows,
                SteadySteps = steadySteps,
                SubmitToAdmit = Percentiles.Of(tasks.Where(s => s.SubmittedAt is not null && s.AdmittedAt is not null).Select(s => s.AdmittedAt!.Value - s.SubmittedAt!.Value)),
                QueueToAdmit = Percentiles.Of(tasks.Where(s => s.QueuedAt is not null && s.AdmittedAt is not null).Select(s => s.AdmittedAt!.Value - s.QueuedAt!.Value)),
                SubmitToFinish = Percentiles.Of(tasks.Where(s => s.SubmittedAt is not null && s.FinishedAt is not null).Select(s => s.FinishedAt!.Value - s.SubmittedAt!.Value)),
                PeakWorkingSet = self.PeakWorkingSet64,
                Collections = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)],
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

    private static string Mb(long bytes) => $"{bytes / 1024.0 / 1024.0:F0} MiB";
}
