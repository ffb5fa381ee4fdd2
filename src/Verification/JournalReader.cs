using System.Data.Common;
using MegaFlow.Hosting;
using MegaFlow.Protocol.Serialization;
using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Environments;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace MegaFlow.Verification;

/// <summary>One decoded journal row.</summary>
/// <param name="Writer">The writing actor incarnation's id (Akka's writer uuid): it changes when an entity or singleton restarts.</param>
public sealed record JournalEntry(long Ordering, string PersistenceId, long SequenceNr, object Event, string? Writer = null);

/// <summary>
/// Reads the domain journal table directly with SQL and decodes it with our serializer, so checks
/// see what was durably written, not what actors say or log.
/// </summary>
public sealed class JournalReader(PersistenceBackend backend, string connectionString)
{
    /// <summary>Persistence ids of task entities start with this (TaskActor).</summary>
    public const string TaskPrefix = "task-";

    /// <summary>Persistence ids of environment entities start with this (EnvironmentActor).</summary>
    public const string EnvironmentPrefix = "env-";

    /// <summary>The scheduler singleton's persistence id.</summary>
    public const string SchedulerId = "megaflow-scheduler";

    private static readonly string[] TerminalManifests =
        [.. new[] { typeof(TaskEvents.Completed), typeof(TaskEvents.Failed), typeof(TaskEvents.TimedOut), typeof(TaskEvents.Cancelled) }.Select(t => ProtocolManifests.ByType[t])];

    private static readonly string[] GoneManifests =
        [ProtocolManifests.ByType[typeof(EnvironmentEvents.Destroyed)], ProtocolManifests.ByType[typeof(EnvironmentEvents.Lost)]];

    /// <summary>Every row (or those whose persistence id starts with <paramref name="persistenceIdPrefix"/>), in journal order.</summary>
    public async Task<IReadOnlyList<JournalEntry>> ReadAllAsync(string? persistenceIdPrefix = null, CancellationToken ct = default)
    {
        await using var conn = await OpenAsync(ct);
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT ordering, persistence_id, sequence_number, manifest, message, writer_uuid FROM journal"
                          + (persistenceIdPrefix is null ? "" : $" WHERE persistence_id LIKE {Prefix(cmd, persistenceIdPrefix)} ESCAPE '\\'")
                          + " ORDER BY ordering";
        var rows = new List<JournalEntry>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var pid = reader.GetString(1);
            // LIKE narrows the read; the exact prefix test stays here (LIKE's case rules differ per database).
            if (persistenceIdPrefix is not null && !pid.StartsWith(persistenceIdPrefix, StringComparison.Ordinal)) continue;
            var bytes = (byte[])reader.GetValue(4);
            rows.Add(new JournalEntry(reader.GetInt64(0), pid, reader.GetInt64(2), MegaFlowSerializer.Decode(bytes, reader.GetString(3)),
                reader.IsDBNull(5) ? null : reader.GetString(5)));
        }
        return rows;
    }

    public async Task<int> CountAsync(string persistenceId)
    {
        var all = await ReadAllAsync(persistenceId);
        return all.Count(e => e.PersistenceId == persistenceId);
    }

    /// <summary>
    /// Tasks (persistence ids under <paramref name="taskIdPrefix"/>) with at least one terminal event,
    /// from the manifest column alone: cheap enough to poll while a run is going.
    /// </summary>
    public async Task<int> CountFinishedTasksAsync(string taskIdPrefix = TaskPrefix, CancellationToken ct = default)
    {
        await using var conn = await OpenAsync(ct);
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = $"SELECT COUNT(DISTINCT persistence_id) FROM journal WHERE persistence_id LIKE {Prefix(cmd, taskIdPrefix)} ESCAPE '\\' " +
                          $"AND manifest IN ({string.Join(", ", TerminalManifests.Select(m => $"'{m}'"))})";
        return Convert.ToInt32(await cmd.ExecuteScalarAsync(ct));
    }

    /// <summary>
    /// Environment entities whose latest event is neither Destroyed nor Lost (they still hold, or may
    /// hold, a folder or container), from the manifest column alone.
    /// </summary>
    public async Task<int> CountLiveEnvironmentsAsync(CancellationToken ct = default)
    {
        await using var conn = await OpenAsync(ct);
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = $"SELECT COUNT(*) FROM journal j WHERE j.persistence_id LIKE {Prefix(cmd, EnvironmentPrefix)} ESCAPE '\\' " +
                          "AND j.sequence_number = (SELECT MAX(k.sequence_number) FROM journal k WHERE k.persistence_id = j.persistence_id) " +
                          $"AND j.manifest NOT IN ({string.Join(", ", GoneManifests.Select(m => $"'{m}'"))})";
        return Convert.ToInt32(await cmd.ExecuteScalarAsync(ct));
    }

    private async Task<DbConnection> OpenAsync(CancellationToken ct)
    {
        DbConnection conn = backend == PersistenceBackend.Sqlite ? new SqliteConnection(connectionString) : new NpgsqlConnection(connectionString);
        try
        {
            await conn.OpenAsync(ct);
            return conn;
        }
        catch
        {
            await conn.DisposeAsync();
            throw;
        }
    }

    // A LIKE pattern for "starts with", as a parameter, with LIKE's wildcards in the prefix escaped.
    private static string Prefix(DbCommand cmd, string prefix)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = "@prefix";
        p.Value = prefix.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_") + "%";
        cmd.Parameters.Add(p);
        return "@prefix";
    }
}
