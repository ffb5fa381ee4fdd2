using MegaFlow.Model.Inference;
using MegaFlow.Model.Weights;
using MegaFlow.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MegaFlow.ModelService.Hosting;

/// <summary>Runs the model service inside a node's generic host (the `model` role).</summary>
public static class ModelServiceHosting
{
    /// <param name="artifacts">Where weight versions live (megaflow.artifacts: a local folder or S3); the model service owns it and disposes it when it stops.</param>
    public static IHostBuilder AddMegaFlowModelService(this IHostBuilder host, ModelServiceSettings settings, IArtifactStore artifacts) =>
        host.ConfigureServices(s => s.AddHostedService(sp => new ModelServiceHost(settings, artifacts, sp.GetRequiredService<ILogger<ModelServiceHost>>())));
}

/// <summary>Loads the weights (or creates version 0), starts the engine and the HTTP listener; stops them in reverse.</summary>
internal sealed class ModelServiceHost(ModelServiceSettings settings, IArtifactStore artifacts, ILogger<ModelServiceHost> log) : IHostedService
{
    private InferenceEngine? _engine;
    private ModelServer? _server;

    public async Task StartAsync(CancellationToken ct)
    {
        var store = new WeightStore(artifacts);
        var policy = settings.Version is { } v
            ? await store.LoadAsync(settings.Name, v, settings.Device, ct)
            : await store.LoadOrInitializeAsync(settings.Name, settings.InitialConfig, settings.Seed, settings.Device, ct);
        _engine = new InferenceEngine(policy, settings.Engine);
        try
        {
            _server = await ModelServer.StartAsync(_engine, settings.Address, settings.Port, store, settings.Device, ct: ct);
        }
        catch (IOException e)
        {
            // A setting the operator must change: reported by the node as one line, like other bad settings.
            throw new ArgumentException($"MEGAFLOW_MODEL_PORT: the model API cannot listen on {settings.Address}:{settings.Port}: {e.Message}", e);
        }
        log.LogInformation("model API serving {Model} v{Version} on {Address}v1", policy.Name, policy.Version, _server.BaseAddress);
    }

    public async Task StopAsync(CancellationToken ct)
    {
        if (_server is not null) await _server.DisposeAsync();
        _engine?.Dispose();
        // The store is the model role's own (the node makes one per role): an S3 client holds connections.
        if (artifacts is IDisposable owned) owned.Dispose();
    }
}
