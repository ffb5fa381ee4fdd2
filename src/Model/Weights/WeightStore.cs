using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using MegaFlow.Model.Policy;
using MegaFlow.Storage;

namespace MegaFlow.Model.Weights;

/// <summary>What is written beside each weight version: enough to rebuild the network and check the bytes.</summary>
public sealed record WeightManifest(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("version")] long Version,
    [property: JsonPropertyName("config")] PolicyConfig Config,
    [property: JsonPropertyName("weights_key")] string WeightsKey,
    [property: JsonPropertyName("weights_sha256")] string WeightsSha256,
    [property: JsonPropertyName("weights_format")] string WeightsFormat,
    [property: JsonPropertyName("created")] DateTimeOffset Created);

/// <summary>
/// Numbered weight versions of named policies in the artifact store:
/// <c>models/NAME/vN/weights.bin</c> (TorchSharp's Module.save format), <c>models/NAME/vN/manifest.json</c>
/// (config and checksum) and <c>models/NAME/latest.json</c> (the highest saved version; the store
/// cannot list keys). Version 0 is the seeded random initialisation.
/// </summary>
public sealed partial class WeightStore(IArtifactStore store)
{
    public const string WeightsFormat = "torchsharp-module-save";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static string ManifestKey(string name, long version) => $"models/{name}/v{version}/manifest.json";

    public static string WeightsKey(string name, long version) => $"models/{name}/v{version}/weights.bin";

    public static string LatestKey(string name) => $"models/{name}/latest.json";

    /// <summary>Saves the model's weights as its version; a version is immutable once written.</summary>
    public async Task<WeightManifest> SaveAsync(PolicyModel model, CancellationToken ct = default)
    {
        ValidateName(model.Name);
        if (await store.ReadAsync(ManifestKey(model.Name, model.Version), ct) is not null)
            throw new InvalidOperationException($"version {model.Version} of model '{model.Name}' already exists (versions are immutable)");
        var weights = model.SaveWeights();
        var manifest = new WeightManifest(model.Name, model.Version, model.Config, WeightsKey(model.Name, model.Version),
            Convert.ToHexString(SHA256.HashData(weights)).ToLowerInvariant(), WeightsFormat, DateTimeOffset.UtcNow);
        // Weights before the manifest: a manifest only ever names weights that are there.
        await store.SaveAsync(manifest.WeightsKey, weights, ct);
        await store.SaveAsync(ManifestKey(model.Name, model.Version), JsonSerializer.SerializeToUtf8Bytes(manifest, Json), ct);
        var latest = await LatestVersionAsync(model.Name, ct);
        if (latest is null || latest < model.Version)
            await store.SaveAsync(LatestKey(model.Name), JsonSerializer.SerializeToUtf8Bytes(new LatestPointer(model.Version), Json), ct);
        return manifest;
    }

    public async Task<long?> LatestVersionAsync(string name, CancellationToken ct = default)
    {
        ValidateName(name);
        var bytes = await store.ReadAsync(LatestKey(name), ct);
        return bytes is null ? null : JsonSerializer.Deserialize<LatestPointer>(bytes, Json)?.Version;
    }

    /// <summary>Loads a version (the latest when null). Fails naming the key when it is missing or its bytes do not match the manifest.</summary>
    public async Task<PolicyModel> LoadAsync(string name, long? version = null, string device = "cpu", CancellationToken ct = default)
    {
        ValidateName(name);
        var v = version ?? await LatestVersionAsync(name, ct)
            ?? throw new KeyNotFoundException($"model '{name}' has no saved version ({LatestKey(name)} is missing)");
        var manifestBytes = await store.ReadAsync(ManifestKey(name, v), ct)
            ?? throw new KeyNotFoundException($"model '{name}' has no version {v} ({ManifestKey(name, v)} is missing)");
        var manifest = JsonSerializer.Deserialize<WeightManifest>(manifestBytes, Json)
            ?? throw new InvalidDataException($"{ManifestKey(name, v)} is empty");
        if (manifest.WeightsFormat != WeightsFormat)
            throw new InvalidDataException($"{ManifestKey(name, v)}: weights_format '{manifest.WeightsFormat}' is not {WeightsFormat}");
        var weights = await store.ReadAsync(manifest.WeightsKey, ct)
            ?? throw new KeyNotFoundException($"{manifest.WeightsKey} is missing");
        var sha = Convert.ToHexString(SHA256.HashData(weights)).ToLowerInvariant();
        if (sha != manifest.WeightsSha256)
            throw new InvalidDataException($"{manifest.WeightsKey}: sha256 {sha} does not match the manifest's {manifest.WeightsSha256}");
        return PolicyModel.FromWeights(name, v, manifest.Config, weights, device);
    }

    /// <summary>
    /// The latest saved version, or (when the model has none yet) version 0 from the seed, saved so
    /// every node serving the name starts from the same weights.
    /// </summary>
    public async Task<PolicyModel> LoadOrInitializeAsync(string name, PolicyConfig config, long seed, string device = "cpu", CancellationToken ct = default)
    {
        if (await LatestVersionAsync(name, ct) is not null) return await LoadAsync(name, null, device, ct);
        var model = PolicyModel.CreateInitial(name, config, seed, device);
        try
        {
            await SaveAsync(model, ct);
        }
        catch (InvalidOperationException)
        {
            // Another node saved version 0 first: serve that one.
            model.Dispose();
            return await LoadAsync(name, 0, device, ct);
        }
        return model;
    }

    public static void ValidateName(string name)
    {
        if (!NamePattern().IsMatch(name))
            throw new ArgumentException($"model: '{name}' is not a model name (letters, digits, '.', '_' and '-', at most 64)");
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex NamePattern();

    private sealed record LatestPointer([property: JsonPropertyName("version")] long Version);
}
