using System.Data.Common;
using MegaFlow.Actors.Hosting;
using MegaFlow.Actors.Serialization;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace MegaFlow.Cluster.Tests.Infrastructure;

/// <summary>One decoded journal row.</summary>
public sealed record JournalEntry(long Ordering, string PersistenceId, long SequenceNr, object Event);

/// <summary>
/// Reads the domain journal table directly with SQL and decodes it with our serializer, so tests
/// check what was durably written, not what actors say or log.
/// </summary>
public sealed class JournalReader(PersistenceBackend backend, string connectionString)
{
    public async Task<IReadOnlyList<JournalEntry>> ReadAllAsync(string? persistenceIdPrefix = null)
    {
        await using DbConnection conn = backend == PersistenceBackend.Sqlite
            ? new SqliteConnection(connectionString)
            : new NpgsqlConnection(connectionString);
        await conn.OpenAsync();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT ordering, persistence_id, sequence_number, manifest, message FROM journal ORDER BY ordering";
        var rows = new List<JournalEntry>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var pid = reader.GetString(1);
            if (persistenceIdPrefix is not null && !pid.StartsWith(persistenceIdPrefix, StringComparison.Ordinal)) continue;
            var bytes = (byte[])reader.GetValue(4);
            rows.Add(new JournalEntry(reader.GetInt64(0), pid, reader.GetInt64(2), MegaFlowSerializer.Decode(bytes, reader.GetString(3))));
        }
        return rows;
    }

    public async Task<int> CountAsync(string persistenceId)
    {
        var all = await ReadAllAsync(persistenceId);
        return all.Count(e => e.PersistenceId == persistenceId);
    }
}
