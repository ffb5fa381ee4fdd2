using MegaFlow.Contracts.Environments;
using MegaFlow.Contracts;
using MegaFlow.Domain.Environments;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using MegaFlow.Environments;
using MegaFlow.Environments.Simulated;

namespace MegaFlow.Bench;

/// <summary>What the bare exec loops cost over their window (the node idling alongside included).</summary>
public sealed record ExecLoopResult(int Loops, CpuWindow Window, long Execs)
{
    public double ExecsPerSecond => Execs / Window.Wall.TotalSeconds;
}

/// <summary>
/// The floor under the capacity run's control-plane cost: the same number of loops, each holding one
/// environment of a fresh <see cref="SimulatedProvider"/> with the run's exec latency and calling
/// <see cref="SimulatedProvider.ExecAsync"/> back to back — the timers and wake-ups of that many
/// waiting commands, without actors, messages or persistence. Runs in the node's process while the
/// node idles, so the idle node's CPU rate is subtracted when it is compared.
/// </summary>
public static class ExecLoopBaseline
{
    public static async Task<ExecLoopResult> RunAsync(int loops, LatencyDistribution execLatency, TimeSpan maxExec, TimeSpan window)
    {
        var provider = new SimulatedProvider(new SimulatedProviderSettings { ExecLatency = execLatency, Seed = 42 });
        var spec = new EnvironmentSpec("bench-image", "bench-image", ExecutionMode.Ephemeral);
        var request = new ExecRequest("echo step", maxExec * 3, 2048);
        var stagger = new Random(7);
        long execs = 0;
        using var stop = new CancellationTokenSource();

        async Task Loop(int i, TimeSpan offset)
        {
            var handle = await provider.ProvisionAsync($"loop-{i}", spec, CancellationToken.None);
            try
            {
                // Spread the starts over one exec, as submissions spread the tasks' rounds.
                await Task.Delay(offset, stop.Token);
                while (true)
                {
                    await provider.ExecAsync(handle, request, stop.Token);
                    Interlocked.Increment(ref execs);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        var running = Enumerable.Range(0, loops).Select(i => Loop(i, maxExec * stagger.NextDouble())).ToArray();
        // Every loop past its offset and cycling before measuring.
        await Task.Delay(maxExec * 1.5);
        var start = CpuMark.Now();
        var before = Interlocked.Read(ref execs);
        await Task.Delay(window);
        var measured = start.Until(CpuMark.Now());
        var done = Interlocked.Read(ref execs) - before;
        await stop.CancelAsync();
        await Task.WhenAll(running);
        return new ExecLoopResult(loops, measured, done);
    }
}
