using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Actor;
using MegaFlow.Cluster.Tests.Infrastructure;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Agents;
using MegaFlow.Hosting;
using Xunit.Abstractions;
using static MegaFlow.Contracts.Tasks.TaskProtocol;

namespace MegaFlow.Cluster.Tests;

/// <summary>
/// Agents whose decisions take time (as a model service's would): the task's actor does not wait
/// for them, it stays responsive, honours cancellation and budgets, and ignores decisions that come
/// after their attempt ended.
/// </summary>
public sealed class AsyncAgentTests(ITestOutputHelper output)
{
    private const string HighCaps = """
        megaflow.scheduler.max-running = 200
        megaflow.scheduler.slots-per-node = 200
        megaflow.scheduler.max-starting = 200
        """;

    [Fact]
    public async Task Slow_decisions_of_many_tasks_overlap_and_queries_are_answered_while_they_are_pending()
    {
        var pending = new ConcurrentDictionary<string, int>();
        var agent = new DelegateAgent(async (ctx, ct) =>
        {
            pending[ctx.TaskId] = ctx.Round;
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(2), ct);
                return await DelegateAgent.Scripted(ctx);
            }
            finally
            {
                pending.TryRemove(ctx.TaskId, out _);
            }
        });
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartSingleNodeAsync(storage, extraHocon: HighCaps, agent: agent);
        var tasks = cluster.Nodes[0].Refs.Tasks;
        // Three rounds each, plus the decision to submit: four 2 s decisions per task, 800 s if serial.
        var specs = Enumerable.Range(0, 100).Select(i => Specs.Simple($"slow-agent-{i:D3}")).ToList();
        var clock = Stopwatch.StartNew();
        await TestCluster.SubmitAllAsync(tasks, specs);

        await TestCluster.Eventually(() => pending.Count >= 50, TimeSpan.FromSeconds(30), "decisions pending");
        var latencies = new List<double>();
        for (var i = 0; i < 20; i++)
        {
            var id = pending.Keys.FirstOrDefault();
            if (id is null) break;
            var ask = Stopwatch.StartNew();
            var state = await tasks.Ask<TaskState>(new GetTaskState(id), TimeSpan.FromSeconds(5));
            latencies.Add(ask.Elapsed.TotalMilliseconds);
            Assert.Equal(TaskStatus.Running, state.Status); // the task is deciding, not blocked
            await Task.Delay(100);
        }

        var states = await TestCluster.WaitForTerminalAsync(tasks, specs.Select(s => s.TaskId!).ToList(), TimeSpan.FromSeconds(120));
        var wall = clock.Elapsed;
        latencies.Sort();
        var median = latencies[latencies.Count / 2];
        output.WriteLine($"100 tasks x 4 decisions of 2 s: {wall.TotalSeconds:F1} s wall (serial: 800 s)");
        output.WriteLine($"GetTaskState while deciding ({latencies.Count} asks): median {median:F1} ms, max {latencies[^1]:F1} ms");

        Assert.All(states, s => Assert.Equal(TaskStatus.Completed, s.Status));
        Assert.All(states, s => Assert.Equal(["echo one", "echo two", "echo three"], s.Steps.Select(x => x.Command)));
        Assert.True(wall < TimeSpan.FromSeconds(30), $"100 tasks took {wall.TotalSeconds:F1} s: decisions did not overlap");
        Assert.True(latencies.Count >= 10, $"only {latencies.Count} asks happened while decisions were pending");
        // Every ask, not only the median, within 100 ms (measured well under 1 ms on a local node).
        Assert.True(latencies[^1] < 100, $"slowest GetTaskState took {latencies[^1]:F1} ms while decisions were pending");
    }

    [Fact]
    public async Task Cancelling_while_a_decision_is_pending_ends_the_task_at_once_and_the_late_decision_is_ignored()
    {
        var marker = Path.Combine(Path.GetTempPath(), $"megaflow-late-{Guid.NewGuid():N}");
        var deciding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answered = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var agent = new DelegateAgent(async (ctx, ct) =>
        {
            deciding.TrySetResult();
            // Ignores the token on purpose: the decision must arrive late, and be ignored.
            await Task.Delay(TimeSpan.FromSeconds(3), CancellationToken.None);
            answered.TrySetResult(ct.IsCancellationRequested);
            return AgentDecision.Run($"touch {marker}");
        });
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartSingleNodeAsync(storage, provider: "local", agent: agent);
        var tasks = cluster.Nodes[0].Refs.Tasks;
        await TestCluster.SubmitAllAsync(tasks, [Specs.Simple("cancel-deciding", score: "true")]);
        await deciding.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var clock = Stopwatch.StartNew();
        var reply = await tasks.Ask<object>(new CancelTask("cancel-deciding", "test"), TimeSpan.FromSeconds(5));
        var cancelled = await tasks.Ask<TaskState>(new GetTaskState("cancel-deciding"), TimeSpan.FromSeconds(5));
        var took = clock.Elapsed;

        Assert.IsType<CancelAccepted>(reply);
        Assert.Equal(TaskStatus.Cancelled, cancelled.Status);
        Assert.True(took < TimeSpan.FromSeconds(1), $"cancel took {took.TotalMilliseconds:F0} ms with a decision pending");
        Assert.True(await answered.Task.WaitAsync(TimeSpan.FromSeconds(10)), "the agent's token was cancelled");
        await AssertNoStepAfterTheEndAsync(tasks, storage, "cancel-deciding", TaskStatus.Cancelled, marker);
    }

    [Fact]
    public async Task A_decision_arriving_after_the_run_budget_is_spent_is_ignored_and_the_task_times_out()
    {
        var marker = Path.Combine(Path.GetTempPath(), $"megaflow-late-{Guid.NewGuid():N}");
        var answered = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var agent = new DelegateAgent(async (ctx, ct) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(3), CancellationToken.None);
            answered.TrySetResult(ct.IsCancellationRequested);
            return AgentDecision.Run($"touch {marker}");
        });
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartSingleNodeAsync(storage, provider: "local", agent: agent);
        var tasks = cluster.Nodes[0].Refs.Tasks;
        await TestCluster.SubmitAllAsync(tasks, [Specs.Simple("overdue-decision", score: "true") with { RunTimeoutSeconds = 1 }]);

        var state = (await TestCluster.WaitForTerminalAsync(tasks, ["overdue-decision"], TimeSpan.FromSeconds(60)))[0];

        Assert.Equal(TaskStatus.TimedOut, state.Status);
        Assert.Equal(TaskPhase.Run, state.TimedOutPhase);
        Assert.Equal(1, state.Attempt);
        Assert.True(await answered.Task.WaitAsync(TimeSpan.FromSeconds(10)), "the agent's token was cancelled");
        await AssertNoStepAfterTheEndAsync(tasks, storage, "overdue-decision", TaskStatus.TimedOut, marker);
    }

    [Fact]
    public async Task A_decision_of_a_failed_attempt_is_ignored_by_the_retry_deciding_the_same_round()
    {
        var marker = Path.Combine(Path.GetTempPath(), $"megaflow-late-{Guid.NewGuid():N}");
        var deciding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var agent = new DelegateAgent(async (ctx, ct) =>
        {
            if (ctx.Attempt == 1)
            {
                deciding.TrySetResult();
                await Task.Delay(TimeSpan.FromSeconds(3), CancellationToken.None);
                answered.TrySetResult();
                return AgentDecision.Run($"touch {marker}");
            }
            // The retry is still deciding its first round when attempt 1's answer for round 1 comes.
            if (ctx.Round == 1) await Task.Delay(TimeSpan.FromSeconds(5), ct);
            return await DelegateAgent.Scripted(ctx);
        });
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartSingleNodeAsync(storage, provider: "local", agent: agent);
        var tasks = cluster.Nodes[0].Refs.Tasks;
        await TestCluster.SubmitAllAsync(tasks, [Specs.Simple("retried-deciding", actions: ["echo one"], score: "true")]);
        var running = await TestCluster.WaitForRunningAsync(tasks, "retried-deciding", TimeSpan.FromSeconds(30));
        await deciding.Task.WaitAsync(TimeSpan.FromSeconds(30));

        tasks.Tell(new LeasedEnvironmentLost("retried-deciding", running.Attempt, running.Lease!.EnvironmentId, "container died (test)"));
        await answered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var state = (await TestCluster.WaitForTerminalAsync(tasks, ["retried-deciding"], TimeSpan.FromSeconds(60)))[0];

        Assert.Equal(TaskStatus.Completed, state.Status);
        Assert.Equal(2, state.Attempt);
        Assert.Equal(["echo one"], state.Steps.Select(s => s.Command));
        var steps = (await storage.Journal().ReadAllAsync("task-retried-deciding")).Select(r => r.Event).OfType<TaskEvents.StepRecorded>().ToList();
        Assert.All(steps, s => Assert.Equal(2, s.Attempt));
        Assert.False(File.Exists(marker), "the failed attempt's late decision ran");
    }

    [Fact]
    public async Task An_agent_that_never_submits_is_scored_when_its_rounds_are_spent()
    {
        var agent = new DelegateAgent(async (ctx, ct) =>
        {
            await Task.Yield();
            return AgentDecision.Run($"echo round {ctx.Round}");
        });
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartSingleNodeAsync(storage, agent: agent);
        var tasks = cluster.Nodes[0].Refs.Tasks;
        await TestCluster.SubmitAllAsync(tasks, [Specs.Simple("never-submits") with { MaxRounds = 3 }]);

        var state = (await TestCluster.WaitForTerminalAsync(tasks, ["never-submits"], TimeSpan.FromSeconds(60)))[0];

        Assert.Equal(TaskStatus.Completed, state.Status);
        Assert.Equal(["echo round 1", "echo round 2", "echo round 3"], state.Steps.Select(s => s.Command));
    }

    [Fact]
    public async Task An_agent_that_throws_or_faults_fails_the_attempt_as_the_agents_failure_without_retry()
    {
        static async Task<AgentDecision> FaultsInRoundTwo(AgentContext ctx, CancellationToken ct)
        {
            await Task.Delay(200, ct);
            if (ctx.Round == 2)
                throw new HttpRequestException("model service unreachable");
            return await DelegateAgent.Scripted(ctx);
        }
        // One agent throws from DecideAsync itself (inside the actor's receive), the other's task faults later.
        var agent = new DelegateAgent((ctx, ct) => ctx.TaskId == "agent-throws"
            ? throw new InvalidOperationException("no decision today")
            : FaultsInRoundTwo(ctx, ct));
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartSingleNodeAsync(storage, agent: agent);
        var tasks = cluster.Nodes[0].Refs.Tasks;
        await TestCluster.SubmitAllAsync(tasks, [Specs.Simple("agent-throws"), Specs.Simple("agent-faults")]);

        var states = (await TestCluster.WaitForTerminalAsync(tasks, ["agent-throws", "agent-faults"], TimeSpan.FromSeconds(60))).ToDictionary(s => s.TaskId);

        var throws = states["agent-throws"];
        Assert.Equal(TaskStatus.Failed, throws.Status);
        Assert.Equal(FailureKind.Agent, throws.FailureKind);
        Assert.Equal(1, throws.Attempt); // the agent's failure is a result, not retried
        Assert.Contains("round 1", throws.FailureReason);
        Assert.Contains("InvalidOperationException: no decision today", throws.FailureReason);
        Assert.Empty(throws.Steps);

        var faults = states["agent-faults"];
        Assert.Equal(TaskStatus.Failed, faults.Status);
        Assert.Equal(FailureKind.Agent, faults.FailureKind);
        Assert.Equal(1, faults.Attempt);
        Assert.Contains("round 2", faults.FailureReason);
        Assert.Contains("HttpRequestException: model service unreachable", faults.FailureReason);
        Assert.Single(faults.Steps);
    }

    // The late decision has come back to the actor by now (the agent returned): nothing may follow
    // the end of the attempt, neither a step in the journal nor the command itself.
    private static async Task AssertNoStepAfterTheEndAsync(IActorRef tasks, TestStorage storage, string id, TaskStatus final, string marker)
    {
        await Task.Delay(TimeSpan.FromSeconds(1));
        var state = await tasks.Ask<TaskState>(new GetTaskState(id), TimeSpan.FromSeconds(5));
        Assert.Equal(final, state.Status);
        Assert.Empty(state.Steps);
        var events = (await storage.Journal().ReadAllAsync("task-" + id)).Select(r => r.Event).ToList();
        Assert.DoesNotContain(events, e => e is TaskEvents.StepRecorded);
        Assert.False(File.Exists(marker), "the late decision's command ran");
    }
}
