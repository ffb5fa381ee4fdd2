using Akka.Actor;
using MegaFlow.Actors.Scheduling;
using MegaFlow.Cluster.Tests.Infrastructure;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Hosting;
using static MegaFlow.Contracts.Tasks.TaskProtocol;

namespace MegaFlow.Cluster.Tests;

/// <summary>
/// Single-node mode itself: the cluster's actors under plain parents, with no cluster in the system.
/// (The agent-loop, async-agent and bad-input tests run their actor behaviour in this mode.)
/// </summary>
public sealed class SingleNodeModeTests
{
    [Fact]
    public async Task Tasks_run_and_passivate_and_pools_drain_with_no_cluster_in_the_system()
    {
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var node = await TestCluster.StartSingleNodeAsync(storage, provider: "local");
        var system = node.Nodes[0].System;
        Assert.Equal("Akka.Actor.LocalActorRefProvider", ((ExtendedActorSystem)system).Provider.GetType().FullName);
        Assert.ThrowsAny<Exception>(() => { Akka.Cluster.Cluster.Get(system); });

        var specs = Enumerable.Range(0, 6).Select(i => Specs.Simple($"single-{i}", i % 2 == 0 ? "persistent" : "ephemeral")).ToList();
        await TestCluster.SubmitAllAsync(node.Nodes[0].Refs.Tasks, specs);
        var states = await TestCluster.WaitForTerminalAsync(node.Nodes[0].Refs.Tasks, specs.Select(s => s.TaskId!).ToList(), TimeSpan.FromSeconds(60));
        Assert.All(states, s => Assert.Equal(TaskStatus.Completed, s.Status));
        // Leases name this node's incarnation, as in a cluster.
        Assert.All(states, s => Assert.StartsWith("local:0~", s.Lease!.Node));

        // Finished tasks passivate (linger 200 ms); asking again starts the entity anew from its journal.
        await Task.Delay(1000);
        var again = await node.Nodes[0].Refs.Tasks.Ask<TaskState>(new GetTaskState("single-0"), TimeSpan.FromSeconds(10));
        Assert.Equal(TaskStatus.Completed, again.Status);

        // The environment parent answers the region query pool draining relies on.
        var destroyed = await WarmPools.DrainAsync(node.Nodes[0].Refs.Scheduler, node.Nodes[0].Refs.Environments, TimeSpan.FromSeconds(30));
        Assert.NotEmpty(destroyed);
    }
}
