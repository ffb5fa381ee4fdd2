using System.Net;
using System.Text.Json;
using Npgsql;
using Xunit.Abstractions;

namespace MegaFlow.Node.Tests.Deployment;

/// <summary>
/// Nodes as separate machines (docs/deploy/vms.md): each `megaflow node` runs in its own network
/// namespace with its own address on a bridge, listening on the standard ports (remoting 4053,
/// management 8558, bootstrap 8600) as on a VM, joined by address, not on 127.0.0.1. PostgreSQL
/// stays on the real host's loopback and is relayed onto the bridge.
/// </summary>
public sealed class VmClusterTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Formation = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Three_vms_join_through_seeds_by_address_and_a_new_vm_joins_after_the_founding_seed_is_killed()
    {
        var started = DateTime.UtcNow;
        await using var vms = await VmCluster.CreateAsync();
        var seeds = string.Join(",", new[] { 10, 11 }.Select(h => $"akka.tcp://megaflow@{vms.Net.Address(h)}:4053"));
        var hosts = new[] { 10, 11, 12 };
        foreach (var h in hosts)
            await vms.StartAsync(h, new() { ["MEGAFLOW_SEEDS"] = seeds, ["MEGAFLOW_ROLES"] = h == 12 ? "worker" : "scheduler,worker" });

        // Every node must see every member Up before one dies: a member whose Up has not reached the
        // survivors yet is not counted by their split brain resolver (1 of 2 would lose to the dead seed).
        foreach (var h in hosts)
            await vms.WaitForMembersUpAsync(h, hosts, Formation);
        output.WriteLine($"3 nodes Up after {(DateTime.UtcNow - started).TotalSeconds:F1} s");

        // The seed that formed the cluster joined itself; the other seed and the worker joined it.
        var founders = new[] { 10, 11 }.Where(h => vms.Node(h).Output.Contains("is JOINING itself", StringComparison.Ordinal)).ToList();
        Assert.Single(founders);
        var founder = founders[0];
        var otherSeed = founder == 10 ? 11 : 10;

        vms.Node(founder).KillHard();
        output.WriteLine($"killed the founding seed {vms.Net.Address(founder)} (kill -9)");

        // A new VM with the same seed list (the dead seed still first in it) joins through the other seed.
        await vms.StartAsync(13, new() { ["MEGAFLOW_SEEDS"] = seeds, ["MEGAFLOW_ROLES"] = "worker" });
        await vms.WaitForMembersUpAsync(otherSeed, [otherSeed, 12, 13], Formation);
        // ... and the new node itself sees the same cluster (its own Up arrives by gossip).
        await vms.WaitForMembersUpAsync(13, [otherSeed, 12, 13], Formation);
        // Up needs convergence, so the dead seed is out: downed by the split brain resolver, not Up any more.
        Assert.NotEqual("up", (await vms.MembersAsync(otherSeed))!.GetValueOrDefault(vms.AkkaAddress(founder), "removed"));
        output.WriteLine($"new node Up through {vms.Net.Address(otherSeed)} after {(DateTime.UtcNow - started).TotalSeconds:F1} s in all");
    }

    [Fact]
    public async Task With_cluster_bootstrap_instead_of_static_seeds_a_fresh_cluster_forms_from_the_contact_points()
    {
        var started = DateTime.UtcNow;
        await using var vms = await VmCluster.CreateAsync();
        var hosts = new[] { 20, 21, 22 };
        var contactPoints = string.Join(",", hosts.Select(h => $"{vms.Net.Address(h)}:8600"));
        foreach (var h in hosts)
            await vms.StartAsync(h, new() { ["MEGAFLOW_BOOTSTRAP"] = "config", ["MEGAFLOW_CONTACT_POINTS"] = contactPoints });

        foreach (var h in hosts)
            await vms.WaitForMembersUpAsync(h, hosts, Formation);
        output.WriteLine($"3 nodes Up through Cluster Bootstrap after {(DateTime.UtcNow - started).TotalSeconds:F1} s");

        // Exactly one node formed the cluster: the lowest contact point, as Akka's join decider rules.
        var founders = hosts.Where(h => vms.Node(h).Output.Contains("Initiating new cluster, self-joining", StringComparison.Ordinal)).ToList();
        Assert.Equal([20], founders);
        Assert.All(hosts, h => Assert.Contains("Cluster Bootstrap contact point listening", vms.Node(h).Output));

        // The contact-point route answers from the bridge, in Akka.Management's protocol, listing the members.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var doc = JsonDocument.Parse(await http.GetStringAsync($"http://{vms.Net.Address(21)}:8600/bootstrap/seed-nodes"));
        Assert.Equal(vms.Net.Address(21), doc.RootElement.GetProperty("SelfNode").GetProperty("Host").GetString());
        Assert.Equal(3, doc.RootElement.GetProperty("Nodes").GetArrayLength());
    }

    /// <summary>The network, a fresh database relayed onto it, and the node processes, one per namespace.</summary>
    private sealed class VmCluster : IAsyncDisposable
    {
        private readonly Dictionary<int, MegaflowProcess> _nodes = [];
        private readonly Dictionary<int, string> _namespaces = [];
        private readonly string _database;
        private readonly string _connectionString;
        private readonly string _dir;
        private readonly string _config;
        private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(3) };

        private VmCluster(NetnsNetwork net, string database, string connectionString, string dir, string config)
        {
            Net = net;
            _database = database;
            _connectionString = connectionString;
            _dir = dir;
            _config = config;
        }

        public NetnsNetwork Net { get; }

        private static string Admin => Environment.GetEnvironmentVariable("MEGAFLOW_TEST_POSTGRES") ?? Client.NodeProcessCluster.AdminConnection;

        public static async Task<VmCluster> CreateAsync()
        {
            var net = await NetnsNetwork.CreateAsync();
            try
            {
                var database = "megaflow_vm_" + Guid.NewGuid().ToString("N")[..12];
                await using (var conn = new NpgsqlConnection(Admin))
                {
                    await conn.OpenAsync();
                    await using var cmd = new NpgsqlCommand($"CREATE DATABASE {database}", conn);
                    await cmd.ExecuteNonQueryAsync();
                }
                var admin = new NpgsqlConnectionStringBuilder(Admin);
                var target = new IPEndPoint((await Dns.GetHostAddressesAsync(admin.Host!)).First(), admin.Port);
                // A 60 s connect timeout (Npgsql's default is 15 s): three nodes opening their first connection
                // at once on a loaded 2-core machine once took longer, and the node exits when it cannot.
                var relayed = new NpgsqlConnectionStringBuilder(Admin) { Host = net.HostAddress, Port = net.Forward(target), Database = database, Timeout = 60 };
                var dir = Path.Combine(Path.GetTempPath(), "megaflow-vms", database);
                Directory.CreateDirectory(dir);
                var config = Path.Combine(dir, "node.conf");
                await File.WriteAllTextAsync(config, """
                    akka.loglevel = INFO
                    akka.cluster.split-brain-resolver.stable-after = 5s
                    akka.cluster.failure-detector.acceptable-heartbeat-pause = 3s
                    """);
                return new VmCluster(net, database, relayed.ConnectionString, dir, config);
            }
            catch
            {
                await net.DisposeAsync();
                throw;
            }
        }

        public MegaflowProcess Node(int host) => _nodes[host];

        public string AkkaAddress(int host) => $"akka.tcp://megaflow@{Net.Address(host)}:4053";

        /// <summary>Starts `megaflow node` as VM <paramref name="host"/>: its own namespace and address, the standard ports.</summary>
        public async Task StartAsync(int host, Dictionary<string, string> env)
        {
            var ns = await Net.AddHostAsync(host);
            var variables = new Dictionary<string, string>
            {
                ["MEGAFLOW_HOSTNAME"] = Net.Address(host),
                ["MEGAFLOW_PORT"] = "4053",
                ["MEGAFLOW_MANAGEMENT_ADDRESS"] = "0.0.0.0",
                ["MEGAFLOW_MANAGEMENT_PORT"] = "8558",
                ["MEGAFLOW_PERSISTENCE"] = "postgres",
                ["MEGAFLOW_CONNECTION_STRING"] = _connectionString,
                ["MEGAFLOW_PROVIDER"] = "simulated",
                ["MEGAFLOW_DATA_DIR"] = Path.Combine(_dir, $"vm{host}"),
                ["MEGAFLOW_CONFIG"] = _config,
            };
            foreach (var (k, v) in env) variables[k] = v;
            _namespaces[host] = ns;
            _nodes[host] = MegaflowProcess.StartInNamespace(ns, variables, "node");
        }

        /// <summary>Members and their status as node <paramref name="host"/>'s management API lists them; null while it does not answer.</summary>
        public async Task<Dictionary<string, string>?> MembersAsync(int host)
        {
            try
            {
                using var doc = JsonDocument.Parse(await _http.GetStringAsync($"http://{Net.Address(host)}:8558/api/cluster"));
                return doc.RootElement.GetProperty("members").EnumerateArray()
                    .ToDictionary(m => m.GetProperty("address").GetString()!, m => m.GetProperty("status").GetString()!);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
            {
                return null;
            }
        }

        /// <summary>Waits until node <paramref name="observer"/> lists every one of <paramref name="hosts"/> as Up.</summary>
        public async Task WaitForMembersUpAsync(int observer, IReadOnlyCollection<int> hosts, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            Dictionary<string, string>? last = null;
            while (DateTime.UtcNow < deadline)
            {
                last = await MembersAsync(observer) ?? last;
                if (last is not null && hosts.All(h => last.TryGetValue(AkkaAddress(h), out var s) && s == "up")) return;
                var dead = _nodes.Where(n => hosts.Contains(n.Key) && n.Value.HasExited).Select(n => n.Key).ToList();
                if (dead.Count > 0) break;
                await Task.Delay(500);
            }
            var diagnostics = new List<string>();
            foreach (var (h, n) in _nodes.Where(n => !n.Value.HasExited))
                diagnostics.Add($"---- {Net.Address(h)}: {await DiagnoseAsync(h, n)}");
            throw new TimeoutException(string.Join("\n", diagnostics) + $"\n{Net.Address(observer)} did not list {string.Join(", ", hosts.Select(Net.Address))} as Up within {timeout}; "
                + $"it lists {(last is null ? "nothing" : string.Join(", ", last.Select(m => $"{m.Key} {m.Value}")))}\n"
                + string.Join("\n", _nodes.Select(n => $"---- node {Net.Address(n.Key)} ({(n.Value.HasExited ? "exited" : "running")}):\n{Tail(n.Value.Output)}")));
        }

        /// <summary>What a node that does not answer is doing: its process state and its TCP connections.</summary>
        private async Task<string> DiagnoseAsync(int host, MegaflowProcess node)
        {
            string state;
            try { state = string.Join("; ", File.ReadLines($"/proc/{node.Id}/status").Where(l => l.StartsWith("State") || l.StartsWith("Threads"))); }
            catch (IOException e) { state = e.Message; }
            string sockets;
            try { sockets = await NetnsNetwork.RunAsync("ip", "netns", "exec", _namespaces[host], "ss", "-tn"); }
            catch (Exception e) { sockets = e.Message; }
            return $"{state}; output {node.Output.Length} chars\n{sockets.Trim()}";
        }

        private static string Tail(string text) => text.Length <= 6000 ? text : "…" + text[^6000..];

        public async ValueTask DisposeAsync()
        {
            foreach (var n in _nodes.Values) n.Dispose();
            await Net.DisposeAsync();
            _http.Dispose();
            NpgsqlConnection.ClearAllPools();
            try
            {
                await using var conn = new NpgsqlConnection(Admin);
                await conn.OpenAsync();
                await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)", conn);
                await cmd.ExecuteNonQueryAsync();
            }
            finally
            {
                try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }
    }
}
