using System.Diagnostics;
using MegaFlow.Domain.Environments;
using MegaFlow.Domain.Tasks;
using MegaFlow.Environments.Docker;

// Usage: dotnet run -c Release --project bench/MegaFlow.Bench.Docker -- [samples] [parallel]
var samples = args.Length > 0 ? int.Parse(args[0]) : 20;
var parallel = args.Length > 1 ? int.Parse(args[1]) : 8;
const string image = "megaflow/base:1";
var cluster = "mf-bench-" + Guid.NewGuid().ToString("N")[..8];
using var provider = new DockerProvider(new DockerProviderSettings { Cluster = cluster, Node = "bench", MaxConcurrentCreates = parallel });
var spec = new EnvironmentSpec(image, "bench", ExecutionMode.Ephemeral, MemoryLimitBytes: 256L << 20, PidsLimit: 128);

static double P(List<double> xs, double q) { var s = xs.Order().ToList(); return s[Math.Min(s.Count - 1, (int)Math.Ceiling(q * s.Count) - 1)]; }

// Interleaved, so both see the same machine load.
var dockerRun = new List<double>();
var cold = new List<double>();
var reset = new List<double>();
for (var i = 0; i < samples; i++)
{
    var sw = Stopwatch.StartNew();
    using (var p = Process.Start(new ProcessStartInfo("docker", ["run", "--rm", "--network", "none", image, "true"]) { RedirectStandardOutput = true })!)
        await p.WaitForExitAsync();
    dockerRun.Add(sw.Elapsed.TotalMilliseconds);

    sw.Restart();
    var h = await provider.ProvisionAsync($"env-{Guid.NewGuid():N}@bench", spec, CancellationToken.None);
    cold.Add(sw.Elapsed.TotalMilliseconds);
    sw.Restart();
    await provider.ResetAsync(h, CancellationToken.None);
    reset.Add(sw.Elapsed.TotalMilliseconds);
    await provider.DestroyAsync(h, CancellationToken.None);
}

var par = Stopwatch.StartNew();
var handles = await Task.WhenAll(Enumerable.Range(0, samples).Select(_ => provider.ProvisionAsync($"env-{Guid.NewGuid():N}@bench", spec, CancellationToken.None)));
var perSecond = samples / par.Elapsed.TotalSeconds;
await Task.WhenAll(handles.Select(h => provider.DestroyAsync(h, CancellationToken.None)));

Console.WriteLine($"machine: {Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Trim()}, samples {samples}, parallel {parallel}");
Console.WriteLine("| measure | p50 ms | p99 ms |");
Console.WriteLine("| --- | ---: | ---: |");
Console.WriteLine($"| `docker run --rm {image} true` (baseline) | {P(dockerRun, .5):0} | {P(dockerRun, .99):0} |");
Console.WriteLine($"| cold provision (create + start, provider) | {P(cold, .5):0} | {P(cold, .99):0} |");
Console.WriteLine($"| reset (recreate from image) | {P(reset, .5):0} | {P(reset, .99):0} |");
Console.WriteLine($"cold p50 / docker run p50 = {P(cold, .5) / P(dockerRun, .5):0.00}");
Console.WriteLine($"parallel starts: {samples} containers with {parallel} creates in flight: {perSecond:0.0} containers/s");
