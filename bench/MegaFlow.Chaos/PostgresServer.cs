using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace MegaFlow.Chaos;

/// <summary>
/// The PostgreSQL server a run's database lives on. Normally the shared server (scripts/postgres.sh);
/// for an outage, a private server the harness creates with initdb in the run folder, because
/// stopping the shared one would break every other test and developer using it on the machine.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private readonly string? _dataDir;
    private readonly string? _bin;
    private readonly int _port;

    private PostgresServer(string admin, string? dataDir, string? bin, int port)
    {
        AdminConnection = admin;
        _dataDir = dataDir;
        _bin = bin;
        _port = port;
    }

    public string AdminConnection { get; }

    /// <summary>True for a server this harness owns (and may stop).</summary>
    public bool Private => _dataDir is not null;

    public static PostgresServer Shared(string adminConnection) => new(adminConnection, null, null, 0);

    /// <summary>initdb + pg_ctl start of a fresh server on a free loopback port, as user postgres when run as root.</summary>
    public static async Task<PostgresServer> StartPrivateAsync(string dataDir)
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin"))
                .Where(b => File.Exists(Path.Combine(b, "initdb"))).OrderByDescending(b => b, StringComparer.Ordinal).FirstOrDefault()
            : null;
        if (bin is null)
            throw new InvalidOperationException("the PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) are missing: run `bash scripts/postgres.sh`");
        Directory.CreateDirectory(dataDir);
        if (IsRoot) await Commands.RunCheckedAsync("chown", ["postgres:postgres", dataDir], TimeSpan.FromSeconds(10));
        await RunAsPostgres(Path.Combine(bin, "initdb"), ["-D", dataDir, "-U", "megaflow", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"], TimeSpan.FromMinutes(2));
        var port = FreePort();
        var server = new PostgresServer($"Host=127.0.0.1;Port={port};Username=megaflow;Password=megaflow;Database=postgres", dataDir, bin, port);
        await server.StartAsync();
        return server;
    }

    public async Task StartAsync()
    {
        if (_dataDir is null) throw new InvalidOperationException("the shared PostgreSQL server is not the harness's to start");
        await RunAsPostgres(Path.Combine(_bin!, "pg_ctl"),
            ["-D", _dataDir, "-l", Path.Combine(_dataDir, "server.log"), "-w", "-t", "60",
             "-o", $"-p {_port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={_dataDir} -c max_connections=300", "start"],
            TimeSpan.FromSeconds(90));
    }

    /// <summary>A fast shutdown, as `pg_ctlcluster stop` does: clients are disconnected, open transactions roll back.</summary>
    public async Task StopAsync()
    {
        if (_dataDir is null) throw new InvalidOperationException("the shared PostgreSQL server is not the harness's to stop");
        await RunAsPostgres(Path.Combine(_bin!, "pg_ctl"), ["-D", _dataDir, "-m", "fast", "-w", "-t", "60", "stop"], TimeSpan.FromSeconds(90));
    }

    /// <summary>Creates a database and returns a connection string to it.</summary>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        await using (var conn = new NpgsqlConnection(AdminConnection))
        {
            try
            {
                await conn.OpenAsync();
            }
            catch (Exception e) when (e is NpgsqlException or SocketException or TimeoutException)
            {
                throw new InvalidOperationException($"PostgreSQL is not reachable ({Describe(AdminConnection)}): {e.Message}. Run `bash scripts/postgres.sh` or pass --postgres.", e);
            }
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(AdminConnection) { Database = name }.ConnectionString;
    }

    public async Task DropDatabaseAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        await using var conn = new NpgsqlConnection(AdminConnection);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", conn);
        await cmd.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_dataDir is null) return;
        NpgsqlConnection.ClearAllPools();
        try
        {
            await RunAsPostgres(Path.Combine(_bin!, "pg_ctl"), ["-D", _dataDir, "-m", "immediate", "-w", "-t", "30", "stop"], TimeSpan.FromSeconds(60));
        }
        catch (InvalidOperationException)
        {
            // Already stopped (an outage that never came back is reported by the run itself).
        }
    }

    private static string Describe(string cs)
    {
        var b = new NpgsqlConnectionStringBuilder(cs);
        return $"{b.Host}:{b.Port} as {b.Username}";
    }

    private static bool IsRoot => Environment.UserName == "root";

    // The server refuses to run as root; as root, the tools run as the postgres user the package created.
    private static Task<string> RunAsPostgres(string tool, IReadOnlyList<string> args, TimeSpan timeout) =>
        IsRoot ? Commands.RunCheckedAsync("runuser", ["-u", "postgres", "--", tool, .. args], timeout) : Commands.RunCheckedAsync(tool, args, timeout);

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
