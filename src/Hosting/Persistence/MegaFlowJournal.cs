using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Persistence;
using Akka.Persistence.Sql;
using Akka.Persistence.Sql.Config;
using Akka.Persistence.Sql.Journal;
using Akka.Persistence.Journal;
using MegaFlow.Actors.Tasks.ReadModel;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using Microsoft.Data.Sqlite;

namespace MegaFlow.Hosting.Persistence;

/// <summary>
/// Akka.Persistence.Sql's journal with one path replaced on SQLite: the highest-sequence-number
/// lookup every persistent actor makes when it starts. Every new task and every new environment is a
/// fresh entity, so this lookup runs twice per task; through linq2db (connection from the pool,
/// transaction, query translation, interceptor) it was the largest single item in the benchmark's
/// profile (bench/RESULTS.md). Here it is one prepared statement on a connection this journal keeps
/// open: <c>SELECT MAX(sequence_number) FROM journal WHERE persistence_id = $id</c>, the same query the
/// plugin issues in its native mode (deleted rows stay in the table as markers, so MAX is correct).
/// Writes, replays and PostgreSQL otherwise go through the plugin unchanged.
/// <para>
/// It also tags the task read model's row events (<see cref="TaskFold.ShapesRow(TaskEvents.ITaskEvent)"/>) with
/// <see cref="TaskJournal.RowTag"/>, on SQLite and PostgreSQL alike. Here rather than in an event
/// adapter: the management node binds one adapter to every MegaFlow event (the persisted-events
/// metric), and Akka picks a single write adapter per event type. With the plugin's <c>Csv</c> tag
/// mode the tag is a column of the event's own row, written in the same multi-row INSERT.
/// </para>
/// </summary>
public sealed class MegaFlowJournal : SqlWriteJournal
{
    private readonly string? _sqliteConnectionString;
    private readonly string _highestSql = "";
    private readonly object _gate = new();

    // Writes in flight by persistence id. The plugin waits for an id's write to finish before it reads
    // that id's highest sequence number (an actor restarted right after persisting); its own record is
    // private, so this one mirrors it, and such reads take the plugin's path.
    private readonly ConcurrentDictionary<string, Task> _writes = new();
    private SqliteConnection? _connection;
    private SqliteCommand? _highest;
    private SqliteParameter? _idParameter;
    private SqliteParameter? _fromParameter;

    public MegaFlowJournal(Akka.Configuration.Config config) : base(config)
    {
        var journal = new JournalConfig(config.WithFallback(SqlPersistence.DefaultJournalConfiguration));
        if (!journal.ProviderName.StartsWith("SQLite", StringComparison.OrdinalIgnoreCase)) return;
        _sqliteConnectionString = journal.ConnectionString;
        var table = journal.TableConfig.EventJournalTable;
        var c = table.ColumnNames;
        _highestSql = $"SELECT MAX({c.SequenceNumber}) FROM {table.Name} WHERE {c.PersistenceId} = $id AND {c.SequenceNumber} > $from";
    }

    public override Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken)
    {
        if (_sqliteConnectionString is null || _writes.ContainsKey(persistenceId))
            return base.ReadHighestSequenceNrAsync(persistenceId, fromSequenceNr, cancellationToken);
        try
        {
            return Task.FromResult(ReadHighest(persistenceId, fromSequenceNr));
        }
        catch (Exception ex)
        {
            return Task.FromException<long>(ex);
        }
    }

    private static readonly ImmutableHashSet<string> RowTags = [TaskJournal.RowTag];

    protected override Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var list = new List<AtomicWrite>();
        foreach (var message in messages) list.Add(TagRowEvents(message));
        var write = base.WriteMessagesAsync(list, cancellationToken);
        if (_sqliteConnectionString is not null && list.Count > 0)
        {
            var id = list[0].PersistenceId;
            _writes[id] = write;
            write.ContinueWith(t => _writes.TryRemove(new KeyValuePair<string, Task>(id, t)), TaskContinuationOptions.ExecuteSynchronously);
        }
        return write;
    }

    // Called for every write: a loop, not LINQ, and a new AtomicWrite only when an event is tagged.
    private static AtomicWrite TagRowEvents(AtomicWrite write)
    {
        var events = (IImmutableList<IPersistentRepresentation>)write.Payload;
        ImmutableList<IPersistentRepresentation>.Builder? tagged = null;
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            if (e.Payload is not TaskEvents.ITaskEvent t || !TaskFold.ShapesRow(t)) continue;
            tagged ??= events.ToImmutableList().ToBuilder();
            tagged[i] = e.WithPayload(new Tagged(t, RowTags));
        }
        return tagged is null ? write : new AtomicWrite(tagged.ToImmutable());
    }

    protected override void PostStop()
    {
        lock (_gate)
        {
            _highest?.Dispose();
            _connection?.Dispose();
            _highest = null;
            _connection = null;
        }
        base.PostStop();
    }

    // Synchronous on purpose: a lookup by the unique index takes microseconds, far less than a
    // thread hop, and the journal actor calls this from its own thread (the lock only guards
    // against a misuse elsewhere).
    private long ReadHighest(string persistenceId, long fromSequenceNr)
    {
        lock (_gate)
        {
            if (_highest is null)
            {
                _connection = new SqliteConnection(_sqliteConnectionString);
                _connection.Open();
                using (var pragma = _connection.CreateCommand())
                {
                    pragma.CommandText = "PRAGMA busy_timeout=10000;";
                    pragma.ExecuteNonQuery();
                }
                _highest = _connection.CreateCommand();
                _highest.CommandText = _highestSql;
                _idParameter = _highest.Parameters.Add("$id", SqliteType.Text);
                _fromParameter = _highest.Parameters.Add("$from", SqliteType.Integer);
                _highest.Prepare();
            }
            _idParameter!.Value = persistenceId;
            _fromParameter!.Value = fromSequenceNr;
            return _highest.ExecuteScalar() is long max ? max : 0L;
        }
    }
}
