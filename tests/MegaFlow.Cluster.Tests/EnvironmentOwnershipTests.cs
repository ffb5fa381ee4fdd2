using System.Diagnostics;
using MegaFlow.Contracts;
using Akka.Actor;
using MegaFlow.Hosting;
using MegaFlow.Cluster.Tests.Infrastructure;
using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Environments;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using Xunit.Abstractions;
using static MegaFlow.Contracts.Environments.EnvironmentProtocol;

namespace MegaFlow.Cluster.Tests;

/// <summary>
/// Environments belong to the node incarnation that created them, and a lease lasts only while its
/// task attempt holds it. Checked from the journal on real clusters of ActorSystems on loopback.
/// </summary>
public sealed class EnvironmentOwnershipTests(ITestOutputHelper output)
{
    // Commands take 40 s and may take 120 s: without a notice, an attempt on a dead node would
    // wait 123 s (timeout plus grace) before failing over.
    private const string SlowCommands = """
        megaflow.simulated { provision-latency = 10, exec-latency = 40000 }
        """;

    [Fact]
    public async Task An_environment_whose_node_restarts_at_the_same_address_is_lost_not_adopted_and_its_lessee_fails_over_within_seconds()
    {
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartAsync(storage, workers: 3, extraHocon: SlowCommands);
        var tasks = cluster.Nodes[0].Refs.Tasks;
        var specs = Enumerable.Range(0, 6).Select(i => Specs.Simple($"owned-{i}", actions: ["sleep 40"]) with { ExecTimeoutSeconds = 120 }).ToList();
        await TestCluster.SubmitAllAsync(tasks, specs);
        var running = new List<TaskState>();
        foreach (var s in specs) running.Add(await TestCluster.WaitForRunningAsync(tasks, s.TaskId!, TimeSpan.FromSeconds(60)));

        // Not the oldest node: the scheduler and the coordinators stay up.
        var victim = cluster.Nodes[2];
        var oldIncarnation = victim.Incarnation;
        var port = victim.Address.Port!.Value;
        var onVictim = running.Where(s => s.Lease!.Node == oldIncarnation).Select(s => s.TaskId).ToList();
        Assert.NotEmpty(onVictim); // least-loaded placement spreads 6 tasks over 3 nodes

        output.WriteLine($"crashing {oldIncarnation}, which holds the environments of {string.Join(", ", onVictim)}");
        var clock = Stopwatch.StartNew();
        var crashedAt = DateTimeOffset.UtcNow;
        await victim.Crash();
        Akka.Cluster.Cluster.Get(cluster.Nodes[0].System).Down(victim.Address);
        // The node comes back at the same address: a new incarnation.
        var reborn = TestNode.Start(storage.Node(provider: "simulated", extraHocon: SlowCommands) with { Port = port });
        cluster.Nodes.Add(reborn);
        Akka.Cluster.Cluster.Get(reborn.System).Join(cluster.Nodes[0].Address);
        Assert.NotEqual(oldIncarnation, reborn.Incarnation);

        // The lessees fail over at once (node-loss notice), long before 40 s of command, let alone 123 s.
        await TestCluster.Eventually(async () =>
        {
            try
            {
                // A task whose own actor was on the dead node answers once its shard has moved.
                var states = await Task.WhenAll(onVictim.Select(id => tasks.Ask<TaskState>(new TaskProtocol.GetTaskState(id), TimeSpan.FromSeconds(2))));
                return states.All(s => s.History.Any(h => h.Outcome == "infrastructure-failure"));
            }
            catch (AskTimeoutException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30), "the attempts on the dead incarnation failed over");
        output.WriteLine($"failed over {clock.Elapsed.TotalSeconds:0.0} s after the crash");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30));

        // From the journal: every environment of the dead incarnation ends Lost, and after the crash
        // nothing provisioned, leased or reset it — no other node, and not the new incarnation, adopted it.
        var journal = storage.Journal();
        IReadOnlyList<JournalEntry> events = [];
        await TestCluster.Eventually(async () =>
        {
            events = (await journal.ReadAllAsync("env-")).Where(e => EnvironmentIds.NodeOf(((EnvironmentEvents.IEnvironmentEvent)e.Event).EnvironmentId) == oldIncarnation).ToList();
            return events.GroupBy(e => e.PersistenceId).All(g => g.Last().Event is EnvironmentEvents.Lost or EnvironmentEvents.Destroyed);
        }, TimeSpan.FromSeconds(30), "every environment of the dead incarnation ended");
        Assert.NotEmpty(events);
        foreach (var e in events.Where(e => At(e.Event) > crashedAt))
            Assert.IsType<EnvironmentEvents.Lost>(e.Event);
        Assert.Contains(events, e => e.Event is EnvironmentEvents.Lost l && l.Reason.Contains("incarnation", StringComparison.Ordinal));

        // And the retried attempts ran on live incarnations only.
        var retried = (await journal.ReadAllAsync("task-owned-")).Select(e => e.Event).OfType<TaskEvents.Admitted>()
            .Where(a => onVictim.Contains(a.TaskId) && a.Attempt > 1).ToList();
        Assert.NotEmpty(retried);
        Assert.DoesNotContain(retried, a => a.Lease.Node == oldIncarnation);
    }

    [Fact]
    public async Task A_lease_whose_task_never_held_it_is_reclaimed_and_the_environment_destroyed()
    {
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartAsync(storage, workers: 1, extraHocon: "megaflow.environment.check-interval = 300ms");
        var node = cluster.Nodes[0];
        // As if a task's destroy were lost in a crash: an environment leased to an attempt that is not running.
        var id = EnvironmentIds.New(node.Incarnation);
        var ready = await node.Refs.Environments.Ask<object>(new Provision(id, new EnvironmentSpec("img", "pool-x", ExecutionMode.Ephemeral), "ghost-task", 1), TimeSpan.FromSeconds(10));
        Assert.IsType<EnvironmentReady>(ready);

        var rows = await WaitForEndAsync(storage, id);
        var destroyed = Assert.IsType<EnvironmentEvents.Destroyed>(rows[^1].Event);
        Assert.Contains("outlived its attempt", destroyed.Reason);
    }

    [Fact]
    public async Task An_idle_environment_that_no_pool_lists_is_destroyed()
    {
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartAsync(storage, workers: 1, extraHocon: "megaflow.environment.check-interval = 300ms");
        var node = cluster.Nodes[0];
        var id = EnvironmentIds.New(node.Incarnation);
        Assert.IsType<EnvironmentReady>(await node.Refs.Environments.Ask<object>(
            new Provision(id, new EnvironmentSpec("img", "pool-y", ExecutionMode.Persistent), "ghost-task", 1), TimeSpan.FromSeconds(10)));
        // Reset at once (before a lease check can reclaim it): Ready and idle, but the scheduler never pooled it.
        Assert.IsType<ResetDone>(await node.Refs.Environments.Ask<object>(new Reset(id, "ghost-task"), TimeSpan.FromSeconds(10)));

        var rows = await WaitForEndAsync(storage, id);
        var destroyed = Assert.IsType<EnvironmentEvents.Destroyed>(rows[^1].Event);
        Assert.Contains("not listed in any pool", destroyed.Reason);
    }

    [Fact]
    public async Task A_finished_task_keeps_no_environment_and_the_scheduler_lists_only_live_ones()
    {
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartAsync(storage, workers: 1, extraHocon: "megaflow.environment.check-interval = 300ms");
        var tasks = cluster.Nodes[0].Refs.Tasks;
        var specs = Enumerable.Range(0, 10).Select(i => Specs.Simple($"pooled-{i}", mode: "persistent", pool: "pool-z")).ToList();
        await TestCluster.SubmitAllAsync(tasks, specs);
        var states = await TestCluster.WaitForTerminalAsync(tasks, specs.Select(s => s.TaskId!).ToList(), TimeSpan.FromSeconds(60));
        Assert.All(states, s => Assert.Equal(TaskStatus.Completed, s.Status));

        // Warm environments stay (the pool), but each one the scheduler lists is Ready, and checks leave them alone.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var status = await cluster.Nodes[0].Refs.Scheduler.Ask<SchedulerProtocol.SchedulerStatus>(SchedulerProtocol.GetSchedulerState.Instance, TimeSpan.FromSeconds(5));
        var idle = status.IdleByPool.GetValueOrDefault("pool-z");
        Assert.True(idle > 0, "the pool keeps warm environments");
        var envRows = await storage.Journal().ReadAllAsync("env-");
        var live = envRows.GroupBy(e => e.PersistenceId).Where(g => g.Last().Event is not (EnvironmentEvents.Destroyed or EnvironmentEvents.Lost)).ToList();
        Assert.Equal(idle, live.Count);
        Assert.All(live, g => Assert.IsType<EnvironmentEvents.ResetCompleted>(g.Last().Event));
    }

    private static async Task<IReadOnlyList<JournalEntry>> WaitForEndAsync(TestStorage storage, string environmentId)
    {
        IReadOnlyList<JournalEntry> rows = [];
        await TestCluster.Eventually(async () =>
        {
            rows = await storage.Journal().ReadAllAsync("env-" + environmentId);
            return rows.Count > 0 && rows[^1].Event is EnvironmentEvents.Destroyed or EnvironmentEvents.Lost;
        }, TimeSpan.FromSeconds(20), $"environment {environmentId} ended");
        return rows;
    }

    private static DateTimeOffset At(object e) => e switch
    {
        EnvironmentEvents.Requested x => x.At,
        EnvironmentEvents.Provisioned x => x.At,
        EnvironmentEvents.Leased x => x.At,
        EnvironmentEvents.ResetStarted x => x.At,
        EnvironmentEvents.ResetCompleted x => x.At,
        EnvironmentEvents.Destroyed x => x.At,
        EnvironmentEvents.Lost x => x.At,
        _ => DateTimeOffset.MinValue,
    };
}
