using Akka.Actor;
using Akka.Hosting;
using MegaFlow.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace MegaFlow.Hosting;

/// <summary>
/// A node started in this process on a generic host of its own: what the multi-node tests, the
/// benchmarks and the chaos harness run (the `megaflow node` host adds logging and the management
/// API to the same <see cref="MegaFlowNode.WithMegaFlowNode"/> registration).
/// </summary>
public sealed class RunningNode : IAsyncDisposable
{
    private RunningNode(IHost host, ActorSystem system, MegaFlowRefs refs)
    {
        Host = host;
        System = system;
        Refs = refs;
    }

    public IHost Host { get; }

    public ActorSystem System { get; }

    public MegaFlowRefs Refs { get; }

    /// <summary>Starts a node and returns once its actors exist (it may still be joining the cluster).</summary>
    /// <param name="join">Join as `megaflow node` does (<see cref="MegaFlowNode.WithClusterJoin"/>); false leaves joining to the caller.</param>
    public static Task<RunningNode> StartAsync(NodeSettings settings, NodeComponents? components = null, bool join = true, CancellationToken ct = default) =>
        StartAsync(settings.SystemName, builder =>
        {
            builder.WithMegaFlowNode(settings, components);
            if (join) builder.WithClusterJoin(settings);
        }, ct);

    /// <summary>Starts a node in single-node mode (<see cref="MegaFlowNode.WithMegaFlowSingleNode"/>): no cluster, every role.</summary>
    public static Task<RunningNode> StartSingleNodeAsync(NodeSettings settings, NodeComponents? components = null, CancellationToken ct = default) =>
        StartAsync(settings.SystemName, builder => builder.WithMegaFlowSingleNode(settings, components), ct);

    private static async Task<RunningNode> StartAsync(string systemName, Action<AkkaConfigurationBuilder> configure, CancellationToken ct)
    {
        var host = new HostBuilder()
            .ConfigureServices(services => services.AddAkka(systemName, (builder, _) => configure(builder)))
            .Build();
        await host.StartAsync(ct);
        var system = host.Services.GetRequiredService<ActorSystem>();
        return new RunningNode(host, system, MegaFlowProxies.Refs(ActorRegistry.For(system)));
    }

    /// <summary>Stops the host: coordinated shutdown unless the system was already terminated (a simulated crash).</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await Host.StopAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            Host.Dispose();
        }
    }
}
