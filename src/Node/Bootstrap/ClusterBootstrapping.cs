using System.Collections.Immutable;
using System.Net;
using Akka;
using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Hosting;
using Akka.Management.Cluster.Bootstrap;
using Akka.Management.Cluster.Bootstrap.ContactPoint;
using Akka.Management.Dsl;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Newtonsoft.Json;

namespace MegaFlow.Node.Bootstrap;

/// <summary>
/// Runs Akka.Management's Cluster Bootstrap without Akka.Management's own HTTP server. That server
/// (Akka.Http.Shim 1.5.73 over Ceen.Httpd) cannot start here: the shim calls
/// <c>Ceen.Httpd.HttpServer.ListenAsync</c> as Ceen.Httpd 0.9.9 declares it, and the registry only has
/// 0.9.10, whose signature differs (MissingMethodException). Bootstrap itself needs two things from a
/// server: the node's own contact-point URI (which Akka.Management hands to
/// <see cref="ClusterBootstrap.Routes"/>, the public <see cref="IManagementRouteProvider"/> contract,
/// once it has bound) and the contact-point route <c>GET /bootstrap/seed-nodes</c>, which the other
/// nodes' probes read with Newtonsoft.Json into <see cref="HttpBootstrapJsonProtocol.SeedNodes"/>.
/// This class serves that route from Kestrel on its own port, answering with Akka.Management's own
/// protocol types and serializer, and calls the same public entry points.
/// </summary>
public static class ClusterBootstrapping
{
    public static AkkaConfigurationBuilder WithClusterBootstrap(this AkkaConfigurationBuilder builder, BootstrapSettings settings)
    {
        builder.AddHocon(settings.Hocon(), HoconAddMode.Prepend);
        return builder.AddStartup((system, _registry) =>
        {
            var server = StartContactPointServer(system, settings);
            CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseActorSystemTerminate, "stop-bootstrap-contact-point", async () =>
            {
                await server.DisposeAsync();
                return Done.Instance;
            });
            var bootstrap = ClusterBootstrap.Get(system);
            // Hands the self contact point over, as Akka.Management does once its server is bound; the
            // Ceen routes it returns are not served (our Kestrel route above answers instead).
            _ = bootstrap.Routes(ManagementRouteProviderSettings.Create(settings.SelfContactPoint, readOnly: true));
            bootstrap.Start().GetAwaiter().GetResult();
        });
    }

    private static WebApplication StartContactPointServer(ActorSystem system, BootstrapSettings settings)
    {
        // No watching of the working folder for appsettings.json (see NodeHost): configuration is read once.
        var web = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        // Its own small host: only Kestrel's warnings and errors, one line each.
        web.Logging.ClearProviders().SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Warning).AddSimpleConsole(o => o.SingleLine = true);
        web.WebHost.UseKestrel(k =>
        {
            if (settings.BindAddress is "*" or "0.0.0.0") k.ListenAnyIP(settings.Port);
            else k.Listen(IPAddress.Parse(settings.BindAddress), settings.Port);
        });
        var app = web.Build();
        var maxExposed = system.Settings.Config.GetInt("akka.management.cluster.bootstrap.contact-point.max-seed-nodes-to-expose", 5);
        app.MapGet("/bootstrap/seed-nodes", (HttpContext http) => Results.Text(SeedNodesJson(system, maxExposed), "application/json"));
        try
        {
            app.StartAsync().GetAwaiter().GetResult();
        }
        catch (IOException e)
        {
            throw new InvalidOperationException($"Cluster Bootstrap contact point: cannot listen on {settings.BindAddress}:{settings.Port}: {e.Message} (set MEGAFLOW_BOOTSTRAP_PORT)", e);
        }
        system.Log.Info("Cluster Bootstrap contact point listening on {0}:{1}, self contact point {2}", settings.BindAddress, settings.Port, settings.SelfContactPoint);
        return app;
    }

    /// <summary>
    /// What Akka.Management's contact-point route answers: this node's address and the reachable
    /// members that are Joining, WeaklyUp or Up (none once this node is leaving), in Akka.Management's
    /// own protocol types, serialized with the Newtonsoft.Json defaults its probes deserialize with.
    /// </summary>
    public static string SeedNodesJson(ActorSystem system, int maxExposed)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        var self = cluster.SelfMember;
        if (self.Status is MemberStatus.Down or MemberStatus.Exiting or MemberStatus.Leaving or MemberStatus.Removed)
            return JsonConvert.SerializeObject(new HttpBootstrapJsonProtocol.SeedNodes(self.UniqueAddress.Address, ImmutableList<HttpBootstrapJsonProtocol.ClusterMember>.Empty));
        var state = cluster.State;
        var members = state.Members
            .Where(m => !state.Unreachable.Contains(m))
            .Where(m => m.Status is MemberStatus.Up or MemberStatus.WeaklyUp or MemberStatus.Joining)
            .Take(maxExposed)
            .Select(m => new HttpBootstrapJsonProtocol.ClusterMember(m.UniqueAddress.Address, m.UniqueAddress.Uid, m.Status, m.Roles))
            .ToImmutableList();
        return JsonConvert.SerializeObject(new HttpBootstrapJsonProtocol.SeedNodes(self.UniqueAddress.Address, members));
    }
}
