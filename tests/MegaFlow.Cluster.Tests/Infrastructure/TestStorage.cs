using MegaFlow.Hosting;
using MegaFlow.Hosting.Persistence;
using MegaFlow.Verification;
using Npgsql;

namespace MegaFlow.Cluster.Tests.Infrastructure;

/// <summary>
/// A fresh journal per test: a SQLite file in a temp folder, or a new database on the PostgreSQL
/// server named by MEGAFLOW_TEST_POSTGRES (default: the local server `scripts/test.sh` starts).
/// A missing PostgreSQL server fails the test; it is never skipped.
/// </summary>
public sealed class TestStorage : IAsyncDisposable
{
    public const string DefaultPostgres = "Host=127.0.0.1;Port=5432;Username=megaflow;Password=megaflow;Database=postgres";

    private readonly string? _database;
    private readonly string? _adminConnection;

    private TestStorage(string dataDir, PersistenceBackend backend, string? connectionString, string? database, string? admin)
    {
        DataDir = dataDir;
        Backend = backend;
        ConnectionString = connectionString;
        _database = database;
        _adminConnection = admin;
    }

    public string DataDir { get; }
    public PersistenceBackend Backend { get; }
    public string? ConnectionString { get; }

    public static async Task<TestStorage> CreateAsync(PersistenceBackend backend)
    {
        var dir = Path.Combine(Path.GetTempPath(), "megaflow-tests", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        if (backend == PersistenceBackend.Sqlite)
            return new TestStorage(dir, backend, null, null, null);

        var admin = Environment.GetEnvironmentVariable("MEGAFLOW_TEST_POSTGRES") ?? DefaultPostgres;
        var database = "megaflow_t_" + Guid.NewGuid().ToString("N")[..12];
        await using (var conn = new NpgsqlConnection(admin))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {database}", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        var cs = new NpgsqlConnectionStringBuilder(admin) { Database = database }.ConnectionString;
        return new TestStorage(dir, backend, cs, database, admin);
    }

    /// <summary>Settings for one node of a test cluster on this storage.</summary>
    public NodeSettings Node(string[]? roles = null, string provider = "simulated", string extraHocon = "", IReadOnlyList<string>? seeds = null) => new()
    {
        Port = 0,
        Roles = roles ?? ["scheduler", "worker"],
        Persistence = Backend,
        ConnectionString = ConnectionString,
        DataDir = DataDir,
        Provider = provider,
        Seeds = seeds ?? [],
        ExtraHocon = TestNode.FastHocon + "\n" + extraHocon,
    };

    public Task EnsureSchemaAsync() => SchemaInitializer.EnsureAsync(Node(), TimeSpan.FromMinutes(1));

    /// <summary>Runs SQL on the journal's database and returns its rows (tests that look at or change the schema itself).</summary>
    public async Task<IReadOnlyList<object?[]>> SqlAsync(string sql)
    {
        await using System.Data.Common.DbConnection conn = Backend == PersistenceBackend.Sqlite
            ? new Microsoft.Data.Sqlite.SqliteConnection(Node().SqliteConnectionString)
            : new NpgsqlConnection(ConnectionString);
        await conn.OpenAsync();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        await using var reader = await cmd.ExecuteReaderAsync();
        var rows = new List<object?[]>();
        while (await reader.ReadAsync())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }

    public JournalReader Journal() => new(Backend, Backend == PersistenceBackend.Sqlite ? Node().SqliteConnectionString : ConnectionString!);

    public async ValueTask DisposeAsync()
    {
        if (_database is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await using var conn = new NpgsqlConnection(_adminConnection);
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
