using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace MegaFlow.Bench;

/// <summary>What raw inserts achieved.</summary>
public sealed record BaselineResult(long Rows, int PayloadBytes, int BatchSize, TimeSpan Wall)
{
    public double RowsPerSecond => Rows / Wall.TotalSeconds;
}

/// <summary>
/// Step 2: the ceiling of the storage itself. Plain Microsoft.Data.Sqlite inserts into a fresh file
/// with the PRAGMAs MegaFlow uses (WAL, synchronous=NORMAL), into a table created with the real
/// journal's DDL (indexes included), one prepared statement, a fixed number of rows per transaction.
/// </summary>
public static class SqliteBaseline
{
    public static async Task<BaselineResult> RunAsync(string dir, IReadOnlyList<string> journalDdl, long rows, int payloadBytes, int batchSize = 100)
    {
        Directory.CreateDirectory(dir);
        var cs = $"Data Source={Path.Combine(dir, "baseline.db")};Pooling=False";
        await using var conn = new SqliteConnection(cs);
        await conn.OpenAsync();
        await ExecAsync(conn, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
        foreach (var ddl in journalDdl) await ExecAsync(conn, ddl);

        var columns = await ColumnsAsync(conn);
        await using var insert = conn.CreateCommand();
        var insertable = columns.Where(c => !c.AutoKey).ToList();
        insert.CommandText = $"INSERT INTO journal ({string.Join(", ", insertable.Select(c => c.Name))}) VALUES ({string.Join(", ", insertable.Select(c => "$" + c.Name))})";
        var parameters = insertable.ToDictionary(c => c.Name, c => insert.Parameters.Add(new SqliteParameter("$" + c.Name, null)));

        var payload = new byte[payloadBytes];
        new Random(7).NextBytes(payload);
        var writer = Guid.NewGuid().ToString();
        const int eventsPerEntity = 8;

        var clock = Stopwatch.StartNew();
        for (long done = 0; done < rows;)
        {
            await using var tx = (SqliteTransaction)await conn.BeginTransactionAsync();
            insert.Transaction = tx;
            for (var i = 0; i < batchSize && done < rows; i++, done++)
            {
                foreach (var (name, p) in parameters)
                    p.Value = name switch
                    {
                        "persistence_id" => $"task-baseline-{done / eventsPerEntity:D7}",
                        "sequence_number" => done % eventsPerEntity + 1,
                        "message" => payload,
                        "manifest" => "TE",
                        "identifier" => 411,
                        "created" => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
                        "deleted" => 0,
                        "writer_uuid" => writer,
                        _ => DBNull.Value,
                    };
                await insert.ExecuteNonQueryAsync();
            }
            await tx.CommitAsync();
        }
        return new BaselineResult(rows, payloadBytes, batchSize, clock.Elapsed);
    }

    private sealed record Column(string Name, bool AutoKey);

    private static async Task<List<Column>> ColumnsAsync(SqliteConnection conn)
    {
        var list = new List<Column>();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "PRAGMA table_info(journal)";
        await using var r = await cmd.ExecuteReaderAsync();
        // cid, name, type, notnull, dflt_value, pk
        while (await r.ReadAsync())
            list.Add(new Column(r.GetString(1), r.GetInt32(5) > 0 && r.GetString(2).Equals("INTEGER", StringComparison.OrdinalIgnoreCase)));
        return list;
    }

    private static async Task ExecAsync(SqliteConnection conn, string sql)
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        await cmd.ExecuteNonQueryAsync();
    }
}
