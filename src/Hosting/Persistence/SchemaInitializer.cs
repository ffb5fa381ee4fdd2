using System.Data.Common;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Persistence;
using MegaFlow.Actors.Tasks.ReadModel;
using MegaFlow.Domain.Tasks;
using MegaFlow.Hosting;
using MegaFlow.Protocol.Serialization;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace MegaFlow.Hosting.Persistence;

/// <summary>
/// Creates the journal and snapshot tables once, safely, when several nodes start together.
/// The plugin's own auto-initialize races on PostgreSQL (concurrent CREATE TABLE IF NOT EXISTS can
/// fail with a unique violation in pg_type), so nodes take turns: PostgreSQL through a session-level
/// advisory lock, SQLite through an exclusive lock file beside the database. The node holding the lock
/// lets the plugin create its tables (a throwaway local ActorSystem with auto-initialize on, probing
/// each journal/snapshot pair); the others then find the tables present and skip all of it.
/// </summary>
public static class SchemaInitializer
{
    private const long AdvisoryLockKey = 0x4D65_6761_466C_6F77; // "MegaFlow"

    /// <summary>Every table the plugin creates for MegaFlow (see hocon/persistence.conf). Not the
    /// metadata tables: the plugin makes those only in delete-compatibility mode, which we do not use.
    /// Listing them made every node start re-run the plugin's DDL, whose ALTER TABLE waits for an
    /// exclusive lock on the journal: on a busy cluster that stalled every write and timed the new
    /// node's start out (found by the compose tests: a restarted worker could not start).
    /// The domain journal keeps its tags in a column of its own table (hocon/persistence.conf), so it
    /// has no tag table; journals made before that still have an unused <c>tags</c> table.</summary>
    public static readonly string[] Tables =
    [
        "journal", "snapshot",
        "sharding_journal", "sharding_tags", "sharding_snapshot",
    ];

    public static void Ensure(NodeSettings settings, TimeSpan? timeout = null) =>
        EnsureAsync(settings, timeout ?? TimeSpan.FromMinutes(2)).GetAwaiter().GetResult();

    /// <summary>Creates the missing tables and upgrades a journal made by an earlier version.</summary>
    public static async Task EnsureAsync(NodeSettings settings, TimeSpan timeout)
    {
        if (settings.Persistence == PersistenceBackend.Sqlite)
            await EnsureSqliteAsync(settings, timeout, createTables: true);
        else
            await EnsurePostgresAsync(settings, timeout, createTables: true);
    }

    /// <summary>
    /// Upgrades a journal made by an earlier version, creating nothing: for commands that read a
    /// journal a node wrote (<c>tasks list --journal</c>, <c>tasks export</c>).
    /// </summary>
    public static async Task UpgradeAsync(NodeSettings settings, TimeSpan timeout)
    {
        if (settings.Persistence == PersistenceBackend.Sqlite)
        {
            if (File.Exists(new SqliteConnectionStringBuilder(settings.SqliteConnectionString).DataSource))
                await EnsureSqliteAsync(settings, timeout, createTables: false);
        }
        else
            await EnsurePostgresAsync(settings, timeout, createTables: false);
    }

    private static async Task EnsureSqliteAsync(NodeSettings settings, TimeSpan timeout, bool createTables)
    {
        var builder = new SqliteConnectionStringBuilder(settings.SqliteConnectionString);
        var dbPath = Path.GetFullPath(builder.DataSource);
        Directory.CreateDirectory(Path.GetDirectoryName(dbPath)!);
        using var fileLock = await AcquireFileLockAsync(dbPath + ".init-lock", timeout);
        await using var conn = new SqliteConnection(settings.SqliteConnectionString);
        await conn.OpenAsync();
        // WAL lets readers (queries, recoveries) proceed while the single writer appends; it is a
        // property of the database file, so setting it once here covers every later connection.
        await Execute(conn, "PRAGMA journal_mode=WAL;");
        if (createTables && await MissingTablesAsync(conn, "SELECT name FROM sqlite_master WHERE type = 'table'") > 0)
            await CreateWithPluginAsync(settings, timeout);
        await AddTagsColumnAsync(conn,
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'journal'",
            "SELECT COUNT(*) FROM pragma_table_info('journal') WHERE name = 'tags'");
        await DropUnusedIndexesAsync(conn, "DROP INDEX IF EXISTS");
    }

    private static async Task EnsurePostgresAsync(NodeSettings settings, TimeSpan timeout, bool createTables)
    {
        await using var conn = new NpgsqlConnection(settings.ConnectionString);
        await conn.OpenAsync();
        await using (var cmd = new NpgsqlCommand("SELECT pg_advisory_lock(@k)", conn) { CommandTimeout = (int)timeout.TotalSeconds })
        {
            cmd.Parameters.AddWithValue("k", AdvisoryLockKey);
            await cmd.ExecuteNonQueryAsync();
        }
        try
        {
            if (createTables && await MissingTablesAsync(conn, "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()") > 0)
                await CreateWithPluginAsync(settings, timeout);
            await AddTagsColumnAsync(conn,
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'journal'",
                "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'journal' AND column_name = 'tags'");
            // Concurrently: a node joining a busy cluster must not hold up every write while it waits for the table's lock.
            await DropUnusedIndexesAsync(conn, "DROP INDEX CONCURRENTLY IF EXISTS");
        }
        finally
        {
            await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock(@k)", conn);
            unlock.Parameters.AddWithValue("k", AdvisoryLockKey);
            await unlock.ExecuteNonQueryAsync();
        }
    }

    /// <summary>
    /// The journal's <c>tags</c> column, for a journal made before the task read model read row
    /// events by tag (until session 16 the plugin kept tags in a table, and no event was tagged). The
    /// column comes with the row events already written tagged, so the read model and the trajectory
    /// stream find every task on an upgraded journal. Adding a nullable column rewrites no rows on
    /// SQLite or PostgreSQL; the tagging UPDATE touches the row events once. One transaction: a failed
    /// upgrade leaves the journal as it was, and the next start tries again.
    /// </summary>
    private static async Task AddTagsColumnAsync(DbConnection conn, string journalExists, string columnExists)
    {
        if (await CountAsync(conn, journalExists) == 0 || await CountAsync(conn, columnExists) > 0) return;
        var manifests = ProtocolManifests.ByType.Where(kv => TaskFold.ShapesRow(kv.Key)).Select(kv => $"'{kv.Value}'");
        await using var tx = await conn.BeginTransactionAsync();
        await Execute(conn, "ALTER TABLE journal ADD COLUMN tags VARCHAR(100) NULL", tx);
        await Execute(conn, $"UPDATE journal SET tags = ';{TaskJournal.RowTag};' WHERE identifier = {MegaFlowSerializer.Id} AND manifest IN ({string.Join(", ", manifests)})", tx);
        await tx.CommitAsync();
    }

    /// <summary>
    /// Indexes the plugin's DDL puts on both journals for the schema of its predecessors, which no
    /// query of the plugin or of MegaFlow uses: the plugin reads by ordering (the primary key) and by
    /// persistence id and sequence number (the unique index), and so do our tools. Every insert paid
    /// to keep both up to date (bench/RESULTS.md, session 18). Dropped after the plugin creates its
    /// tables and on every start, so a journal made earlier loses them too.
    /// </summary>
    public static readonly string[] UnusedIndexes =
    [
        "journal_created_idx", "journal_sequence_number_idx",
        "sharding_journal_created_idx", "sharding_journal_sequence_number_idx",
    ];

    private static async Task DropUnusedIndexesAsync(DbConnection conn, string dropIfExists)
    {
        foreach (var index in UnusedIndexes) await Execute(conn, $"{dropIfExists} {index}");
    }

    private static async Task<long> CountAsync(DbConnection conn, string sql)
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }

    private static async Task<int> MissingTablesAsync(DbConnection conn, string sql)
    {
        var present = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) present.Add(reader.GetString(0));
        return Tables.Count(t => !present.Contains(t));
    }

    // Lets Akka.Persistence.Sql create its own schema (so we never drift from the plugin's DDL):
    // recovering a probe actor on each journal/snapshot pair completes only after both initialized.
    private static async Task CreateWithPluginAsync(NodeSettings settings, TimeSpan timeout)
    {
        var config = ConfigurationFactory.ParseString("""
                akka.actor.provider = local
                akka.persistence.journal.sql.auto-initialize = on
                akka.persistence.journal.sharding.auto-initialize = on
                akka.persistence.snapshot-store.sql.auto-initialize = on
                akka.persistence.snapshot-store.sharding.auto-initialize = on
                akka.loglevel = WARNING
                """)
            .WithFallback(MegaFlowConfig.Build(settings));
        var setup = ActorSystemSetup.Create(BootstrapSetup.Create().WithConfig(config));
        if (MegaFlowConfig.PersistenceSetup(settings) is { } tuning) setup = setup.And(tuning);
        using var system = ActorSystem.Create("megaflow-schema", setup);
        try
        {
            var probes = new[]
            {
                ("akka.persistence.journal.sql", "akka.persistence.snapshot-store.sql"),
                ("akka.persistence.journal.sharding", "akka.persistence.snapshot-store.sharding"),
            }.Select(p =>
            {
                var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                system.ActorOf(Props.Create(() => new Probe(p.Item1, p.Item2, done)));
                return done.Task;
            });
            await Task.WhenAll(probes).WaitAsync(timeout);
        }
        finally
        {
            await system.Terminate();
        }
    }

    private static async Task<FileStream> AcquireFileLockAsync(string path, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    private static async Task Execute(DbConnection conn, string sql, DbTransaction? tx = null)
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        await cmd.ExecuteNonQueryAsync();
    }

    private sealed class Probe : UntypedPersistentActor
    {
        private readonly TaskCompletionSource _done;

        public Probe(string journal, string snapshots, TaskCompletionSource done)
        {
            JournalPluginId = journal;
            SnapshotPluginId = snapshots;
            _done = done;
        }

        public override string PersistenceId => "megaflow-schema-probe";

        protected override void OnRecover(object message)
        {
            if (message is RecoveryCompleted) _done.TrySetResult();
        }

        protected override void OnCommand(object message) { }

        protected override void OnRecoveryFailure(Exception reason, object? message = null) => _done.TrySetException(reason);
    }
}
