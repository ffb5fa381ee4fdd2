using System.Data.Common;
using System.Runtime.CompilerServices;
using LinqToDB.Interceptors;
using Microsoft.Data.Sqlite;

namespace MegaFlow.Hosting.Persistence;

/// <summary>
/// Applied to every connection Akka.Persistence.Sql opens on SQLite. Two measured problems
/// (see bench/RESULTS.md):
/// - Microsoft.Data.Sqlite's async methods complete synchronously, so each journal query ran inline
///   on the journal's actor/stream stage and the plugin's write batching never kicked in (10,000 events
///   became 10,000 transactions, each with a flush). One real thread hop when a connection opens
///   restores batching (the same 10,000 events: ~100 transactions).
/// - synchronous=NORMAL (safe in WAL mode: a power cut can lose the last commits, never corrupt the
///   file) and a busy timeout are per-connection PRAGMAs; the connection string has no keys for them.
/// - wal_autocheckpoint=10000 pages (40 MB; SQLite's default is 1,000): a checkpoint copies every page
///   the log holds into the database, and the journal's index pages change in almost every commit, so
///   checkpointing a tenth as often writes them a tenth as often (a 10,000-task benchmark run wrote
///   760 MB instead of 870 MB; whole-process CPU 0.92 at the paired median, bench/RESULTS.md, session 18).
/// The PRAGMAs stick to the native connection, which the pool hands out again and again, so they run
/// once per native connection, not on every open (every journal operation opens one).
/// </summary>
public sealed class SqliteConnectionTuning : ConnectionInterceptor
{
    private const string Pragmas = "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000; PRAGMA wal_autocheckpoint=10000;";
    private static readonly ConditionalWeakTable<object, object> Tuned = new();

    public override void ConnectionOpened(ConnectionEventData eventData, DbConnection connection) => ApplyPragmas(connection);

    public override async Task ConnectionOpenedAsync(ConnectionEventData eventData, DbConnection connection, CancellationToken cancellationToken)
    {
        await Task.Yield();
        ApplyPragmas(connection);
    }

    private static void ApplyPragmas(DbConnection connection)
    {
        if (connection is SqliteConnection { Handle: { } native })
        {
            if (Tuned.TryGetValue(native, out _)) return;
            Tuned.AddOrUpdate(native, native);
        }
        using var cmd = connection.CreateCommand();
        cmd.CommandText = Pragmas;
        cmd.ExecuteNonQuery();
    }
}
