using System.Net;
using MegaFlow.Model.Inference;
using MegaFlow.Model.Weights;
using MegaFlow.ModelService.OpenAi;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MegaFlow.ModelService.Hosting;

/// <summary>
/// The model API's own Kestrel listener. Its own port (not the management API's) because it is a
/// data-plane endpoint that agents and containers call at a high rate, may need a different bind
/// address than the management API, and is what an external OpenAI-compatible engine would replace.
/// </summary>
public sealed class ModelServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ModelServer(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    /// <summary>http://address:port/ — port 0 is resolved to the one bound.</summary>
    public Uri BaseAddress { get; }

    public static async Task<ModelServer> StartAsync(InferenceEngine engine, string address = "127.0.0.1", int port = 0, WeightStore? store = null,
        string device = "cpu", Action<ILoggingBuilder>? logging = null, CancellationToken ct = default)
    {
        // No watching of the working folder for appsettings.json (see NodeHost): configuration is read once.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.Logging.ClearProviders();
        if (logging is not null) logging(builder.Logging);
        builder.WebHost.UseKestrel(k =>
        {
            if (address is "*" or "0.0.0.0") k.ListenAnyIP(port);
            else k.Listen(IPAddress.Parse(address), port);
        });
        var app = builder.Build();
        ModelApi.Map(app, engine, store, device);
        await app.StartAsync(ct);
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var boundPort = new Uri(bound.Replace("0.0.0.0", "127.0.0.1").Replace("[::]", "127.0.0.1")).Port;
        var host = address is "*" or "0.0.0.0" ? "127.0.0.1" : address;
        return new ModelServer(app, new Uri($"http://{host}:{boundPort}/"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
