using MegaFlow.Model.Inference;
using MegaFlow.Model.Policy;
using MegaFlow.ModelService.Hosting;

namespace MegaFlow.Model.Tests;

/// <summary>A model API on a loopback port over a tiny policy, plus a second copy of its weights for "training" passes.</summary>
public sealed class ModelServerFixture : IAsyncLifetime
{
    public const string ModelName = "tiny-policy";

    public static readonly PolicyConfig Config = new() { ContextLength = 512 };

    public PolicyModel Trainer { get; private set; } = null!;

    public InferenceEngine Engine { get; private set; } = null!;

    public ModelServer Server { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        using var initial = PolicyModel.CreateInitial(ModelName, Config, seed: 42);
        var weights = initial.SaveWeights();
        Trainer = PolicyModel.FromWeights(ModelName, 3, Config, weights);
        Engine = new InferenceEngine(PolicyModel.FromWeights(ModelName, 3, Config, weights), new EngineOptions { MaxBatchRows = 64, MaxTopLogprobs = 20 });
        Server = await ModelServer.StartAsync(Engine);
        Http = new HttpClient { BaseAddress = Server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
        Engine.Dispose();
        Trainer.Dispose();
    }

    /// <summary>Training-pass log-probs of <paramref name="completion"/> after <paramref name="prompt"/>.</summary>
    public double[] TrainingLogProbs(int[] prompt, int[] completion)
    {
        var lp = Trainer.TokenLogProbs([[.. prompt, .. completion]])[0];
        return lp.detach().to(TorchSharp.torch.float64).data<double>().ToArray()[(prompt.Length - 1)..];
    }
}
