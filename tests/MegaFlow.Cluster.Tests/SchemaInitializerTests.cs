using System.Diagnostics;
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

    /// <summary>
    /// A node joining a busy cluster must not touch the schema: the plugin's DDL includes an ALTER TABLE
    /// on the journal, which waits for an exclusive lock behind every open transaction (and holds up every
    /// write queued after it). A transaction holding the journal stands in for the busy cluster.
    /// </summary>
    [Fact]
    public async Task A_node_starting_on_an_initialized_schema_runs_no_ddl_and_does_not_wait_for_the_journal()
    {
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Postgres);
        await SchemaInitializer.EnsureAsync(storage.Node(), TimeSpan.FromMinutes(1));

        await using var busy = new Npgsql.NpgsqlConnection(storage.Node().ConnectionString!);
        await busy.OpenAsync();
        await using var tx = await busy.BeginTransactionAsync();
        await using (var read = new Npgsql.NpgsqlCommand("SELECT count(*) FROM journal", busy, tx))
            await read.ExecuteScalarAsync();

        var clock = Stopwatch.StartNew();
        await SchemaInitializer.EnsureAsync(storage.Node(), TimeSpan.FromSeconds(20));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"schema check took {clock.Elapsed.TotalSeconds:F1} s behind an open transaction");
        await tx.RollbackAsync();
    }
}
