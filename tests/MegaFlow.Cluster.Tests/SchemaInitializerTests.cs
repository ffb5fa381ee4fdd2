using MegaFlow.Hosting;
using MegaFlow.Hosting.Persistence;
using MegaFlow.Cluster.Tests.Infrastructure;

namespace MegaFlow.Cluster.Tests;

/// <summary>Several nodes starting together against an empty database create the tables once, without errors.</summary>
public sealed class SchemaInitializerTests
{
    [Theory]
    [InlineData(PersistenceBackend.Sqlite)]
    [InlineData(PersistenceBackend.Postgres)]
    public async Task Three_nodes_initializing_at_once_create_every_table_without_errors(PersistenceBackend backend)
    {
        await using var storage = await TestStorage.CreateAsync(backend);
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var nodes = Enumerable.Range(0, 3).Select(async _ =>
        {
            await start.Task;
            await SchemaInitializer.EnsureAsync(storage.Node(), TimeSpan.FromMinutes(1));
        }).ToList();
        start.SetResult();
        await Task.WhenAll(nodes);

        // Tables are there and usable: a node starts and persists on them.
        await using var cluster = await TestCluster.StartAsync(storage, workers: 1);
        await TestCluster.SubmitAllAsync(cluster.Nodes[0].Refs.Tasks, [Specs.Simple("after-init")]);
        var done = await TestCluster.WaitForTerminalAsync(cluster.Nodes[0].Refs.Tasks, ["after-init"], TimeSpan.FromSeconds(60));
        Assert.Equal(TaskStatus.Completed, done[0].Status);
        Assert.NotEmpty(await storage.Journal().ReadAllAsync("task-after-init"));
    }
}
