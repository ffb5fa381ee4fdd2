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
    /// The plugin's DDL indexes created and sequence_number alone on both journals; nothing reads by
    /// them, and every insert paid for them. A fresh schema has none, and a journal made before (the
    /// indexes put back by hand) loses them at the next start, with its events still readable.
    /// </summary>
    [Theory]
    [InlineData(PersistenceBackend.Sqlite)]
    [InlineData(PersistenceBackend.Postgres)]
    public async Task The_journals_keep_no_index_that_no_query_uses_and_an_older_journal_loses_them_at_start(PersistenceBackend backend)
    {
        await using var storage = await TestStorage.CreateAsync(backend);
        await SchemaInitializer.EnsureAsync(storage.Node(), TimeSpan.FromMinutes(1));
        var indexes = backend == PersistenceBackend.Sqlite
            ? "SELECT name FROM sqlite_master WHERE type = 'index'"
            : "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()";
        async Task<HashSet<string>> Indexes() => (await storage.SqlAsync(indexes)).Select(r => (string)r[0]!).ToHashSet();

        var fresh = await Indexes();
        Assert.Empty(fresh.Intersect(SchemaInitializer.UnusedIndexes));
        Assert.Contains("journal_uq", fresh); // the one the journal reads and writes by stays

        // A journal from before this change: the plugin's indexes are there, and so is a task's history.
        await using (var cluster = await TestCluster.StartAsync(storage, workers: 1))
        {
            await TestCluster.SubmitAllAsync(cluster.Nodes[0].Refs.Tasks, [Specs.Simple("before-upgrade")]);
            await TestCluster.WaitForTerminalAsync(cluster.Nodes[0].Refs.Tasks, ["before-upgrade"], TimeSpan.FromSeconds(60));
        }
        foreach (var table in new[] { "journal", "sharding_journal" })
        {
            await storage.SqlAsync($"CREATE INDEX {table}_created_idx ON {table} (created)");
            await storage.SqlAsync($"CREATE INDEX {table}_sequence_number_idx ON {table} (sequence_number)");
        }
        Assert.Equal(4, (await Indexes()).Intersect(SchemaInitializer.UnusedIndexes).Count());

        await SchemaInitializer.EnsureAsync(storage.Node(), TimeSpan.FromMinutes(1));

        Assert.Empty((await Indexes()).Intersect(SchemaInitializer.UnusedIndexes));
        Assert.NotEmpty(await storage.Journal().ReadAllAsync("task-before-upgrade"));
    }

    /// <summary>
    /// The first start after an upgrade drops the unused indexes while another node may be writing to
    /// the same SQLite file. The drop waits for that writer's transaction (Microsoft.Data.Sqlite gives
    /// every connection a busy timeout, its default timeout of 30 s) instead of failing the start, and
    /// the writer's row stays. Checked to fail when the initializer's connection has no busy timeout.
    /// </summary>
    [Fact]
    public async Task On_sqlite_the_index_drop_waits_for_a_writer_holding_the_database_and_loses_nothing()
    {
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await SchemaInitializer.EnsureAsync(storage.Node(), TimeSpan.FromMinutes(1));
        await storage.SqlAsync("CREATE INDEX journal_created_idx ON journal (created)");

        await using var writer = new Microsoft.Data.Sqlite.SqliteConnection(storage.Node().SqliteConnectionString);
        await writer.OpenAsync();
        await using var tx = writer.BeginTransaction(deferred: false); // takes the write lock now, as a writing node holds it
        await using (var insert = writer.CreateCommand())
        {
            insert.Transaction = tx;
            insert.CommandText = "INSERT INTO journal (persistence_id, sequence_number, deleted, created, message, identifier, manifest, writer_uuid) " +
                                 "VALUES ('held-by-writer', 1, 0, 0, x'00', 411, 'x', 'w')";
            await insert.ExecuteNonQueryAsync();
        }

        var clock = Stopwatch.StartNew();
        // Its own thread: Microsoft.Data.Sqlite's async calls run synchronously, and this one waits.
        var upgrade = Task.Run(() => SchemaInitializer.EnsureAsync(storage.Node(), TimeSpan.FromMinutes(1)));
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.False(upgrade.IsCompleted, "the drop did not wait for the writer's transaction");
        await tx.CommitAsync();
        await upgrade;

        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(2));
        Assert.Empty((await storage.SqlAsync("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'journal_created_idx'")));
        Assert.Single(await storage.SqlAsync("SELECT ordering FROM journal WHERE persistence_id = 'held-by-writer'"));
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
