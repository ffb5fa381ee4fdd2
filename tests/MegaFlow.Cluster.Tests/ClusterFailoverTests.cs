using MegaFlow.Hosting;
using MegaFlow.Cluster.Tests.Infrastructure;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using Xunit.Abstractions;

namespace MegaFlow.Cluster.Tests;

/// <summary>
/// Three worker nodes and a client node (shard-region proxies only) in one process on loopback,
/// sharing one SQLite journal. Guarantees are checked from the journal's events.
/// </summary>
public sealed class ClusterFailoverTests(ITestOutputHelper output)
{
    private const int TaskCount = 300;

    // Small caps so that every semaphore is actually under pressure during the run.
    private static readonly SchedulerSettings Caps = new() { MaxRunning = 45, MaxStarting = 12, SlotsPerNode = 20, MaxPoolSize = 6 };

    private const string Workload = """
        megaflow.scheduler { max-running = 45, max-starting = 12, slots-per-node = 20, max-pool-size = 6 }
        megaflow.simulated { provision-latency = "uniform:10-60", exec-latency = "uniform:10-40", reset-latency = "uniform:5-20" }
        # The audit replays the scheduler's whole journal.
        megaflow.scheduler.delete-obsolete = off
        """;

    [Fact]
    public async Task Three_nodes_complete_300_tasks_submitted_through_a_proxy_and_spread_them_over_all_nodes()
    {
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartAsync(storage, workers: 3, client: true, extraHocon: Workload);
        var client = cluster.Nodes[3];
        var specs = Specs.Mixed("spread", TaskCount);
        var ids = specs.Select(s => s.TaskId!).ToList();

        await TestCluster.SubmitAllAsync(client.Refs.Tasks, specs);
        var states = await TestCluster.WaitForTerminalAsync(client.Refs.Tasks, ids, TimeSpan.FromMinutes(4));

        Assert.All(states, s => Assert.Equal(TaskStatus.Completed, s.Status));
        var audit = await JournalAudit.RunAsync(storage.Journal(), ids, Caps);
        var taskNodes = audit.TaskAdmissions.GroupBy(a => a.TaskNode).ToDictionary(g => g.Key, g => g.Count());
        var envNodes = audit.TaskAdmissions.GroupBy(a => a.Lease.Node).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine($"task actors per node: {string.Join(", ", taskNodes.Select(kv => $"{kv.Key}={kv.Value}"))}");
        output.WriteLine($"environments per node: {string.Join(", ", envNodes.Select(kv => $"{kv.Key}={kv.Value}"))}");
        output.WriteLine($"peak running {audit.Peaks.Running}/{Caps.MaxRunning}, peak starting {audit.Peaks.Starting}/{Caps.MaxStarting}");
        var workers = cluster.Nodes.Take(3).Select(n => n.Key).ToHashSet();
        Assert.Equal(workers, taskNodes.Keys.ToHashSet());
        Assert.Equal(cluster.Nodes.Take(3).Select(n => n.Incarnation).ToHashSet(), envNodes.Keys.ToHashSet());
        Assert.DoesNotContain(cluster.Nodes[3].Key, taskNodes.Keys);
    }

    [Fact]
    public async Task Killing_the_scheduler_node_and_another_worker_mid_run_loses_no_task_and_admits_none_twice()
    {
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartAsync(storage, workers: 3, client: true, extraHocon: Workload);
        var client = cluster.Nodes[3];
        var specs = Specs.Mixed("crash", TaskCount);
        var ids = specs.Select(s => s.TaskId!).ToList();

        // The scheduler singleton (and the shard coordinators) live on the oldest node: the first one.
        var schedulerNode = cluster.Nodes[0];
        var otherWorker = cluster.Nodes[1];
        var survivor = cluster.Nodes[2];

        await TestCluster.SubmitAllAsync(client.Refs.Tasks, specs);
        await TestCluster.Eventually(async () => (await storage.Journal().ReadAllAsync("task-")).Count(e => e.Event is Contracts.Tasks.TaskEvents.Completed) >= TaskCount / 4,
            TimeSpan.FromMinutes(2), "a quarter of the tasks completed");

        output.WriteLine($"crashing {schedulerNode.Key} (scheduler) and {otherWorker.Key}");
        await schedulerNode.Crash();
        await otherWorker.Crash();
        // What an operator (or the split brain resolver in a larger cluster) does: down the dead nodes.
        var survivorCluster = Akka.Cluster.Cluster.Get(survivor.System);
        survivorCluster.Down(schedulerNode.Address);
        survivorCluster.Down(otherWorker.Address);
        await cluster.WaitForMembersUpAsync(2, TimeSpan.FromSeconds(60));

        var states = await TestCluster.WaitForTerminalAsync(client.Refs.Tasks, ids, TimeSpan.FromMinutes(5));

        Assert.All(states, s => Assert.Equal(TaskStatus.Completed, s.Status));
        var audit = await JournalAudit.RunAsync(storage.Journal(), ids, Caps);
        var retried = states.Count(s => s.Attempt > 1);
        output.WriteLine($"retried after the crash: {retried}; scheduler events: {audit.SchedulerEvents}; peak running {audit.Peaks.Running}");
        Assert.True(retried > 0, "the crash should have interrupted some running attempts");
        Assert.All(states.Where(s => s.Attempt > 1), s => Assert.Contains(s.History, h => h.Outcome == "infrastructure-failure"));
    }
}
