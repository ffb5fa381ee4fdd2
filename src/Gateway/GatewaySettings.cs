using System.Net;

namespace MegaFlow.Gateway;

/// <summary>The gateway's listener and patience (HOCON <c>megaflow.gateway</c>).</summary>
public sealed record GatewaySettings
{
    /// <summary>Where agents on this node reach it. Loopback by default: only this node's processes can.</summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;

    /// <summary>0 picks a free port at start.</summary>
    public int Port { get; init; }

    /// <summary>
    /// More addresses to listen on, on the same port: where environments that cannot reach the node's
    /// loopback reach it (a Docker network's gateway address, see IGatewayAddressing).
    /// </summary>
    public IReadOnlyList<IPAddress> ExtraAddresses { get; init; } = [];

    /// <summary>Longest wait for the task's answer to "is this key yours?".</summary>
    public TimeSpan AuthorizeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest wait for the upstream's answer to one call (a model may be slow; the agent has its own timeout).</summary>
    public TimeSpan UpstreamTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Largest request body accepted, in bytes (a conversation, not a file upload).</summary>
    public int MaxRequestBytes { get; init; } = 16 << 20;
}
