using System.Diagnostics;
using MegaFlow.Contracts;
using MegaFlow.Hosting;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using MegaFlow.Node.Demo;
using MegaFlow.Verification;

namespace MegaFlow.Chaos;

/// <summary>
/// One chaos run from start to report: a fresh PostgreSQL database, N node processes, the dataset
/// submitted through the management API, the fault schedule while the tasks run, a drain, and the
/// verifier over the journal. With <see cref="ChaosOptions.Baseline"/>, a fault-free run of the same
/// size comes first.
/// </summary>
public static class ChaosRun
{
    private const string Token = "chaos-harness-token";

    public static async Task<ChaosResult> RunAsync(ChaosOptions options, Action<string> log, CancellationToken ct = default)
    {
        RunResult? baseline = null;
        if (options.Baseline)
        {
            log("== baseline: same size, no faults ==");
            baseline = await RunOnceAsync(options with { Kills = 0, SchedulerKills = 0, PostgresOutage = TimeSpan.Zero }, "baseline", log, ct);
        }
        log("== chaos run ==");
        var chaos = await RunOnceAsync(options, "chaos", log, ct);
        return new ChaosResult(options, chaos, baseline);
    }

    /// <summary>The scheduler caps every node is configured with (written into their HOCON), so the verifier checks the same numbers.</summary>
    public static SchedulerSettings Caps(ChaosOptions o) => new() { MaxRunning = 256, MaxStarting = 32, SlotsPerNode = o.SlotsPerNode, MaxPoolSize = 8, DefaultPoolCap = 1_000_000 };

    private static async Task<RunResult> RunOnceAsync(ChaosOptions o, string label, Action<string> log, CancellationToken ct)
    {
        var runId = $"{label}_{Guid.NewGuid():N}"[..(label.Length + 11)];
        var database = "megaflow_" + runId;
        var dir = Path.Combine(o.WorkDir ?? Path.Combine(Path.GetTempPath(), "megaflow-chaos"), runId);
        Directory.CreateDirectory(Path.Combine(dir, "logs"));
        var clock = Stopwatch.StartNew();
        void Log(string line) => log($"[{label} {clock.Elapsed.TotalSeconds,6:F1}s] {line}");
        Log($"run folder {dir}, database {database}, provider {o.Provider}, seed {o.Seed}");

        var caps = Caps(o);
        var dockerImage = SampleTasks.DockerImage;
        if (o.Provider == "docker") await DockerEngine.RequireAsync(dockerImage);
        var postgres = o.PostgresOutage > TimeSpan.Zero ? await PostgresServer.StartPrivateAsync(Path.Combine(dir, "postgres")) : PostgresServer.Shared(o.Postgres);
        if (postgres.Private) Log($"private PostgreSQL server for the outage: {postgres.AdminConnection}");
        ChaosCluster? cluster = null;
        var failed = true;
        try
        {
            var connection = await postgres.CreateDatabaseAsync(database);
            var journal = new JournalReader(PersistenceBackend.Postgres, connection);
            cluster = CreateCluster(o, dir, connection, runId, caps);
            cluster.StartAll();
            if (!await cluster.WaitWholeAsync(TimeSpan.FromMinutes(3), ct))
                throw new InvalidOperationException($"the {o.Nodes} nodes did not form a cluster within 3 min (logs in {dir}/logs)");
            Log($"{o.Nodes} nodes up: {string.Join(", ", cluster.Nodes.Select(n => $"{n.Name}={n.Address} api :{n.ManagementPort}"))}");

            var specs = ChaosDataset.Create(o.Tasks, o.Provider, o.TaskSeconds);
            var ids = specs.Select(s => s.TaskId!).ToList();
            var submitStart = DateTimeOffset.UtcNow;
            await SubmitAsync(cluster, specs, Log, ct);
            Log($"submitted {specs.Count} tasks ({specs.Count(s => s.ExecutionMode == ExecutionMode.Persistent)} persistent) in {(DateTimeOffset.UtcNow - submitStart).TotalSeconds:F1} s");

            var finished = 0;
            // Cancelled once every task is terminal, at the deadline, or when the run itself is cancelled.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var schedule = new FaultSchedule(cluster, o, postgres, () => o.Tasks - Volatile.Read(ref finished), Log);
            var faults = schedule.RunAsync(stop.Token);
            var deadline = submitStart + o.Deadline;
            var journalDown = false;
            var lastProgress = DateTimeOffset.MinValue;
            while (true)
            {
                try
                {
                    Volatile.Write(ref finished, await journal.CountFinishedTasksAsync(JournalReader.TaskPrefix + ChaosDataset.IdPrefix, ct));
                    journalDown = false;
                }
                catch (Exception e) when (e is Npgsql.NpgsqlException or System.Net.Sockets.SocketException or TimeoutException && !ct.IsCancellationRequested)
                {
                    journalDown = true; // the outage, or the server restarting: keep the last count
                }
                RestartCrashedNodes(cluster, Log);
                if (finished >= o.Tasks) stop.Cancel();
                var done = (finished >= o.Tasks || DateTimeOffset.UtcNow >= deadline) && faults.IsCompleted;
                if (done || DateTimeOffset.UtcNow - lastProgress >= o.ProgressInterval)
                {
                    lastProgress = DateTimeOffset.UtcNow;
                    Log(Progress(o, cluster, schedule, finished, journalDown));
                }
                if (done) break;
                if (DateTimeOffset.UtcNow >= deadline && !stop.IsCancellationRequested)
                {
                    Log("deadline reached with tasks unfinished: stopping the fault schedule after its current round");
                    stop.Cancel();
                }
                await Task.Delay(1000, ct);
            }
            await faults;
            var allFinished = finished >= o.Tasks;
            Log(allFinished ? "every task is terminal; draining" : $"{o.Tasks - finished} tasks unfinished at the deadline; draining anyway");

            var drain = await PoolDrain.RunAsync(cluster.Seeds, journal, o.DrainTimeout, Log);
            Log($"drain: {drain.IdleDestroyed} idle environments destroyed, {drain.LiveAfter} live environments left after {drain.Took.TotalSeconds:F1} s" +
                (drain.Problem is null ? "" : $" ({drain.Problem})"));

            var verification = JournalVerifier.Verify(await journal.ReadAllAsync(), ids, caps);
            IReadOnlyList<string>? containers = o.Provider == "docker" ? await DockerEngine.ContainersAsync(runId) : null;
            var folders = cluster.Nodes.Sum(n => Directory.Exists(Path.Combine(n.DataDir, "envs")) ? Directory.GetDirectories(Path.Combine(n.DataDir, "envs")).Length : 0);
            foreach (var n in cluster.Nodes) n.Log.Flush();
            var gaps = HandOverGaps.Measure(verification, schedule.Kills.Where(k => k.Scheduler).Select(k => k.At));
            var wall = allFinished && verification.LastTerminalAt is { } last ? last - submitStart : (TimeSpan?)null;
            var result = new RunResult(label, o, specs.Count, verification, schedule.Kills, schedule.Outage,
                cluster.Nodes.Select(Summary).ToList(), containers?.Count, folders, wall, allFinished, drain, gaps, schedule.Notes, dir);
            failed = !result.Passed;
            return result;
        }
        finally
        {
            cluster?.Dispose();
            if (o.Provider == "docker") await DockerEngine.RemoveAllAsync(runId);
            if (!(o.Keep || (failed && o.KeepDatabaseOnFailure)))
            {
                try { await postgres.DropDatabaseAsync(database); } catch (Exception e) when (e is Npgsql.NpgsqlException or System.Net.Sockets.SocketException) { }
            }
            await postgres.DisposeAsync();
            if (!o.Keep && failed && (o.KeepLogsOnFailure || o.KeepDatabaseOnFailure))
            {
                // The logs (and, for a private server, the database's files) of a failed run stay; scratch folders go.
                TryDelete(Path.Combine(dir, "nodes"));
                if (!o.KeepDatabaseOnFailure) TryDelete(Path.Combine(dir, "postgres"));
                if (!o.KeepLogsOnFailure) TryDelete(Path.Combine(dir, "logs"));
            }
            else if (!o.Keep) TryDelete(dir);
        }
    }

    private static ChaosCluster CreateCluster(ChaosOptions o, string dir, string connection, string runId, SchedulerSettings caps)
    {
        var config = Path.Combine(dir, "node.conf");
        // Production settings except the caps the verifier must know and the Docker label that scopes
        // this run's containers; --hocon comes last.
        File.WriteAllText(config, $$"""
            megaflow.scheduler { max-running = {{caps.MaxRunning}}, max-starting = {{caps.MaxStarting}}, slots-per-node = {{caps.SlotsPerNode}}, max-pool-size = {{caps.MaxPoolSize}}, default-pool-cap = {{caps.DefaultPoolCap}} }
            megaflow.docker.cluster-label = "{{runId}}"
            # The verifier replays the scheduler's whole journal: keep the events snapshots make obsolete.
            megaflow.scheduler.delete-obsolete = off
            {{o.Hocon}}
            """);
        var ports = Enumerable.Range(0, o.Nodes).Select(_ => FreePort()).ToList();
        var managementPorts = Enumerable.Range(0, o.Nodes).Select(_ => FreePort()).ToList();
        var seeds = string.Join(",", ports.Take(2).Select(p => $"akka.tcp://megaflow@127.0.0.1:{p}"));
        var dll = Path.Combine(AppContext.BaseDirectory, "megaflow.dll");
        if (!File.Exists(dll)) throw new InvalidOperationException($"{dll} is missing (build the solution: the harness references src/Node)");
        var nodes = Enumerable.Range(0, o.Nodes).Select(i =>
        {
            var data = Path.Combine(dir, "nodes", $"node{i}");
            Directory.CreateDirectory(data);
            var env = new Dictionary<string, string>
            {
                ["MEGAFLOW_HOSTNAME"] = "127.0.0.1",
                ["MEGAFLOW_PORT"] = ports[i].ToString(),
                ["MEGAFLOW_SEEDS"] = seeds,
                ["MEGAFLOW_ROLES"] = "scheduler,worker",
                ["MEGAFLOW_PERSISTENCE"] = "postgres",
                ["MEGAFLOW_CONNECTION_STRING"] = connection,
                ["MEGAFLOW_DATA_DIR"] = data,
                ["MEGAFLOW_PROVIDER"] = o.Provider,
                ["MEGAFLOW_CONFIG"] = config,
                ["MEGAFLOW_MANAGEMENT_PORT"] = managementPorts[i].ToString(),
                // Set, not generated: a generated token changes at every restart (issue 9, item 6).
                ["MEGAFLOW_MANAGEMENT_TOKEN"] = Token,
            };
            return new ChaosNode(i, dll, ports[i], managementPorts[i], data, env, new NodeLog(Path.Combine(dir, "logs", $"node{i}.log"), o.LogCapBytes));
        }).ToList();
        return new ChaosCluster(nodes, new ManagementApi(Token));
    }

    /// <summary>
    /// Batches of 50 through the management API, one batch in flight per node; a batch that fails is
    /// retried against the next node (submission is idempotent per task id).
    /// </summary>
    private static async Task SubmitAsync(ChaosCluster cluster, IReadOnlyList<TaskSpec> specs, Action<string> log, CancellationToken ct)
    {
        var batches = specs.Chunk(50).ToList();
        await Parallel.ForEachAsync(Enumerable.Range(0, batches.Count), new ParallelOptions { MaxDegreeOfParallelism = cluster.Nodes.Count, CancellationToken = ct }, async (b, token) =>
        {
            for (var attempt = 0; ; attempt++)
            {
                var node = cluster.Nodes[(b + attempt) % cluster.Nodes.Count];
                try
                {
                    var results = await cluster.Api.SubmitAsync(node, batches[b], token);
                    var rejected = results.Where(r => !r.Accepted).ToList();
                    if (rejected.Count > 0)
                        throw new InvalidOperationException($"the harness's own specs were rejected: {string.Join("; ", rejected.Take(3).Select(r => $"{r.TaskId}: {string.Join(", ", r.Errors)}"))}");
                    return;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !token.IsCancellationRequested && attempt < 3 * cluster.Nodes.Count)
                {
                    log($"submit batch {b + 1}/{batches.Count} via {node.Name} failed ({e.Message.Split('\n')[0]}); retrying on the next node");
                    await Task.Delay(1000, token);
                }
            }
        });
    }

    private static void RestartCrashedNodes(ChaosCluster cluster, Action<string> log)
    {
        foreach (var n in cluster.Nodes.Where(n => n.ExitedOnItsOwn))
        {
            log($"{n.Name} exited on its own; starting it again");
            n.Start();
        }
    }

    private static string Progress(ChaosOptions o, ChaosCluster cluster, FaultSchedule schedule, int finished, bool journalDown) =>
        $"terminal {finished}/{o.Tasks}{(journalDown ? " (journal unreachable)" : "")} · kills {schedule.Kills.Count}/{o.Kills} " +
        $"(scheduler {schedule.Kills.Count(k => k.Scheduler)}) · restarts {cluster.Nodes.Sum(n => n.Starts - 1)} · " +
        $"error lines {cluster.Nodes.Sum(n => n.Log.ErrorLines)} · logs {cluster.Nodes.Sum(n => n.Log.Bytes) / 1048576.0:F1} MiB";

    private static NodeSummary Summary(ChaosNode n) =>
        new(n.Name, n.Address, n.Starts - 1, n.Kills, n.UnexpectedExits.ToList(), n.Log.Lines, n.Log.Bytes, n.Log.ErrorLines, n.Log.TopErrorSources(3), n.Log.WorstActor(), n.Log.Path, n.Log.Truncated);

    private static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        var port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    private static void TryDelete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
