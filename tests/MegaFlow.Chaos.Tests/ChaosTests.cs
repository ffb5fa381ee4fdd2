using MegaFlow.Chaos;
using Xunit.Abstractions;

namespace MegaFlow.Chaos.Tests;

/// <summary>
/// Issue 9's "must hold" chaos runs, through the harness: real `megaflow node` processes on a fresh
/// PostgreSQL database, faults while tasks run, and the verifier over the journal. Each test prints
/// the harness's progress and report. Sized for CI on 2 cores.
/// </summary>
public sealed class ChaosTests(ITestOutputHelper output)
{
    /// <summary>What every run here shares: 3 nodes; a failed run keeps its (capped) logs, not its database.</summary>
    private static readonly ChaosOptions Ci = new()
    {
        Nodes = 3,
        Seed = 9,
        DrainTimeout = TimeSpan.FromSeconds(30),
        Deadline = TimeSpan.FromMinutes(6),
        KeepDatabaseOnFailure = false,
        LogCapBytes = 20L << 20,
    };

    [Fact]
    public async Task Three_nodes_with_five_kills_two_on_the_scheduler_node_lose_duplicate_and_leak_nothing()
    {
        var result = await RunAsync(Ci with
        {
            Tasks = 300,
            Kills = 5,
            SchedulerKills = 2,
            MaxActorErrorLines = 20,
            MaxLogBytes = 20L << 20,
        });

        AssertSchedule(result.Chaos);
        AssertHeld(result.Chaos, "no task lost", "no task with more than one terminal event", "no attempt admitted twice", "no semaphore over its cap",
            "no environment leased to a finished attempt", "no live environment after the drain", "no actor logs more than", "node logs under");
    }

    [Fact]
    public async Task The_Docker_provider_leaves_no_container_after_kills_and_a_drain()
    {
        var result = await RunAsync(Ci with
        {
            Provider = "docker",
            Tasks = 90,
            Kills = 3,
            SchedulerKills = 1,
            Deadline = TimeSpan.FromMinutes(5),
            MaxActorErrorLines = 20,
            MaxLogBytes = 20L << 20,
        });

        AssertSchedule(result.Chaos);
        Assert.NotNull(result.Chaos.ContainersLeft);
        AssertHeld(result.Chaos, "no task lost", "no task with more than one terminal event", "no attempt admitted twice", "no semaphore over its cap",
            "no environment leased to a finished attempt", "no live environment after the drain", "no container left", "no actor logs more than", "node logs under");
    }

    [Fact]
    public async Task A_30_second_PostgreSQL_outage_mid_run_loses_and_duplicates_nothing()
    {
        var result = await RunAsync(Ci with
        {
            Tasks = 150,
            Kills = 0,
            SchedulerKills = 0,
            PostgresOutage = TimeSpan.FromSeconds(30),
            Deadline = TimeSpan.FromMinutes(4),
        });

        AssertSchedule(result.Chaos);
        Assert.True(result.Chaos.AllFinished, "the run did not complete: tasks were unfinished at the deadline");
        AssertHeld(result.Chaos, "no task lost", "no task with more than one terminal event", "no attempt admitted twice", "no semaphore over its cap");
    }

    private async Task<ChaosResult> RunAsync(ChaosOptions options)
    {
        var result = await ChaosRun.RunAsync(options.Validate(), output.WriteLine);
        output.WriteLine("");
        output.WriteLine(result.Markdown());
        return result;
    }

    /// <summary>The run did what it claims: every planned fault, each while tasks were still running.</summary>
    private static void AssertSchedule(RunResult run)
    {
        var schedule = run.Invariants.Single(i => i.Name.StartsWith("the fault schedule ran", StringComparison.Ordinal));
        Assert.True(schedule.Held, $"the fault schedule did not run as planned: {schedule.Detail}");
    }

    /// <summary>Every named invariant held; a failure lists all that failed at once, with the report's table.</summary>
    private static void AssertHeld(RunResult run, params string[] names)
    {
        var checkedOnes = run.Invariants.Where(i => names.Any(n => i.Name.StartsWith(n, StringComparison.Ordinal))).ToList();
        Assert.Equal(names.Length, checkedOnes.Count);
        var failed = checkedOnes.Where(i => !i.Held).ToList();
        Assert.True(failed.Count == 0, "invariants failed:\n" + string.Join("\n", failed.Select(i => $"- {i.Name}: {i.Detail}")));
    }
}
