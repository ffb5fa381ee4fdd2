using Akka.Configuration;
using MegaFlow.Model.Policy;

namespace MegaFlow.Trainer;

/// <summary>
/// How the trainer reaches its model and the model nodes (<c>megaflow.trainer</c>; the model's name is
/// <c>megaflow.agents.model</c>, the one rollouts sample from).
/// </summary>
/// <param name="Model">The policy's name in the weight store and at the model service.</param>
/// <param name="ModelEndpoints">The model nodes' OpenAI base URLs (…/v1); each loads every new version through POST …/megaflow/weights.</param>
/// <param name="Device">Where the trainer's copy of the policy lives: cpu, cuda, cuda:N.</param>
/// <param name="InitialConfig">The architecture of version 0 if no model node has created it yet (the model service's default).</param>
/// <param name="SyncTimeout">How long a model node may take to load a version before the experiment stops, naming it.</param>
public sealed record TrainerSettings(string Model, IReadOnlyList<Uri> ModelEndpoints, string Device, PolicyConfig InitialConfig, long Seed, TimeSpan SyncTimeout)
{
    public static TrainerSettings From(Config megaflow)
    {
        var trainer = megaflow.GetConfig("trainer") ?? Config.Empty;
        var endpoints = trainer.GetStringList("model-endpoints", []).ToList();
        if (endpoints.Count == 0) endpoints.Add(megaflow.GetString("agents.model-endpoint", "http://127.0.0.1:8000/v1"));
        var uris = endpoints.Select(e => Uri.TryCreate(e, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"
            ? u
            : throw new ArgumentException($"megaflow.trainer.model-endpoints: '{e}' is not an http(s) URL")).ToList();
        return new TrainerSettings(
            megaflow.GetString("agents.model", "megaflow-policy"),
            uris,
            trainer.GetString("device", "cpu"),
            new PolicyConfig(),
            trainer.GetLong("seed", 0),
            trainer.GetTimeSpan("sync-timeout", TimeSpan.FromMinutes(2)));
    }
}
