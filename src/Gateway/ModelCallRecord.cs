using System.Text.Json;
using System.Text.Json.Nodes;

namespace MegaFlow.Gateway;

/// <summary>
/// The full record of one model call, as saved in the artifact store: the request as forwarded, the
/// answer as received, and the tokens pulled out of it ("token in, token out": a trainer replays these
/// ids and compares these log-probs, never re-tokenized text). Token ids come from the cluster's model
/// service (its <c>megaflow</c> extra fields) or from vLLM's (<c>prompt_token_ids</c>, per-choice
/// <c>token_ids</c>); an endpoint that returns neither leaves them out, and the record says so by their absence.
/// </summary>
public sealed record ModelCallRecord(byte[] Json, long? WeightVersion, int PromptTokens, int CompletionTokens)
{
    /// <summary>The record's schema; a change to its shape is a new version.</summary>
    public const string Schema = "megaflow.model-call.v1";

    public static ModelCallRecord Build(string taskId, int attempt, int round, string route, DateTimeOffset at, string model, string endpoint,
        int status, double latencyMs, string? error, JsonNode? request, byte[] responseBody)
    {
        JsonObject? response = null;
        try
        {
            response = responseBody.Length > 0 ? JsonNode.Parse(responseBody) as JsonObject : null;
        }
        catch (JsonException)
        {
            // Not JSON (a proxy's HTML error page): kept as text below.
        }
        var extras = response?["megaflow"] as JsonObject;
        var weightVersion = Long(extras?["weight_version"]);
        var promptIds = (extras?["prompt_token_ids"] ?? response?["prompt_token_ids"])?.DeepClone();
        var usage = response?["usage"] as JsonObject;
        var choices = new JsonArray();
        foreach (var choice in (response?["choices"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var own = choice["megaflow"] as JsonObject;
            choices.Add(new JsonObject
            {
                ["index"] = choice["index"]?.DeepClone(),
                ["finish_reason"] = choice["finish_reason"]?.DeepClone(),
                ["token_ids"] = (own?["token_ids"] ?? choice["token_ids"])?.DeepClone(),
                ["token_logprobs"] = (own?["token_logprobs"] ?? LogProbs(choice))?.DeepClone(),
            });
        }
        var record = new JsonObject
        {
            ["schema"] = Schema,
            ["task"] = taskId,
            ["attempt"] = attempt,
            ["round"] = round,
            ["route"] = route,
            ["model"] = model,
            ["endpoint"] = endpoint,
            ["at"] = at,
            ["status"] = status,
            ["latency_ms"] = latencyMs,
            ["error"] = error,
            ["weight_version"] = weightVersion,
            ["prompt_token_ids"] = promptIds,
            ["choices"] = choices,
            ["usage"] = usage?.DeepClone(),
            ["request"] = request?.DeepClone(),
            ["response"] = response?.DeepClone() ?? (responseBody.Length > 0 ? JsonValue.Create(System.Text.Encoding.UTF8.GetString(responseBody)) : null),
        };
        return new ModelCallRecord(JsonSerializer.SerializeToUtf8Bytes(record), weightVersion,
            Int(usage?["prompt_tokens"]), Int(usage?["completion_tokens"]));
    }

    // The standard places: chat's logprobs.content[].logprob, the text completion's logprobs.token_logprobs.
    private static JsonNode? LogProbs(JsonObject choice) => choice["logprobs"] switch
    {
        JsonObject { } l when l["content"] is JsonArray content => new JsonArray(content.Select(t => (JsonNode?)t?["logprob"]?.DeepClone()).ToArray()),
        JsonObject { } l when l["token_logprobs"] is JsonArray values => values,
        _ => null,
    };

    private static long? Long(JsonNode? node) => node is JsonValue v && v.TryGetValue<long>(out var n) ? n : null;

    private static int Int(JsonNode? node) => node is JsonValue v && v.TryGetValue<int>(out var n) ? n : 0;
}
