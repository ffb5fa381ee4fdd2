using Akka.Actor;
using MegaFlow.Cluster.Tests.Infrastructure;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Environments.Docker;
using MegaFlow.Hosting;

namespace MegaFlow.Docker.Tests;

/// <summary>A one-node cluster whose environments are containers of a given provider.</summary>
internal static class DockerNode
{
    /// <summary>Starts the node, founds its cluster, and returns once its scheduler knows it (tasks can be admitted).</summary>
    public static async Task<TestNode> StartAsync(NodeSettings settings, DockerProvider provider)
    {
        var node = TestNode.Start(settings, provider);
        Akka.Cluster.Cluster.Get(node.System).Join(node.Address);
        await TestCluster.Eventually(async () =>
        {
            try
            {
                var s = await node.Refs.Scheduler.Ask<SchedulerProtocol.SchedulerStatus>(SchedulerProtocol.GetSchedulerState.Instance, TimeSpan.FromSeconds(2));
                return s.Nodes.Count == 1;
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), "scheduler knows the node");
        return node;
    }
}
