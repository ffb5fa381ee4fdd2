using System.Net;
using System.Net.Sockets;
using Akka.Configuration;

namespace MegaFlow.Hosting;

/// <summary>
/// Refuses to start a node whose cluster port another process already listens on.
/// </summary>
/// <remarks>
/// Akka.Remote binds with SO_REUSEADDR, which .NET on Linux also turns into SO_REUSEPORT: a second
/// node given the same port binds it without error, the kernel then spreads incoming connections
/// over both, and the newcomer forms a cluster of its own (seen in CI: a worker that got a port
/// already taken became a one-node cluster beside the real one, and the real one never converged).
/// The probe sets SO_REUSEADDR alone, so it still binds over connections left in TIME_WAIT by a
/// node that just stopped (a restart on the same address must work) but fails on a live listener.
/// </remarks>
public static class ClusterPortGuard
{
    // Linux's values; the raw option is needed because .NET's ReuseAddress adds SO_REUSEPORT.
    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;

    /// <summary>Throws naming the address when the cluster port in <paramref name="config"/> is in use.</summary>
    public static void EnsureFree(Config config)
    {
        var port = config.GetInt("akka.remote.dot-netty.tcp.port");
        if (port == 0 || !OperatingSystem.IsLinux()) return; // port 0 picks a free one; other systems do not share ports silently
        var hostname = config.GetString("akka.remote.dot-netty.tcp.hostname") ?? "";
        var address = Resolve(hostname);
        if (address is null) return; // Akka reports an unresolvable host itself
        using var probe = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        probe.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
        try
        {
            probe.Bind(new IPEndPoint(address, port));
            probe.Listen();
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new ArgumentException(
                $"MEGAFLOW_PORT: the cluster port {hostname}:{port} is already in use by another process " +
                "(another node on this host? each node needs its own port)");
        }
        catch (SocketException)
        {
            // Another reason (an address not on this host): Akka's own bind reports it.
        }
    }

    private static IPAddress? Resolve(string hostname)
    {
        if (hostname is "" or "0.0.0.0") return IPAddress.Any;
        if (IPAddress.TryParse(hostname, out var ip)) return ip;
        try
        {
            return Dns.GetHostAddresses(hostname).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork);
        }
        catch (SocketException)
        {
            return null;
        }
    }
}
