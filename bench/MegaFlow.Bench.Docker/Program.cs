using System.Diagnostics;
using MegaFlow.Contracts;
using Akka.Actor;
using MegaFlow.Actors.Cluster;
using MegaFlow.Hosting;
using MegaFlow.Hosting.Persistence;
using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Environments;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using MegaFlow.Environments.Docker;
using Microsoft.Data.Sqlite;
using static MegaFlow.Contracts.Environments.EnvironmentProtocol;

// Usage: dotnet run -c Release --project bench/MegaFlow.Bench.Docker -- [samples] [parallel] [leases]
//   samples  cold samples of each kind (docker run, provider, actor path) and containers in each parallel run
//   parallel creates in flight in the parallel runs (also the provider's create semaphore)
//   leases   warm-pool lease samples
var samples = args.Length > 0 ? int.Parse(args[0]) : 40;
var parallel = args.Length > 1 ? int.Parse(args[1]) : 8;
var leaseSamples = args.Length > 2 ? int.Parse(args[2]) : 90;
const int warmup = 3;  // untimed rounds of every kind first (JIT, shard allocation, engine caches)
const int poolSize = 3;
const string image = "megaflow/base:1";
var askTimeout = TimeSpan.FromMinutes(3);
var loadAtStart = File.ReadAllText("/proc/loadavg").Trim();
var cluster = "mf-bench-" + Guid.NewGuid().ToString("N")[..8];
var spec = new EnvironmentSpec(image, "bench", ExecutionMode.Ephemeral, MemoryLimitBytes: 256L << 20, PidsLimit: 128);
var poolSpec = spec with { Pool = "bench-pool", Mode = ExecutionMode.Persistent };
Console.WriteLine($"start: {Environment.ProcessorCount} cores, load {loadAtStart}, cluster label {cluster}");

static int FreePort()
{
    var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
    l.Start();
    var port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
    l.Stop();
    return port;
}

static double P(List<double> xs, double q) { var s = xs.Order().ToList(); return s[Math.Min(s.Count - 1, (int)Math.Ceiling(q * s.Count) - 1)]; }

// ---- One node (scheduler + worker) on a fresh SQLite journal, environments on Docker -------------
// The same entry points the host uses; the provider is built here only so that it carries this run's
// cluster label (every container it makes can be found and counted afterwards).
var dataDir = Path.Combine(Path.GetTempPath(), "mf-dockerbench-" + Guid.NewGuid().ToString("N")[..8]);
var settings = new NodeSettings
{
    Port = FreePort(),
    DataDir = dataDir,
    Provider = "docker",
    Roles = ["scheduler", "worker"],
    ExtraHocon = "akka.loglevel = WARNING",
};
await SchemaInitializer.EnsureAsync(settings, TimeSpan.FromMinutes(1));
// The provider labels containers with the node's address, so the port is fixed before the node starts.
var node = $"{settings.Hostname}:{settings.Port}";
using var provider = new DockerProvider(new DockerProviderSettings { Cluster = cluster, Node = node, MaxConcurrentCreates = parallel });
var running = await RunningNode.StartAsync(settings, new NodeComponents(provider));
var system = running.System;
var rows = new List<(string Measure, double P50, double P99, string Target, string Met)>();
var notes = new List<string>();
try
{
    var refs = running.Refs;
    await MegaFlow.Actors.Scheduling.SchedulerReadiness.WaitForWorkersAsync(refs.Scheduler, workers: 1, TimeSpan.FromSeconds(60));
    var envs = refs.Environments;
    Console.WriteLine($"node {node} up");

    async Task<double> DockerRunAsync()
    {
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(new ProcessStartInfo("docker", ["run", "--rm", "--network", "none", image, "true"]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        await p.WaitForExitAsync();
        var ms = sw.Elapsed.TotalMilliseconds;
        if (p.ExitCode != 0) throw new InvalidOperationException($"docker run exited {p.ExitCode}: {await p.StandardError.ReadToEndAsync()}");
        return ms;
    }

    // Like for like with Request-to-Ready: `docker run -d` returns once the container has started
    // (no wait for exit, no removal); the container is removed afterwards, untimed.
    async Task<double> DockerRunDetachedAsync()
    {
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(new ProcessStartInfo("docker", ["run", "-d", "--network", "none", image, "tail", "-f", "/dev/null"]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var containerId = (await p.StandardOutput.ReadToEndAsync()).Trim();
        await p.WaitForExitAsync();
        var ms = sw.Elapsed.TotalMilliseconds;
        if (p.ExitCode != 0) throw new InvalidOperationException($"docker run -d exited {p.ExitCode}: {await p.StandardError.ReadToEndAsync()}");
        using var rm = Process.Start(new ProcessStartInfo("docker", ["rm", "-f", containerId]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        await rm.WaitForExitAsync();
        return ms;
    }

    async Task<(double Ms, EnvironmentHandle H)> ProviderProvisionAsync()
    {
        var sw = Stopwatch.StartNew();
        var h = await provider.ProvisionAsync(EnvironmentIds.New(node), spec, CancellationToken.None);
        return (sw.Elapsed.TotalMilliseconds, h);
    }

    // Request-to-Ready: Ask the environment region for a fresh id; done when EnvironmentReady arrives.
    // This is the whole actor path: region → shard (remember-entities write) → entity start and
    // journal recovery → persist Requested → create + start → persist Provisioned → reply.
    async Task<(double Ms, string Id)> ActorProvisionAsync(EnvironmentSpec s, string taskId)
    {
        var id = EnvironmentIds.New(node);
        var sw = Stopwatch.StartNew();
        var reply = await envs.Ask<object>(new Provision(id, s, taskId, 1), askTimeout);
        var ms = sw.Elapsed.TotalMilliseconds;
        if (reply is not EnvironmentReady) throw new InvalidOperationException($"provision {id}: {reply}");
        return (ms, id);
    }

    async Task DestroyAsync(string id)
    {
        var reply = await envs.Ask<object>(new Destroy(id, "bench"), askTimeout);
        if (reply is not DestroyDone) throw new InvalidOperationException($"destroy {id}: {reply}");
    }

    async Task ResetAsync(string id, string taskId)
    {
        var reply = await envs.Ask<object>(new Reset(id, taskId), askTimeout);
        if (reply is not ResetDone) throw new InvalidOperationException($"reset {id}: {reply}");
    }

    // ---- 1. Cold: docker run vs provider create+start vs actor Request-to-Ready, interleaved -------
    // Each round runs the three kinds in a rotating order, so none is always first after a destroy.
    var dockerRun = new List<double>();
    var dockerDetached = new List<double>();
    var cold = new List<double>();
    var reset = new List<double>();
    var actorCold = new List<double>();
    for (var i = -warmup; i < samples; i++)
    {
        var timed = i >= 0;
        for (var k = 0; k < 4; k++)
        {
            switch ((k + Math.Max(i, 0)) % 4)
            {
                case 0:
                    var d = await DockerRunAsync();
                    if (timed) dockerRun.Add(d);
                    break;
                case 1:
                    var (pm, h) = await ProviderProvisionAsync();
                    var sw = Stopwatch.StartNew();
                    await provider.ResetAsync(h, CancellationToken.None);
                    var rm = sw.Elapsed.TotalMilliseconds;
                    await provider.DestroyAsync(h, CancellationToken.None);
                    if (timed) { cold.Add(pm); reset.Add(rm); }
                    break;
                case 2:
                    var (am, id) = await ActorProvisionAsync(spec, $"cold-{i + warmup:D4}");
                    await DestroyAsync(id);
                    if (timed) actorCold.Add(am);
                    break;
                case 3:
                    var dd = await DockerRunDetachedAsync();
                    if (timed) dockerDetached.Add(dd);
                    break;
            }
        }
        if (timed && (i + 1) % 10 == 0) Console.WriteLine($"cold: {i + 1}/{samples} rounds");
    }
    var leftAfterCold = (await provider.ListResourcesAsync(CancellationToken.None)).Count;

    // ---- 2. Warm-pool lease ----------------------------------------------------------------------
    // A pool of environments made Ready the way the scheduler's persistent mode leaves them: provisioned
    // for a task, then Reset when the task ends. Timed: Lease → EnvironmentReady. Not timed: the Reset
    // that returns the environment to the pool (the pool's environments reset in parallel).
    var pool = new List<string>();
    for (var p = 0; p < poolSize; p++)
    {
        var (_, id) = await ActorProvisionAsync(poolSpec, $"pool-setup-{p}");
        await ResetAsync(id, $"pool-setup-{p}");
        pool.Add(id);
    }
    var lease = new List<double>();
    var leaseNo = 0;
    var leaseRounds = (leaseSamples + poolSize - 1) / poolSize;
    for (var r = -warmup; r < leaseRounds; r++)
    {
        var leasedTo = new List<(string Env, string Task)>();
        foreach (var id in pool)
        {
            var taskId = $"lease-{leaseNo++:D5}";
            var sw = Stopwatch.StartNew();
            var reply = await envs.Ask<object>(new EnvironmentProtocol.Lease(id, taskId, 1), askTimeout);
            var ms = sw.Elapsed.TotalMilliseconds;
            if (reply is not EnvironmentReady) throw new InvalidOperationException($"lease {id}: {reply}");
            if (r >= 0 && lease.Count < leaseSamples) lease.Add(ms);
            leasedTo.Add((id, taskId));
        }
        await Task.WhenAll(leasedTo.Select(x => ResetAsync(x.Env, x.Task)));
        if (r >= 0 && (r + 1) % 10 == 0) Console.WriteLine($"lease: {lease.Count}/{leaseSamples}");
    }
    // Sanity: every timed lease was a real one (a persisted Leased event), not a no-op reply.
    var leasesRecorded = 0;
    foreach (var id in pool) leasesRecorded += (await envs.Ask<EnvironmentState>(new GetEnvironmentState(id), askTimeout)).Leases;
    var leasesSent = leaseNo;
    await Task.WhenAll(pool.Select(DestroyAsync));

    // ---- 3. Parallel starts: `samples` containers with `parallel` creates in flight --------------
    var par = Stopwatch.StartNew();
    var handles = await Task.WhenAll(Enumerable.Range(0, samples).Select(_ => provider.ProvisionAsync(EnvironmentIds.New(node), spec, CancellationToken.None)));
    var providerPerSecond = samples / par.Elapsed.TotalSeconds;
    await Task.WhenAll(handles.Select(h => provider.DestroyAsync(h, CancellationToken.None)));

    // The same through the actor system: `samples` Provision asks, at most `parallel` outstanding.
    var ids = new List<string>();
    par.Restart();
    using (var gate = new SemaphoreSlim(parallel))
    {
        var all = Enumerable.Range(0, samples).Select(async n =>
        {
            await gate.WaitAsync();
            try { return (await ActorProvisionAsync(spec, $"par-{n:D4}")).Id; }
            finally { gate.Release(); }
        }).ToList();
        ids.AddRange(await Task.WhenAll(all));
    }
    var actorPerSecond = samples / par.Elapsed.TotalSeconds;
    await Task.WhenAll(ids.Select(DestroyAsync));

    var leftAtEnd = (await provider.ListResourcesAsync(CancellationToken.None)).Count;
    var loadAtEnd = File.ReadAllText("/proc/loadavg").Trim();

    // ---- Table -----------------------------------------------------------------------------------
    var baseP50 = P(dockerRun, .5);
    var actorRatio = P(actorCold, .5) / baseP50;
    var providerRatio = P(cold, .5) / baseP50;
    rows.Add(($"`docker run --rm {image} true` (baseline)", baseP50, P(dockerRun, .99), "", ""));
    rows.Add(("cold Request-to-Ready, actor path (Provision → EnvironmentReady)", P(actorCold, .5), P(actorCold, .99),
        $"{actorRatio:0.00}× baseline (target ≤ 1.05×)", actorRatio <= 1.05 ? "yes" : "NO"));
    rows.Add(("`docker run -d IMAGE tail -f /dev/null` (returns once started)", P(dockerDetached, .5), P(dockerDetached, .99), "", ""));
    rows.Add(("cold provision, provider only (create + start)", P(cold, .5), P(cold, .99), $"{providerRatio:0.00}× baseline", ""));
    rows.Add(("reset, provider (recreate from image)", P(reset, .5), P(reset, .99), "", ""));
    rows.Add(("warm-pool lease (Lease → EnvironmentReady)", P(lease, .5), P(lease, .99), "target p50 < 100 ms", P(lease, .5) < 100 ? "yes" : "NO"));

    Console.WriteLine();
    Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {MemGiB():0} GiB RAM; load at start {loadAtStart}; at end {loadAtEnd}");
    Console.WriteLine($"samples: cold {samples} of each kind (+{warmup} warm-up rounds), leases {lease.Count} over a pool of {poolSize} (+{warmup * poolSize} warm-up), parallel {parallel}");
    Console.WriteLine();
    Console.WriteLine("| measure | p50 ms | p99 ms | ratio / target | met |");
    Console.WriteLine("| --- | ---: | ---: | --- | --- |");
    foreach (var row in rows)
        Console.WriteLine($"| {row.Measure} | {row.P50:0.0} | {row.P99:0.0} | {row.Target} | {row.Met} |");
    Console.WriteLine();
    Console.WriteLine($"parallel starts, provider: {samples} containers with {parallel} creates in flight: {providerPerSecond:0.00} containers/s");
    Console.WriteLine($"parallel starts, actor path: {samples} Provision asks with {parallel} in flight: {actorPerSecond:0.00} containers/s");
    Console.WriteLine($"actor cold p50 / `docker run -d` p50 = {P(actorCold, .5) / P(dockerDetached, .5):0.00} (like for like: both end when the container is running)");
    Console.WriteLine($"leases: {leasesSent} Lease messages sent (incl. warm-up), the pool's environments record {leasesRecorded} leases ({leasesRecorded - poolSize} after their provisioning leases)");
    Console.WriteLine($"containers of this run left after the cold rounds: {leftAfterCold}; at the end: {leftAtEnd}");
    Console.WriteLine($"raw (ms) docker run: {string.Join(' ', dockerRun.Select(x => x.ToString("0")))}");
    Console.WriteLine($"raw (ms) docker run -d: {string.Join(' ', dockerDetached.Select(x => x.ToString("0")))}");
    Console.WriteLine($"raw (ms) actor cold: {string.Join(' ', actorCold.Select(x => x.ToString("0")))}");
    Console.WriteLine($"raw (ms) provider cold: {string.Join(' ', cold.Select(x => x.ToString("0")))}");
    Console.WriteLine($"raw (ms) lease: {string.Join(' ', lease.Select(x => x.ToString("0.0")))}");
    if (leftAtEnd != 0 || leftAfterCold != 0 || leasesRecorded - poolSize != leasesSent) Environment.ExitCode = 1;
}
finally
{
    await CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClrExitReason.Instance).WaitAsync(TimeSpan.FromSeconds(60)).ContinueWith(_ => { });
    await running.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { });
    SqliteConnection.ClearAllPools();
    // Belt and braces: nothing of this run's label may survive, whatever failed above.
    try { foreach (var r in await provider.ListResourcesAsync(CancellationToken.None)) await provider.RemoveResourcesOfAsync(r.EnvironmentId, CancellationToken.None); }
    catch (Exception e) { Console.Error.WriteLine($"cleanup: {e.Message}"); }
    try { Directory.Delete(dataDir, recursive: true); } catch (IOException) { }
}

static double MemGiB()
{
    var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0 / 1024.0;
}

