using System.Net;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace MegaFlow.Environments.Docker.Networking;

/// <summary>
/// How containers reach the node's model gateway without the host's network: an <em>internal</em>
/// bridge network (no route out of the host, no NAT) whose gateway address is the host's own side of
/// the bridge. The node's gateway listens there too; a container on this network (or on any user
/// network: the address is the host's, answered by its INPUT path, not forwarded) reaches the gateway
/// and nothing beyond the host. Containers of tasks that call no model stay on network "none".
/// Made once per engine (shared by the nodes on it) and never removed: it holds nothing.
/// </summary>
internal sealed class GatewayNetwork(DockerClient client, EngineRetry retry, DockerProviderSettings settings)
{
    private IPAddress? _address;

    /// <summary>The network's name (megaflow.docker.gateway-network).</summary>
    public string Name => settings.GatewayNetwork;

    /// <summary>The host's address on the network, creating the network when it does not exist.</summary>
    public async Task<IPAddress> AddressAsync(CancellationToken ct)
    {
        if (_address is not null) return _address;
        var network = await FindAsync(ct).ConfigureAwait(false);
        if (network is null)
        {
            try
            {
                await retry.RunAsync($"create network {Name}", t => client.Networks.CreateNetworkAsync(new NetworksCreateParameters
                {
                    Name = Name,
                    Driver = "bridge",
                    Internal = true,
                    CheckDuplicate = true,
                    Labels = new Dictionary<string, string> { [DockerProvider.ClusterLabel] = settings.Cluster },
                }, t), ct).ConfigureAwait(false);
            }
            catch (Exception e) when (EngineRetry.IsConflict(e))
            {
                // Another node on the same engine made it first.
            }
            network = await FindAsync(ct).ConfigureAwait(false)
                      ?? throw new InvalidOperationException($"network {Name} was created but cannot be found");
        }
        var gateway = network.IPAM?.Config?.Select(c => c.Gateway).FirstOrDefault(g => !string.IsNullOrEmpty(g));
        return _address = IPAddress.TryParse(gateway, out var ip)
            ? ip
            : throw new InvalidOperationException($"network {Name} has no gateway address (IPAM: {string.Join(", ", network.IPAM?.Config?.Select(c => c.Subnet) ?? [])})");
    }

    private async Task<NetworkResponse?> FindAsync(CancellationToken ct)
    {
        var all = await retry.RunAsync("list networks", t => client.Networks.ListNetworksAsync(new NetworksListParameters(), t), ct).ConfigureAwait(false);
        return all.FirstOrDefault(n => n.Name == Name);
    }
}
