namespace MegaFlow.Agents.Model;

/// <summary>
/// Node-side settings of the model agent (HOCON <c>megaflow.agents</c>): where the cluster's own model
/// service is, and how patiently to call an endpoint. A task's spec may name another endpoint.
/// </summary>
public sealed record ModelAgentSettings
{
    /// <summary>Base URL (…/v1) of the cluster's model service, used when a spec names no endpoint.</summary>
    public Uri DefaultEndpoint { get; init; } = new("http://127.0.0.1:8000/v1");

    /// <summary>Model name sent to the default endpoint when a spec names none.</summary>
    public string DefaultModel { get; init; } = "megaflow-policy";

    /// <summary>Environment variable holding the default endpoint's key; empty: none is needed.</summary>
    public string DefaultApiKeyEnv { get; init; } = "";

    /// <summary>Calls after the first when the endpoint cannot be reached or answers 5xx/429.</summary>
    public int Retries { get; init; } = 3;

    /// <summary>Wait before the first retry; doubled for each one after it.</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest wait for one call's answer (a slow answer counts as a failed call).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Longest observation put in the prompt, in characters (head and tail kept).</summary>
    public int ObservationChars { get; init; } = 4000;

    /// <summary>Replies per round that may break the format (no or several bash blocks) before the attempt fails.</summary>
    public int FormatRetries { get; init; } = 2;
}
