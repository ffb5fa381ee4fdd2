using MegaFlow.Model.Inference;
using MegaFlow.Model.Policy;
using MegaFlow.ModelService.Hosting;

namespace MegaFlow.Cluster.Tests.Infrastructure;

/// <summary>
/// The cluster's own model service (a real TorchSharp policy behind the OpenAI-compatible API) on a
/// loopback port, and the HOCON that makes a node's agents use it by default.
/// </summary>
public sealed class LocalModelService : IAsyncDisposable
{
    public const string ModelName = "tiny-policy";

    /// <summary>The weight version the service reports (a number no default would produce).</summary>
    public const long WeightVersion = 7;

    private readonly InferenceEngine _engine;

    private LocalModelService(InferenceEngine engine, ModelServer server, PolicyConfig config, byte[] weights)
    {
        _engine = engine;
        Server = server;
        Config = config;
        Weights = weights;
    }

    /// <summary>The served policy's architecture and weights (a trainer starts from a copy).</summary>
    public PolicyConfig Config { get; }

    public byte[] Weights { get; }

    public ModelServer Server { get; }

    /// <summary>The OpenAI base URL (…/v1).</summary>
    public string BaseUrl => new Uri(Server.BaseAddress, "v1").ToString();

    /// <summary>Points a node's default model endpoint here.</summary>
    public string Hocon => $"""
        megaflow.agents.model-endpoint = "{BaseUrl}"
        megaflow.agents.model = "{ModelName}"
        """;

    public static async Task<LocalModelService> StartAsync()
    {
        var config = new PolicyConfig { ContextLength = 4096 };
        using var initial = PolicyModel.CreateInitial(ModelName, config, seed: 5);
        var weights = initial.SaveWeights();
        var engine = new InferenceEngine(PolicyModel.FromWeights(ModelName, WeightVersion, config, weights), new EngineOptions { MaxBatchRows = 64 });
        return new LocalModelService(engine, await ModelServer.StartAsync(engine), config, weights);
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        _engine.Dispose();
    }
}
