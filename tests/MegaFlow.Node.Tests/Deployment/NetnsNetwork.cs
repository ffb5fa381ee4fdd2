using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace MegaFlow.Node.Tests.Deployment;

/// <summary>
/// A private network of "VMs" on this machine: a Linux bridge with address 10.213.N.1/24 and one network
/// namespace per host, each joined to the bridge by a veth pair and given 10.213.N.H/24. The test's
/// processes on the host reach every namespace's address directly; namespaces reach each other through
/// the bridge. N is a /24 no interface on the machine uses yet, and every name carries a random tag, so
/// parallel runs do not collide. Everything made here is removed on dispose, also after a failure.
/// Needs root (CAP_NET_ADMIN) and iproute2; a machine without them fails the test, it is never skipped.
/// </summary>
public sealed class NetnsNetwork : IAsyncDisposable
{
    private readonly string _tag = Guid.NewGuid().ToString("N")[..5];
    private readonly List<string> _namespaces = [];
    private bool _bridge;
    private bool _forwardRule;
    private PortForwarder? _forwarder;

    private NetnsNetwork(int subnet) => Subnet = subnet;

    /// <summary>The third octet: addresses are 10.213.<see cref="Subnet"/>.x.</summary>
    public int Subnet { get; }

    public string Bridge => $"mfb{_tag}";

    /// <summary>The bridge's (the real host's) address on the network.</summary>
    public string HostAddress => Address(1);

    public string Address(int host) => $"10.213.{Subnet}.{host}";

    public static async Task<NetnsNetwork> CreateAsync()
    {
        var used = (await RunAsync("ip", "-4", "-o", "addr", "show")).Split('\n')
            .Select(l => System.Text.RegularExpressions.Regex.Match(l, @"inet 10\.213\.(\d+)\."))
            .Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value)).ToHashSet();
        var free = Enumerable.Range(1, 254).Where(n => !used.Contains(n)).ToList();
        var net = new NetnsNetwork(free[Random.Shared.Next(free.Count)]);
        try
        {
            await RunAsync("ip", "link", "add", net.Bridge, "type", "bridge");
            net._bridge = true;
            await RunAsync("ip", "addr", "add", $"{net.HostAddress}/24", "dev", net.Bridge);
            await RunAsync("ip", "link", "set", net.Bridge, "up");
            // With br_netfilter loaded (Docker loads it), frames crossing a bridge go through iptables'
            // FORWARD chain, whose policy Docker sets to DROP: accept this bridge's own traffic.
            if (File.Exists("/proc/sys/net/bridge/bridge-nf-call-iptables")
                && (await File.ReadAllTextAsync("/proc/sys/net/bridge/bridge-nf-call-iptables")).Trim() == "1")
            {
                await RunAsync("iptables", "-I", "FORWARD", "1", "-i", net.Bridge, "-o", net.Bridge, "-j", "ACCEPT");
                net._forwardRule = true;
            }
        }
        catch
        {
            await net.DisposeAsync();
            throw;
        }
        return net;
    }

    /// <summary>Adds host <paramref name="host"/> (address 10.213.N.host) and returns its namespace's name.</summary>
    public async Task<string> AddHostAsync(int host)
    {
        var ns = $"mf{_tag}h{host}";
        var veth = $"mf{_tag}v{host}";
        await RunAsync("ip", "netns", "add", ns);
        _namespaces.Add(ns);
        await RunAsync("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns);
        await RunAsync("ip", "link", "set", veth, "master", Bridge, "up");
        await RunAsync("ip", "-n", ns, "addr", "add", $"{Address(host)}/24", "dev", "eth0");
        await RunAsync("ip", "-n", ns, "link", "set", "eth0", "up");
        await RunAsync("ip", "-n", ns, "link", "set", "lo", "up");
        return ns;
    }

    /// <summary>
    /// Makes a TCP service of the real host that listens on loopback only (PostgreSQL here) reachable
    /// from the namespaces at <see cref="HostAddress"/>:port, without reconfiguring it.
    /// </summary>
    public int Forward(IPEndPoint target)
    {
        _forwarder = new PortForwarder(IPAddress.Parse(HostAddress), target);
        return _forwarder.Port;
    }

    public async ValueTask DisposeAsync()
    {
        _forwarder?.Dispose();
        foreach (var ns in _namespaces)
        {
            // Whatever still runs in the namespace (a node the test did not stop) goes with it.
            var pids = await TryRunAsync("ip", "netns", "pids", ns);
            foreach (var pid in pids.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                try { Process.GetProcessById(int.Parse(pid)).Kill(entireProcessTree: true); } catch (ArgumentException) { } catch (InvalidOperationException) { }
            await TryRunAsync("ip", "netns", "del", ns); // takes eth0 and so its veth peer with it
        }
        if (_bridge) await TryRunAsync("ip", "link", "del", Bridge);
        if (_forwardRule) await TryRunAsync("iptables", "-D", "FORWARD", "-i", Bridge, "-o", Bridge, "-j", "ACCEPT");
    }

    /// <summary>Runs a command; a non-zero exit throws with its output, naming the command.</summary>
    public static async Task<string> RunAsync(string file, params string[] args)
    {
        var (code, output) = await ExecAsync(file, args);
        if (code != 0)
            throw new InvalidOperationException($"`{file} {string.Join(' ', args)}` exited {code}: {output.Trim()}"
                + " (the deployment tests need root, iproute2 and network namespaces: `ip netns add` must work on this machine)");
        return output;
    }

    private static async Task<string> TryRunAsync(string file, params string[] args)
    {
        try { return (await ExecAsync(file, args)).Output; } catch (System.ComponentModel.Win32Exception) { return ""; }
    }

    private static async Task<(int Code, string Output)> ExecAsync(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout + await stderr);
    }

    /// <summary>A TCP relay: accepts on one address and pipes each connection to the target, both ways.</summary>
    private sealed class PortForwarder : IDisposable
    {
        private readonly TcpListener _listener;
        private readonly CancellationTokenSource _stop = new();

        public PortForwarder(IPAddress listen, IPEndPoint target)
        {
            _listener = new TcpListener(listen, 0);
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _ = AcceptAsync(target);
        }

        public int Port { get; }

        private async Task AcceptAsync(IPEndPoint target)
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
                _ = PipeAsync(client, target);
            }
        }

        private async Task PipeAsync(TcpClient client, IPEndPoint target)
        {
            using (client)
            using (var upstream = new TcpClient())
            {
                try
                {
                    await upstream.ConnectAsync(target, _stop.Token);
                    var a = client.GetStream();
                    var b = upstream.GetStream();
                    // Either side closing ends both directions.
                    await Task.WhenAny(a.CopyToAsync(b, _stop.Token), b.CopyToAsync(a, _stop.Token));
                }
                catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
                {
                }
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
        }
    }
}
