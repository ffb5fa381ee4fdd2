using System.Net;
using System.Net.Sockets;
using MegaFlow.Contracts.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace MegaFlow.Gateway;

/// <summary>
/// The gateway's own Kestrel listener (not the management API's port: it is data plane, called at
/// the rate agents call models, and may listen where environments reach it). Serves
/// <see cref="ModelGatewayRoutes.Pattern"/> and nothing else.
/// </summary>
public sealed class GatewayServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ModelGateway _gateway;

    private GatewayServer(WebApplication app, ModelGateway gateway, Uri baseAddress)
    {
        _app = app;
        _gateway = gateway;
        BaseAddress = baseAddress;
    }

    /// <summary>http://address:port/ on the main address — what this node's agents use.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The port every address listens on.</summary>
    public int Port => BaseAddress.Port;

    public static async Task<GatewayServer> StartAsync(ModelGateway gateway, GatewaySettings settings, CancellationToken ct = default)
    {
        // Every address shares one port, so an environment's URL differs from the node's only by host.
        // Port 0 with several addresses: pick a free one first (a race with another process is possible
        // but then the start fails loudly).
        var port = settings.Port != 0 || settings.ExtraAddresses.Count == 0 ? settings.Port : FreePort(settings.Address);
        // No watching of the working folder for appsettings.json (see NodeHost): configuration is read once.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(settings.Address, port);
            foreach (var extra in settings.ExtraAddresses) k.Listen(extra, port);
        });
        var app = builder.Build();
        app.Map(ModelGatewayRoutes.Pattern, (HttpContext http, string taskId, int attempt, string route) => gateway.HandleAsync(http, taskId, attempt, route));
        await app.StartAsync(ct);
        var bound = app.Urls.Select(u => new Uri(u)).First(u => u.Host == settings.Address.ToString() || settings.ExtraAddresses.Count == 0);
        return new GatewayServer(app, gateway, new Uri($"http://{FormatHost(settings.Address)}:{bound.Port}/"));
    }

    private static int FreePort(IPAddress address)
    {
        using var probe = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(address, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private static string FormatHost(IPAddress address) =>
        address.Equals(IPAddress.Any) ? "127.0.0.1" : address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _gateway.Dispose();
    }
}
