using System.Diagnostics;
using MegaFlow.Contracts;
using MegaFlow.Contracts.Environments;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Environments.Simulated;

namespace MegaFlow.Environments.Tests;

public sealed class SimulatedProviderTests
{
    private static readonly EnvironmentSpec Spec = new("sim", "default", ExecutionMode.Persistent);
    private static readonly CancellationToken None = CancellationToken.None;

    private static ExecRequest Req(string command, int maxOutput = 4096, double timeoutMs = 10_000) =>
        new(command, TimeSpan.FromMilliseconds(timeoutMs), maxOutput);

    [Fact]
    public async Task Exec_of_exit_N_returns_N_and_anything_else_returns_zero_with_an_echo()
    {
        var p = new SimulatedProvider(SimulatedProviderSettings.Instant);
        var h = await p.ProvisionAsync("env-1", Spec, None);

        var three = await p.ExecAsync(h, Req("exit 3"), None);
        var echo = await p.ExecAsync(h, Req("pytest -q"), None);

        Assert.Equal(3, three.ExitCode);
        Assert.Equal(0, echo.ExitCode);
        Assert.Equal("simulated: pytest -q", echo.Output);
        Assert.Equal("simulated: pytest -q".Length, echo.OutputBytes);
        Assert.False(echo.OutputTruncated);
        Assert.False(echo.TimedOut);
    }

    [Theory]
    [InlineData("exit 3", 3)]
    [InlineData("exit 0", 0)]
    [InlineData("exit -1", -1)]
    [InlineData("exit 3 ", 0)]
    [InlineData("exit", 0)]
    [InlineData("exit x", 0)]
    [InlineData("echo; exit 3", 0)]
    public void Only_exactly_exit_N_sets_the_exit_code(string command, int expected) =>
        Assert.Equal(expected, SimulatedProvider.ExitCodeOf(command));

    [Fact]
    public async Task Output_is_truncated_to_the_bound_and_counted()
    {
        var p = new SimulatedProvider(SimulatedProviderSettings.Instant);
        var h = await p.ProvisionAsync("env-1", Spec, None);
        var command = new string('x', 100);

        var r = await p.ExecAsync(h, Req(command, maxOutput: 10), None);

        Assert.Equal("simulated:", r.Output);
        Assert.Equal(111, r.OutputBytes);
        Assert.True(r.OutputTruncated);
    }

    [Fact]
    public async Task Zero_latency_completes_synchronously()
    {
        var p = new SimulatedProvider(SimulatedProviderSettings.Instant);

        var provision = p.ProvisionAsync("env-1", Spec, None);
        Assert.True(provision.IsCompletedSuccessfully);
        var h = await provision;
        var exec = p.ExecAsync(h, Req("echo"), None);
        var reset = p.ResetAsync(h, None);
        var destroy = p.DestroyAsync(h, None);

        Assert.True(exec.IsCompletedSuccessfully);
        Assert.True(reset.IsCompletedSuccessfully);
        Assert.True(destroy.IsCompletedSuccessfully);
        await Task.WhenAll(exec, reset, destroy);
    }

    [Fact]
    public async Task Unknown_handles_are_Missing_and_exec_on_them_throws()
    {
        var p = new SimulatedProvider(SimulatedProviderSettings.Instant);
        var h = new EnvironmentHandle("env-9", "simulated", "sim-1:env-9");

        Assert.Equal(HealthStatus.Missing, await p.CheckHealthAsync(h, None));
        await Assert.ThrowsAsync<EnvironmentUnavailableException>(() => p.ExecAsync(h, Req("true"), None));
        await Assert.ThrowsAsync<EnvironmentUnavailableException>(() => p.ResetAsync(h, None));
        await p.DestroyAsync(h, None); // already gone is fine
    }

    [Fact]
    public async Task A_new_provider_instance_has_lost_every_environment_like_a_restarted_node()
    {
        var before = new SimulatedProvider(SimulatedProviderSettings.Instant);
        var h = await before.ProvisionAsync("env-1", Spec, None);
        Assert.Equal(HealthStatus.Healthy, await before.CheckHealthAsync(h, None));

        var after = new SimulatedProvider(SimulatedProviderSettings.Instant);

        Assert.Equal(HealthStatus.Missing, await after.CheckHealthAsync(h, None));
    }

    [Fact]
    public async Task Destroy_makes_the_environment_Missing()
    {
        var p = new SimulatedProvider(SimulatedProviderSettings.Instant);
        var h = await p.ProvisionAsync("env-1", Spec, None);
        Assert.Equal(1, p.LiveEnvironments);

        await p.DestroyAsync(h, None);

        Assert.Equal(HealthStatus.Missing, await p.CheckHealthAsync(h, None));
        Assert.Equal(0, p.LiveEnvironments);
        await Assert.ThrowsAsync<EnvironmentUnavailableException>(() => p.ExecAsync(h, Req("true"), None));
    }

    [Fact]
    public async Task Failure_rates_of_zero_never_fail()
    {
        var p = new SimulatedProvider(new SimulatedProviderSettings { Seed = 1 });
        for (var i = 0; i < 500; i++)
        {
            var h = await p.ProvisionAsync($"env-{i}", Spec, None);
            await p.ExecAsync(h, Req("true"), None);
            await p.ResetAsync(h, None);
        }
        Assert.Equal(500, p.LiveEnvironments);
    }

    [Fact]
    public async Task Provision_failure_rate_of_one_always_fails()
    {
        var p = new SimulatedProvider(new SimulatedProviderSettings { ProvisionFailureRate = 1, Seed = 1 });

        for (var i = 0; i < 50; i++)
            await Assert.ThrowsAsync<EnvironmentUnavailableException>(() => p.ProvisionAsync($"env-{i}", Spec, None));
        Assert.Equal(0, p.LiveEnvironments);
    }

    [Fact]
    public async Task Exec_loss_rate_of_one_loses_the_environment_mid_exec()
    {
        var p = new SimulatedProvider(new SimulatedProviderSettings { ExecLossRate = 1, Seed = 1 });
        var h = await p.ProvisionAsync("env-1", Spec, None);

        await Assert.ThrowsAsync<EnvironmentUnavailableException>(() => p.ExecAsync(h, Req("true"), None));

        Assert.Equal(HealthStatus.Missing, await p.CheckHealthAsync(h, None));
    }

    [Fact]
    public async Task Reset_failure_rate_of_one_fails_the_reset_and_loses_the_environment()
    {
        var p = new SimulatedProvider(new SimulatedProviderSettings { ResetFailureRate = 1, Seed = 1 });
        var h = await p.ProvisionAsync("env-1", Spec, None);

        await Assert.ThrowsAsync<EnvironmentUnavailableException>(() => p.ResetAsync(h, None));

        Assert.Equal(HealthStatus.Missing, await p.CheckHealthAsync(h, None));
    }

    [Fact]
    public async Task Intermediate_failure_rates_fail_about_that_often()
    {
        var p = new SimulatedProvider(new SimulatedProviderSettings { ProvisionFailureRate = 0.3, Seed = 7 });
        var failures = 0;
        for (var i = 0; i < 2000; i++)
        {
            try
            {
                await p.ProvisionAsync($"env-{i}", Spec, None);
            }
            catch (EnvironmentUnavailableException)
            {
                failures++;
            }
        }
        Assert.InRange(failures, 500, 700);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.1)]
    [InlineData(double.NaN)]
    public void Rates_outside_zero_to_one_are_rejected(double rate)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SimulatedProvider(new SimulatedProviderSettings { ExecLossRate = rate }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SimulatedProvider(new SimulatedProviderSettings { ProvisionFailureRate = rate }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SimulatedProvider(new SimulatedProviderSettings { ResetFailureRate = rate }));
    }

    [Fact]
    public async Task Seeded_runs_are_reproducible()
    {
        static async Task<string> Run(int seed)
        {
            var p = new SimulatedProvider(new SimulatedProviderSettings
            {
                ProvisionFailureRate = 0.4, ExecLossRate = 0.3, ResetFailureRate = 0.2, Seed = seed,
            });
            var trace = new List<char>();
            for (var i = 0; i < 200; i++)
            {
                try
                {
                    var h = await p.ProvisionAsync($"env-{i}", Spec, None);
                    trace.Add('p');
                    await p.ExecAsync(h, Req("true"), None);
                    trace.Add('e');
                    await p.ResetAsync(h, None);
                    trace.Add('r');
                }
                catch (EnvironmentUnavailableException)
                {
                    trace.Add('x');
                }
            }
            return new string(trace.ToArray());
        }

        var a = await Run(42);
        var b = await Run(42);
        var c = await Run(43);

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.Contains('x', a);
        Assert.Contains('r', a);
    }

    [Fact]
    public async Task Exec_latency_beyond_the_timeout_returns_TimedOut_after_the_timeout()
    {
        var p = new SimulatedProvider(new SimulatedProviderSettings { ExecLatency = LatencyDistribution.Fixed(5000) });
        var h = await p.ProvisionAsync("env-1", Spec, None);
        var clock = Stopwatch.StartNew();

        var r = await p.ExecAsync(h, Req("exit 3", timeoutMs: 100), None);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"took {clock.Elapsed}");
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(90), $"took {clock.Elapsed}");
        Assert.True(r.TimedOut);
        Assert.Equal(SimulatedProvider.TimedOutExitCode, r.ExitCode);
        Assert.Equal(HealthStatus.Healthy, await p.CheckHealthAsync(h, None));
    }

    [Fact]
    public async Task Exec_latency_within_the_timeout_is_waited_and_measured()
    {
        var p = new SimulatedProvider(new SimulatedProviderSettings { ExecLatency = LatencyDistribution.Fixed(150) });
        var h = await p.ProvisionAsync("env-1", Spec, None);

        var r = await p.ExecAsync(h, Req("exit 4", timeoutMs: 5000), None);

        Assert.False(r.TimedOut);
        Assert.Equal(4, r.ExitCode);
        Assert.True(r.Duration >= TimeSpan.FromMilliseconds(140), $"duration {r.Duration}");
    }

    [Fact]
    public async Task Cancellation_during_a_simulated_latency_throws()
    {
        var p = new SimulatedProvider(new SimulatedProviderSettings { ProvisionLatency = LatencyDistribution.Fixed(10_000) });
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => p.ProvisionAsync("env-1", Spec, cts.Token));
        Assert.Equal(0, p.LiveEnvironments);
    }

    [Fact]
    public async Task Handles_of_another_provider_are_refused()
    {
        var p = new SimulatedProvider(SimulatedProviderSettings.Instant);
        var foreign = new EnvironmentHandle("env-1", "local", "/tmp/x");

        await Assert.ThrowsAsync<ArgumentException>(() => p.CheckHealthAsync(foreign, None));
        await Assert.ThrowsAsync<ArgumentException>(() => p.ExecAsync(foreign, Req("true"), None));
    }

    [Fact]
    public async Task Many_concurrent_environments_are_independent()
    {
        var p = new SimulatedProvider(new SimulatedProviderSettings { ExecLatency = LatencyDistribution.Uniform(0, 5), Seed = 3 });
        var handles = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => p.ProvisionAsync($"env-{i}", Spec, None)));

        var results = await Task.WhenAll(handles.Select((h, i) => p.ExecAsync(h, Req($"exit {i % 5}"), None)));

        Assert.Equal(200, handles.Select(h => h.Reference).Distinct().Count());
        Assert.Equal(Enumerable.Range(0, 200).Select(i => i % 5), results.Select(r => r.ExitCode));
    }
}
