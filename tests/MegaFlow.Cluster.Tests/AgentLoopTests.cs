using Akka.Actor;
using MegaFlow.Hosting;
using MegaFlow.Cluster.Tests.Infrastructure;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using static MegaFlow.Contracts.Tasks.TaskProtocol;

namespace MegaFlow.Cluster.Tests;

/// <summary>The agent loop on a real node: steps, budgets, output bounds and failure classification.</summary>
public sealed class AgentLoopTests
{
    [Fact]
    public async Task Large_output_goes_to_an_artifact_file_and_only_a_bounded_prefix_to_the_journal()
    {
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartSingleNodeAsync(storage, provider: "local");
        var spec = Specs.Simple("big-output", actions: ["head -c 200000 /dev/zero | tr '\\0' x", "echo small"], score: "true");
        await TestCluster.SubmitAllAsync(cluster.Nodes[0].Refs.Tasks, [spec]);
        var state = (await TestCluster.WaitForTerminalAsync(cluster.Nodes[0].Refs.Tasks, ["big-output"], TimeSpan.FromSeconds(60)))[0];

        Assert.Equal(TaskStatus.Completed, state.Status);
        var big = state.Steps[0];
        Assert.True(big.OutputTruncated);
        Assert.True(big.Output.Length <= 2048, $"journal output is {big.Output.Length} chars");
        Assert.NotNull(big.ArtifactPath);
        Assert.Equal(200_000, new FileInfo(big.ArtifactPath!).Length);
        Assert.Null(state.Steps[1].ArtifactPath);

        // The journal row itself stays small.
        var rows = await storage.Journal().ReadAllAsync("task-big-output");
        var step = rows.Select(r => r.Event).OfType<TaskEvents.StepRecorded>().First();
        Assert.True(step.Step.Output.Length <= 2048);
    }

    [Fact]
    public async Task The_journal_holds_every_transition_in_order_although_some_are_written_together()
    {
        // Queued, RunStarted and ScoringStarted are written with the event that follows them
        // (TaskActor.Defer); the journal must still read as the full lifecycle, with gapless sequence numbers.
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartSingleNodeAsync(storage);
        var spec = Specs.Simple("ordered", actions: ["echo a", "echo b"]);
        await TestCluster.SubmitAllAsync(cluster.Nodes[0].Refs.Tasks, [spec]);
        var state = (await TestCluster.WaitForTerminalAsync(cluster.Nodes[0].Refs.Tasks, ["ordered"], TimeSpan.FromSeconds(60)))[0];
        Assert.Equal(TaskStatus.Completed, state.Status);

        IReadOnlyList<JournalEntry> rows = [];
        await TestCluster.Eventually(async () =>
        {
            rows = await storage.Journal().ReadAllAsync("task-ordered");
            return rows.Any(r => r.Event is TaskEvents.LeaseReleased);
        }, TimeSpan.FromSeconds(30), "the lease release in the journal");
        Assert.Equal(
            ["Submitted", "Queued", "Admitted", "RunStarted", "StepRecorded", "StepRecorded", "ScoringStarted", "Completed", "LeaseReleased"],
            rows.Select(r => r.Event.GetType().Name).ToArray());
        Assert.Equal(Enumerable.Range(1, rows.Count).Select(i => (long)i), rows.Select(r => r.SequenceNr));
        // Recovery from that journal gives the state the live actor had.
        var replayed = TaskLogic.Replay("ordered", rows.Select(r => (TaskEvents.ITaskEvent)r.Event));
        Assert.Equal(state.RunStartedAt, replayed.RunStartedAt);
        Assert.Equal(state.QueuedAt, replayed.QueuedAt);
        Assert.Equal(2, replayed.Steps.Count);
    }

    [Fact]
    public async Task A_command_past_its_timeout_is_killed_and_recorded_and_the_run_budget_ends_the_task_as_timed_out()
    {
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartSingleNodeAsync(storage, provider: "local");
        var tasks = cluster.Nodes[0].Refs.Tasks;
        var slowStep = Specs.Simple("slow-step", actions: ["sleep 20", "echo after"], score: "true") with { ExecTimeoutSeconds = 1 };
        var slowRun = Specs.Simple("slow-run", actions: ["sleep 2", "sleep 2", "sleep 2", "sleep 2"], score: "true") with { RunTimeoutSeconds = 3, ExecTimeoutSeconds = 10 };
        var failingScore = Specs.Simple("bad-fix", actions: ["echo 'x' > f"], score: "grep -q y f");
        await TestCluster.SubmitAllAsync(tasks, [slowStep, slowRun, failingScore]);
        var states = (await TestCluster.WaitForTerminalAsync(tasks, ["slow-step", "slow-run", "bad-fix"], TimeSpan.FromSeconds(90))).ToDictionary(s => s.TaskId);

        var step = states["slow-step"];
        Assert.Equal(TaskStatus.Completed, step.Status);
        Assert.True(step.Steps[0].TimedOut);
        Assert.True(step.Steps[0].DurationMs < 10_000, $"the timed-out command ran {step.Steps[0].DurationMs} ms");
        Assert.Equal("after", step.Steps[1].Output.Trim());

        var run = states["slow-run"];
        Assert.Equal(TaskStatus.TimedOut, run.Status);
        Assert.Equal(TaskPhase.Run, run.TimedOutPhase);
        Assert.Equal(1, run.Attempt); // a result, not retried

        var bad = states["bad-fix"];
        Assert.Equal(TaskStatus.Completed, bad.Status); // tests failing is an agent result...
        Assert.False(bad.Score!.Passed);                 // ...with reward 0
        Assert.Equal(0.0, bad.Score.Reward);
    }

    [Fact]
    public async Task Environments_lost_mid_run_are_infrastructure_failures_retried_on_fresh_environments_up_to_the_limit()
    {
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        // Every exec loses its environment: each attempt fails as infrastructure.
        await using var cluster = await TestCluster.StartSingleNodeAsync(storage, extraHocon: "megaflow.simulated.exec-loss-rate = 1.0");
        var spec = Specs.Simple("always-lost") with { MaxInfraRetries = 2 };
        await TestCluster.SubmitAllAsync(cluster.Nodes[0].Refs.Tasks, [spec]);
        var state = (await TestCluster.WaitForTerminalAsync(cluster.Nodes[0].Refs.Tasks, ["always-lost"], TimeSpan.FromSeconds(60)))[0];

        Assert.Equal(TaskStatus.Failed, state.Status);
        Assert.Equal(FailureKind.Infrastructure, state.FailureKind);
        Assert.Equal(3, state.Attempt);
        Assert.Equal(3, state.History.Count);
        // Each attempt had its own, fresh environment.
        Assert.Equal(3, state.History.Select(h => h.Lease!.EnvironmentId).Distinct().Count());
        await TestCluster.Eventually(async () => (await cluster.Nodes[0].Refs.Scheduler.Ask<Contracts.Scheduling.SchedulerProtocol.SchedulerStatus>(
            Contracts.Scheduling.SchedulerProtocol.GetSchedulerState.Instance, TimeSpan.FromSeconds(5))).Running == 0, TimeSpan.FromSeconds(20), "leases released");
    }

    [Fact]
    public async Task A_persistent_pool_reuses_warm_environments_and_reset_hides_files_from_the_next_task()
    {
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartSingleNodeAsync(storage, provider: "local",
            extraHocon: "megaflow.scheduler.max-pool-size = 1");
        var tasks = cluster.Nodes[0].Refs.Tasks;
        // Each task fails its score if it can see a file left behind by an earlier task.
        var specs = Enumerable.Range(0, 4).Select(i => Specs.Simple($"warm-{i}", "persistent", "warm-pool",
            actions: ["test ! -e leftover", "echo mine > leftover"], score: "test -e leftover")).ToList();
        foreach (var spec in specs) await TestCluster.SubmitAllAsync(tasks, [spec]);
        var states = await TestCluster.WaitForTerminalAsync(tasks, specs.Select(s => s.TaskId!).ToList(), TimeSpan.FromSeconds(90));

        Assert.All(states, s => Assert.Equal(TaskStatus.Completed, s.Status));
        Assert.All(states, s => Assert.Equal(0, s.Steps[0].ExitCode)); // nothing left over from the previous task
        var envs = states.Select(s => s.History.Last().Lease!.EnvironmentId).Distinct().ToList();
        Assert.Single(envs); // pool of one: every task reused the same warm environment
        Assert.Equal(3, states.Count(s => s.History.Last().Lease!.Reused));
    }

    [Fact]
    public async Task A_resource_that_dies_during_a_command_fails_the_attempt_after_it_and_a_fresh_environment_completes_the_task()
    {
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartSingleNodeAsync(storage, provider: "local");
        var tasks = cluster.Nodes[0].Refs.Tasks;
        await TestCluster.SubmitAllAsync(tasks, [Specs.Simple("dies-mid-command", actions: ["sleep 2", "echo after"], score: "true")]);
        var running = await TestCluster.WaitForRunningAsync(tasks, "dies-mid-command", TimeSpan.FromSeconds(30));

        // What the node's janitor forwards when the engine reports the container died. The local
        // folder survives, so the command itself succeeds: the environment must still count as gone.
        cluster.Nodes[0].Refs.Environments.Tell(new Contracts.Environments.EnvironmentProtocol.ResourceDied(running.Lease!.EnvironmentId, "killed from outside (test)"));

        var state = (await TestCluster.WaitForTerminalAsync(tasks, ["dies-mid-command"], TimeSpan.FromSeconds(60)))[0];
        Assert.Equal(TaskStatus.Completed, state.Status);
        Assert.Equal(2, state.Attempt);
        Assert.Contains("killed from outside (test)", state.History[0].Reason);
        Assert.NotEqual(state.History[0].Lease!.EnvironmentId, state.History[1].Lease!.EnvironmentId);
    }

    [Fact]
    public async Task A_lost_environment_notice_fails_the_attempt_at_once_and_the_retry_completes()
    {
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartSingleNodeAsync(storage, provider: "local");
        var tasks = cluster.Nodes[0].Refs.Tasks;
        await TestCluster.SubmitAllAsync(tasks, [Specs.Simple("notified", actions: ["sleep 20", "echo after"], score: "true")]);
        var running = await TestCluster.WaitForRunningAsync(tasks, "notified", TimeSpan.FromSeconds(30));
        var clock = System.Diagnostics.Stopwatch.StartNew();

        // Sent by an environment whose container died while its task was between commands. Notices
        // for another attempt or another environment change nothing.
        tasks.Tell(new LeasedEnvironmentLost("notified", running.Attempt + 1, running.Lease!.EnvironmentId, "stale"));
        tasks.Tell(new LeasedEnvironmentLost("notified", running.Attempt, "env-other@127.0.0.1:1", "stale"));
        tasks.Tell(new LeasedEnvironmentLost("notified", running.Attempt, running.Lease.EnvironmentId, "container died (test)"));

        await TestCluster.Eventually(async () => (await tasks.Ask<TaskState>(new GetTaskState("notified"), TimeSpan.FromSeconds(5))).Attempt == 2,
            TimeSpan.FromSeconds(15), "second attempt started");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), "the attempt failed without waiting for its 20 s command");
        var state = await tasks.Ask<TaskState>(new GetTaskState("notified"), TimeSpan.FromSeconds(5));
        Assert.Single(state.History);
        Assert.Contains("container died (test)", state.History[0].Reason);
        Assert.DoesNotContain("stale", state.History[0].Reason);
    }

    [Fact]
    public async Task Cancelling_a_task_kills_the_command_it_is_running_instead_of_letting_it_run_to_its_timeout()
    {
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartSingleNodeAsync(storage, provider: "local");
        var tasks = cluster.Nodes[0].Refs.Tasks;
        const string marker = "sleep 47.123"; // a command line no other process has
        var spec = Specs.Simple("cancel-running", actions: [marker]) with { ExecTimeoutSeconds = 120, RunTimeoutSeconds = 300 };
        static bool Running() => Directory.EnumerateDirectories("/proc").Any(d =>
        {
            try
            {
                return File.ReadAllText(Path.Combine(d, "cmdline")).Replace('\0', ' ').Contains(marker);
            }
            catch (IOException)
            {
                return false;
            }
            catch (UnauthorizedAccessException)
            {
                return false;
            }
        });

        await TestCluster.SubmitAllAsync(tasks, [spec]);
        await TestCluster.Eventually(() => Task.FromResult(Running()), TimeSpan.FromSeconds(30), "the command runs");
        Assert.IsType<CancelAccepted>(await tasks.Ask<object>(new CancelTask("cancel-running", "operator asked"), TimeSpan.FromSeconds(10)));

        await TestCluster.Eventually(() => Task.FromResult(!Running()), TimeSpan.FromSeconds(15), "the command is killed");
        var state = Assert.Single(await TestCluster.WaitForTerminalAsync(tasks, ["cancel-running"], TimeSpan.FromSeconds(30)));
        Assert.Equal(TaskStatus.Cancelled, state.Status);
    }
}
