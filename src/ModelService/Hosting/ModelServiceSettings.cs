using System.Net;
using MegaFlow.Model.Inference;
using MegaFlow.Model.Policy;

namespace MegaFlow.ModelService.Hosting;

/// <summary>
/// How a `model` node serves its policy. Read from MEGAFLOW_MODEL_* variables; invalid values throw
/// naming the variable, so a deployment typo fails at start.
/// </summary>
public sealed record ModelServiceSettings
{
    public string Name { get; init; } = "megaflow-policy";

    /// <summary>The weight version to serve; null = the latest saved (version 0, seeded, when none is).</summary>
    public long? Version { get; init; }

    /// <summary>"cpu", "cuda" or "cuda:N" (CUDA needs a CUDA libtorch build, which this project does not ship).</summary>
    public string Device { get; init; } = "cpu";

    public string Address { get; init; } = "127.0.0.1";

    /// <summary>vLLM's conventional port.</summary>
    public int Port { get; init; } = 8000;

    /// <summary>Seed of version 0 when the model has no saved version yet.</summary>
    public long Seed { get; init; }

    /// <summary>The architecture of version 0 (later versions carry theirs in their manifest).</summary>
    public PolicyConfig InitialConfig { get; init; } = new();

    public EngineOptions Engine { get; init; } = new();

    public static ModelServiceSettings FromEnvironment(Func<string, string?>? get = null)
    {
        get ??= Environment.GetEnvironmentVariable;
        string? V(string name) => string.IsNullOrWhiteSpace(get(name)) ? null : get(name)!.Trim();
        int Int(string name, int fallback, int min, int max) => V(name) is { } v
            ? int.TryParse(v, out var i) && i >= min && i <= max ? i : throw new ArgumentException($"{name}: '{v}' is not an integer in {min}..{max}")
            : fallback;
        var s = new ModelServiceSettings();
        if (V("MEGAFLOW_MODEL_NAME") is { } name) s = s with { Name = name };
        if (V("MEGAFLOW_MODEL_VERSION") is { } version)
            s = s with { Version = long.TryParse(version, out var v) && v >= 0 ? v : throw new ArgumentException($"MEGAFLOW_MODEL_VERSION: '{version}' is not a version number") };
        if (V("MEGAFLOW_MODEL_DEVICE") is { } device) s = s with { Device = device };
        if (V("MEGAFLOW_MODEL_ADDRESS") is { } address)
            s = s with
            {
                Address = address == "*" || IPAddress.TryParse(address, out _) ? address : throw new ArgumentException($"MEGAFLOW_MODEL_ADDRESS: '{address}' is not an IP address (use 0.0.0.0 or * for every interface)"),
            };
        s = s with { Port = Int("MEGAFLOW_MODEL_PORT", s.Port, 0, 65535) };
        if (V("MEGAFLOW_MODEL_SEED") is { } seed)
            s = s with { Seed = long.TryParse(seed, out var sd) ? sd : throw new ArgumentException($"MEGAFLOW_MODEL_SEED: '{seed}' is not an integer") };
        s = s with
        {
            InitialConfig = s.InitialConfig with
            {
                EmbeddingSize = Int("MEGAFLOW_MODEL_EMBEDDING_SIZE", s.InitialConfig.EmbeddingSize, 1, 4096),
                HiddenSize = Int("MEGAFLOW_MODEL_HIDDEN_SIZE", s.InitialConfig.HiddenSize, 1, 8192),
                Layers = Int("MEGAFLOW_MODEL_LAYERS", s.InitialConfig.Layers, 1, 64),
                ContextLength = Int("MEGAFLOW_MODEL_CONTEXT_LENGTH", s.InitialConfig.ContextLength, 1, 1 << 20),
            },
            Engine = s.Engine with
            {
                MaxBatchRows = Int("MEGAFLOW_MODEL_MAX_BATCH", s.Engine.MaxBatchRows, 1, 4096),
                QueueCapacity = Int("MEGAFLOW_MODEL_QUEUE", s.Engine.QueueCapacity, 0, 1_000_000),
            },
        };
        return s;
    }
}
