namespace MegaFlow.Contracts.Tasks;

/// <summary>
/// One model call an attempt made through its node's gateway, as the journal keeps it: a reference
/// to the full record (prompt and response token ids, per-token log-probs, the request and the
/// answer as sent) in the artifact store, and the few numbers people read at a glance. The token data
/// itself never enters the journal.
/// </summary>
/// <param name="Round">The round the call belongs to: the round being decided (the model agent) or run (an agent program in the environment).</param>
/// <param name="Path">Where the full record is: the artifact store's location for the key <see cref="ModelCallRecordPaths"/> names (a file path or an s3:// URI).</param>
/// <param name="Route">What was called: <c>chat/completions</c>, <c>completions</c> or <c>models</c>.</param>
/// <param name="Model">The model name sent upstream.</param>
/// <param name="Endpoint">The upstream base URL the gateway forwarded to.</param>
/// <param name="WeightVersion">The weight version that answered, when the endpoint says (the cluster's model service does).</param>
/// <param name="PromptTokens">Prompt tokens (the endpoint's <c>usage</c>), 0 when unknown.</param>
/// <param name="CompletionTokens">Generated tokens over all choices, 0 when unknown.</param>
/// <param name="LatencyMs">From the gateway receiving the call to the upstream's answer.</param>
/// <param name="Status">The HTTP status the caller got; 502/504 when the upstream could not be reached.</param>
/// <param name="Error">Why the call failed, when it did.</param>
/// <param name="At">When the gateway received the call.</param>
public sealed record ModelCall(
    int Round,
    string Path,
    string Route,
    string Model,
    string Endpoint,
    long? WeightVersion,
    int PromptTokens,
    int CompletionTokens,
    double LatencyMs,
    int Status,
    string? Error,
    DateTimeOffset At);

/// <summary>Where model-call records live in the artifact store, beside the attempt's step logs.</summary>
public static class ModelCallRecordPaths
{
    /// <summary><c>{task}/attempt-{n}/model-calls/round-{r}-{id}.json</c>; <paramref name="callId"/> makes it unique across gateways.</summary>
    public static string For(string taskId, int attempt, int round, string callId) =>
        $"{taskId}/attempt-{attempt}/model-calls/round-{round:D3}-{callId}.json";
}

/// <summary>
/// The gateway's URL layout: <c>{gateway}/t/{task}/{attempt}/v1/…</c>, an OpenAI-compatible base URL
/// per attempt, so the key a call carries is checked against the attempt the URL names.
/// </summary>
public static class ModelGatewayRoutes
{
    /// <summary>The route pattern the gateway serves (ASP.NET Core syntax).</summary>
    public const string Pattern = "/t/{taskId}/{attempt:int}/v1/{**route}";

    /// <summary>The OpenAI base URL (…/v1) of one attempt at <paramref name="gateway"/> (http://host:port/).</summary>
    public static Uri BaseUrl(Uri gateway, string taskId, int attempt) =>
        new(gateway, $"t/{Uri.EscapeDataString(taskId)}/{attempt}/v1");
}
