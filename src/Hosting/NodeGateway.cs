using System.Net;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.Hosting;
using MegaFlow.Agents.Model;
using MegaFlow.Contracts;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Environments;
using MegaFlow.Gateway;
using MegaFlow.Protocol;
using MegaFlow.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace MegaFlow.Hosting;

/// <summary>
/// A worker node's model gateway (megaflow.gateway): started with the node's environments, stopped
/// when the actor system terminates. The task region it asks about keys is looked up per call, so
/// the gateway can start before the region does.
/// </summary>
internal static class NodeGateway
{
    /// <summary>Starts the gateway, or returns null when megaflow.gateway.enabled is off.</summary>
    public static GatewayServer? Start(ActorSystem system, IActorRegistry registry, Config mf, IArtifactStore artifacts, IEnvironmentProvider provider)
    {
        var g = mf.GetConfig("gateway") ?? Config.Empty;
        if (!g.GetBoolean("enabled", true)) return null;
        var address = g.GetString("address", "127.0.0.1");
        var settings = new GatewaySettings
        {
            Address = IPAddress.TryParse(address, out var ip) ? ip : throw new ConfigurationException($"megaflow.gateway.address: '{address}' is not an IP address"),
            Port = g.GetInt("port", 0),
            // Containers reach the node on their network's gateway address, which the provider knows.
            ExtraAddresses = ExtraAddresses(system, provider),
            AuthorizeTimeout = g.GetTimeSpan("authorize-timeout", TimeSpan.FromSeconds(5)),
            UpstreamTimeout = g.GetTimeSpan("upstream-timeout", TimeSpan.FromMinutes(10)),
        };
        var agents = MegaFlowNode.ReadModelAgentSettings(mf);
        var gateway = new ModelGateway(new TaskRegionDirectory(registry, settings.AuthorizeTimeout), artifacts,
            agent => ModelUpstream.Resolve(agent, agents, Environment.GetEnvironmentVariable), settings, NullLogger.Instance);
        GatewayServer server;
        try
        {
            server = GatewayServer.StartAsync(gateway, settings).GetAwaiter().GetResult();
        }
        catch (IOException e)
        {
            throw new ConfigurationException($"megaflow.gateway: cannot listen on {settings.Address}:{settings.Port}: {e.Message}", e);
        }
        system.RegisterOnTermination(() => server.DisposeAsync().AsTask().GetAwaiter().GetResult());
        system.Log.Info("model gateway listening on {0}", server.BaseAddress);
        return server;
    }

    // Containers reach the node on their network's gateway address, which the provider knows. A provider
    // that cannot say (its engine is down at start) leaves the gateway on loopback: the node still runs
    // every task that calls no model from inside a container.
    private static IReadOnlyList<IPAddress> ExtraAddresses(ActorSystem system, IEnvironmentProvider provider)
    {
        if (provider is not IGatewayAddressing addressing) return [];
        try
        {
            return addressing.GatewayListenAddresses();
        }
        catch (Exception e)
        {
            system.Log.Warning("model gateway: environments of provider {0} cannot be given a way to it ({1}); it listens on loopback only", provider.Name, e.Message);
            return [];
        }
    }

    /// <summary>Keys are checked by the task itself (only its actor knows its attempt's key).</summary>
    private sealed class TaskRegionDirectory(IActorRegistry registry, TimeSpan timeout) : IAttemptDirectory
    {
        public async Task<AttemptGrant> AuthorizeAsync(string taskId, int attempt, string key, CancellationToken ct)
        {
            IMegaFlowMessage answer;
            try
            {
                answer = await registry.Get<ActorKeys.Tasks>().Ask<IMegaFlowMessage>(new TaskProtocol.AuthorizeModelCall(taskId, attempt, key), timeout, ct);
            }
            catch (AskTimeoutException e)
            {
                throw new TimeoutException(e.Message, e);
            }
            return answer switch
            {
                TaskProtocol.ModelCallAllowed a => AttemptGrant.Allow(a.Round, a.Agent),
                TaskProtocol.ModelCallRefused r => AttemptGrant.Refuse(r.Reason),
                _ => AttemptGrant.Refuse($"unexpected answer {answer.GetType().Name}"),
            };
        }

        public void Report(string taskId, int attempt, ModelCall call) =>
            registry.Get<ActorKeys.Tasks>().Tell(new TaskProtocol.RecordModelCall(taskId, attempt, call));
    }
}
