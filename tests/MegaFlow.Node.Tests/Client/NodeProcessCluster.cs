using Npgsql;

namespace MegaFlow.Node.Tests.Client;

/// <summary>
/// A real cluster of `megaflow node` OS processes on loopback sharing a fresh PostgreSQL database
/// (the clustered configuration), for testing host programs against it.
/// </summary>
public sealed class NodeProcessCluster : IAsyncDisposable
{
    public const string AdminConnection = "Host=127.0.0.1;Port=5432;Username=megaflow;Password=megaflow;Database=postgres";

    private readonly string _database;
    private readonly string _dir;

    private readonly List<Dictionary<string, string>> _env;

    private NodeProcessCluster(List<MegaflowProcess> nodes, List<int> ports, List<int> managementPorts, string database, string dir, string connectionString,
        List<Dictionary<string, string>> env)
    {
        _env = env;
        ConnectionString = connectionString;
        Nodes = nodes;
        Ports = ports;
        ManagementPorts = managementPorts;
        _database = database;
        _dir = dir;
    }

    public List<MegaflowProcess> Nodes { get; }

    /// <summary>The cluster's database, for commands that read the journal themselves (<c>tasks list --journal</c>, <c>tasks export</c>).</summary>
    public string ConnectionString { get; }
    public List<int> Ports { get; }

    /// <summary>Each node's management API port (same order as <see cref="Nodes"/>).</summary>
    public List<int> ManagementPorts { get; }

    /// <summary>"127.0.0.1:PORT" of node <paramref name="i"/>'s management API, for the CLI's --node.</summary>
    public string Api(int i) => $"127.0.0.1:{ManagementPorts[i]}";

    /// <summary>Node <paramref name="i"/>'s cluster address.</summary>
    public string Address(int i) => $"akka.tcp://megaflow@127.0.0.1:{Ports[i]}";
    public IReadOnlyList<string> Seeds => Ports.Select(p => $"akka.tcp://megaflow@127.0.0.1:{p}").ToList();

    /// <param name="nodeEnv">Extra variables per node (index → variables), e.g. roles or a read-only management API.</param>
    /// <param name="env">Extra variables for every node, e.g. the management token.</param>
    public static async Task<NodeProcessCluster> StartAsync(int count, string hocon, string provider = "simulated",
        IReadOnlyDictionary<string, string>? env = null, Func<int, IReadOnlyDictionary<string, string>>? nodeEnv = null)
    {
        var admin = Environment.GetEnvironmentVariable("MEGAFLOW_TEST_POSTGRES") ?? AdminConnection;
        var database = "megaflow_p_" + Guid.NewGuid().ToString("N")[..12];
        await using (var conn = new NpgsqlConnection(admin))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {database}", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        var dir = Path.Combine(Path.GetTempPath(), "megaflow-proc", database);
        Directory.CreateDirectory(dir);
        var config = Path.Combine(dir, "node.conf");
        await File.WriteAllTextAsync(config, """
            akka.loglevel = INFO
            akka.cluster.split-brain-resolver.stable-after = 5s
            akka.cluster.failure-detector.acceptable-heartbeat-pause = 3s
            megaflow.task.retry-interval = 1s
            megaflow.task.exec-grace = 3s
            megaflow.task.linger-after-finish = 500ms
            """ + "\n" + hocon);
        var ports = Enumerable.Range(0, count).Select(_ => MegaflowProcess.FreePort()).ToList();
        var seeds = string.Join(",", ports.Select(p => $"akka.tcp://megaflow@127.0.0.1:{p}"));
        var cs = new NpgsqlConnectionStringBuilder(admin) { Database = database }.ConnectionString;
        var managementPorts = ports.Select(_ => MegaflowProcess.FreePort()).ToList();
        var nodeVariables = new List<Dictionary<string, string>>();
        var nodes = ports.Select((port, i) =>
        {
            var variables = new Dictionary<string, string>
            {
                ["MEGAFLOW_PORT"] = port.ToString(),
                ["MEGAFLOW_SEEDS"] = seeds,
                ["MEGAFLOW_PERSISTENCE"] = "postgres",
                ["MEGAFLOW_CONNECTION_STRING"] = cs,
                ["MEGAFLOW_PROVIDER"] = provider,
                ["MEGAFLOW_DATA_DIR"] = Path.Combine(dir, $"node{i}"),
                ["MEGAFLOW_CONFIG"] = config,
                ["MEGAFLOW_MANAGEMENT_PORT"] = managementPorts[i].ToString(),
            };
            foreach (var (k, v) in env ?? new Dictionary<string, string>()) variables[k] = v;
            foreach (var (k, v) in nodeEnv?.Invoke(i) ?? new Dictionary<string, string>()) variables[k] = v;
            nodeVariables.Add(variables);
            return MegaflowProcess.Start(variables, "node");
        }).ToList();
        var cluster = new NodeProcessCluster(nodes, ports, managementPorts, database, dir, cs, nodeVariables);
        try
        {
            await WaitForFormationAsync(nodes, ports);
        }
        catch
        {
            await cluster.DisposeAsync(); // never leave node processes behind
            throw;
        }
        return cluster;
    }

    /// <summary>Starts node <paramref name="i"/> again with the same variables (address, data, roles), as after a reboot.</summary>
    public MegaflowProcess Restart(int i)
    {
        Nodes[i].Dispose();
        Nodes[i] = MegaflowProcess.Start(_env[i], "node");
        return Nodes[i];
    }

    /// <summary>
    /// Waits until node <paramref name="observer"/>'s management API lists no member at node
    /// <paramref name="i"/>'s address: the crashed incarnation is downed and removed.
    /// </summary>
    /// <remarks>
    /// A node restarted on the same address while its dead incarnation is still a member joins, but
    /// the remoting link between it and the member that removes the old incarnation could stay broken
    /// under load (seen here: both sides then marked each other unreachable and the split brain
    /// resolver downed both as indirectly connected). Restarting after the removal, as a supervisor
    /// with a restart delay does (deploy/: RestartSec), avoids it.
    /// </remarks>
    public async Task WaitUntilRemovedAsync(int i, int observer, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                using var view = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync($"http://{Api(observer)}/api/cluster"));
                if (!view.RootElement.GetProperty("members").EnumerateArray().Any(m => m.GetProperty("address").GetString() == Address(i)))
                    return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // The observer is busy or restarting its API: ask again.
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{Address(i)} still a member (seen from node {observer}) after {timeout}");
            await Task.Delay(500);
        }
    }

    private static async Task WaitForFormationAsync(List<MegaflowProcess> nodes, List<int> ports)
    {
        // The leader (whichever node it is) logs every member it moves to Up.
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (!ports.All(p => nodes.Any(n => n.Output.Contains($"127.0.0.1:{p}] to [Up]", StringComparison.Ordinal))))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("cluster did not form:\n" + string.Join("\n----\n", nodes.Select(n => n.Output)));
            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var n in Nodes) n.Dispose();
        NpgsqlConnection.ClearAllPools();
        var admin = Environment.GetEnvironmentVariable("MEGAFLOW_TEST_POSTGRES") ?? AdminConnection;
        await using var conn = new NpgsqlConnection(admin);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)", conn);
        await cmd.ExecuteNonQueryAsync();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
