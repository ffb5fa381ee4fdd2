using MegaFlow.Contracts.OpenAi;
using System.Text.Json;
using MegaFlow.Model.Inference;
using MegaFlow.Model.Policy;
using MegaFlow.Model.Tokenization;
using MegaFlow.Model.Weights;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace MegaFlow.ModelService.OpenAi;

/// <summary>
/// The OpenAI-compatible routes: GET /v1/models, POST /v1/chat/completions, POST /v1/completions,
/// and POST /v1/megaflow/weights (load a weight version from the store and swap it in).
/// Beyond OpenAI's fields, every response carries "megaflow": the weight version that produced it and
/// the exact prompt and sampled token ids with their log-probs (what a trainer needs, with no
/// re-tokenisation), and requests may restrict the answer with "guided_choice" (as vLLM does).
/// </summary>
public static class ModelApi
{
    /// <summary>max_tokens when a request gives none (bounded further by the context).</summary>
    private const int DefaultMaxTokens = 256;

    public static void Map(IEndpointRouteBuilder endpoints, InferenceEngine engine, WeightStore? store = null, string device = "cpu")
    {
        var v1 = endpoints.MapGroup("/v1");
        v1.MapGet("/models", () => Results.Json(new { @object = "list", data = new[] { ModelCard(engine.Current) } }, WireJson.Options));
        v1.MapGet("/models/{id}", (string id) => id == engine.Current.Name
            ? Results.Json(ModelCard(engine.Current), WireJson.Options)
            : Error(StatusCodes.Status404NotFound, $"the model '{id}' does not exist (this server serves '{engine.Current.Name}')", "invalid_request_error", "model", "model_not_found"));
        v1.MapPost("/chat/completions", Route(http => Handle(http, body => ChatCompletion(engine, body, http.RequestAborted))));
        v1.MapPost("/completions", Route(http => Handle(http, body => TextCompletion(engine, body, http.RequestAborted))));
        v1.MapPost("/megaflow/weights", Route(http => Handle(http, async body =>
        {
            if (store is null) throw new BadRequestException(null, "this server has no weight store to load versions from");
            var version = RequestReader.Parse(body).Long("version");
            PolicyModel next;
            try
            {
                next = await store.LoadAsync(engine.Current.Name, version, device, http.RequestAborted);
            }
            catch (KeyNotFoundException e)
            {
                throw new BadRequestException("version", e.Message, "version_not_found");
            }
            engine.SwapWeights(next);
            return Results.Json(ModelCard(next), WireJson.Options);
        })));
        endpoints.MapFallback((HttpContext http) =>
            Error(StatusCodes.Status404NotFound, $"no route {http.Request.Method} {http.Request.Path}", "invalid_request_error", null, "unknown_route"));
    }

    // A Delegate, not a RequestDelegate, so the returned IResult is written to the response.
    private static Delegate Route(Func<HttpContext, Task<IResult>> handler) => handler;

    private static object ModelCard(PolicyModel model) => new
    {
        id = model.Name,
        @object = "model",
        created = 0,
        owned_by = "megaflow",
        megaflow = new { weight_version = model.Version, config = model.Config, chat_template = model.Config.ChatTemplateName },
    };

    private static async Task<IResult> Handle(HttpContext http, Func<byte[], Task<IResult>> handler)
    {
        try
        {
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
            return await handler(buffer.ToArray());
        }
        catch (BadRequestException e)
        {
            return Error(StatusCodes.Status400BadRequest, e.Message, "invalid_request_error", e.Param, e.Code);
        }
        catch (InvalidGenerationException e)
        {
            return Error(StatusCodes.Status400BadRequest, e.Message, "invalid_request_error", e.Param, "invalid_value");
        }
        catch (QueueFullException e)
        {
            http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(e.RetryAfter.TotalSeconds)).ToString();
            return Error(StatusCodes.Status429TooManyRequests, e.Message, "rate_limit_exceeded", null, "queue_full");
        }
    }

    private static IResult Error(int status, string message, string type, string? param, string? code) =>
        Results.Json(new ApiErrorBody(new ApiErrorDetail(message, type, param, code)), WireJson.Options, statusCode: status);

    private static async Task<IResult> ChatCompletion(InferenceEngine engine, byte[] body, CancellationToken ct)
    {
        var r = RequestReader.Parse(body);
        var model = CheckModel(engine, r);
        var messages = Messages(r);
        var prompt = ChatTemplate.Render(messages);
        var wantLogprobs = r.Bool("logprobs") ?? false;
        var top = r.Int("top_logprobs") ?? 0;
        if (top > 0 && !wantLogprobs) throw new BadRequestException("top_logprobs", "top_logprobs needs logprobs: true");
        var request = Request(engine, r, prompt, top, terminator: ByteTokenizer.TurnEnd, stopTokens: [ByteTokenizer.TurnEnd, ByteTokenizer.EndOfText], promptParam: "messages");
        var result = await engine.GenerateAsync(request, ct);
        var asIds = r.Bool("return_tokens_as_token_ids") ?? false;
        var choices = result.Sequences.Select(s => new
        {
            index = s.Index,
            message = new { role = "assistant", content = Text(s) },
            finish_reason = s.FinishReason,
            logprobs = wantLogprobs
                ? new { content = s.Tokens.Take(s.VisibleTokenCount).Select(t => new
                    {
                        token = TokenText(t.TokenId, asIds),
                        logprob = t.LogProb,
                        bytes = ByteTokenizer.Bytes(t.TokenId).Select(b => (int)b).ToArray(),
                        top_logprobs = t.TopLogProbs.Select(a => new { token = TokenText(a.TokenId, asIds), logprob = a.LogProb, bytes = ByteTokenizer.Bytes(a.TokenId).Select(b => (int)b).ToArray() }),
                    }) }
                : null,
            megaflow = SequenceExtras(s),
        });
        return Completion("chatcmpl-", "chat.completion", model, result, choices, prompt);
    }

    private static async Task<IResult> TextCompletion(InferenceEngine engine, byte[] body, CancellationToken ct)
    {
        var r = RequestReader.Parse(body);
        var model = CheckModel(engine, r);
        if (r.Bool("echo") == true) throw new BadRequestException("echo", "echo is not supported");
        if (r.Get("suffix") is not null) throw new BadRequestException("suffix", "suffix is not supported");
        var prompt = r.Get("prompt") switch
        {
            { ValueKind: JsonValueKind.String } s => ChatTemplate.RenderText(s.GetString()!),
            { ValueKind: JsonValueKind.Array } a when a.GetArrayLength() == 1 && a[0].ValueKind == JsonValueKind.String => ChatTemplate.RenderText(a[0].GetString()!),
            // Token ids as given (vLLM accepts them too): exactly what a trainer replays.
            { ValueKind: JsonValueKind.Array } a when a.GetArrayLength() > 0 && a.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out _)) =>
                a.EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            null => throw new BadRequestException("prompt", "prompt is required", "missing_required_parameter"),
            _ => throw new BadRequestException("prompt", "prompt must be a string, an array of one string, or an array of token ids"),
        };
        var top = r.Int("logprobs");
        var request = Request(engine, r, prompt, top ?? 0, terminator: ByteTokenizer.EndOfText, stopTokens: [ByteTokenizer.EndOfText], promptParam: "prompt", topParam: "logprobs");
        var result = await engine.GenerateAsync(request, ct);
        var asIds = r.Bool("return_tokens_as_token_ids") ?? false;
        var choices = result.Sequences.Select(s =>
        {
            var visible = s.Tokens.Take(s.VisibleTokenCount).ToList();
            var offsets = new List<int>();
            var offset = 0;
            foreach (var t in visible)
            {
                offsets.Add(offset);
                offset += ByteTokenizer.Bytes(t.TokenId).Length;
            }
            return new
            {
                index = s.Index,
                text = Text(s),
                finish_reason = s.FinishReason,
                logprobs = top is null ? null : new
                {
                    tokens = visible.Select(t => TokenText(t.TokenId, asIds)),
                    token_logprobs = visible.Select(t => t.LogProb),
                    top_logprobs = visible.Select(t => t.TopLogProbs.GroupBy(a => TokenText(a.TokenId, asIds)).ToDictionary(g => g.Key, g => g.First().LogProb)),
                    text_offset = offsets, // byte offsets into the text's UTF-8
                },
                megaflow = SequenceExtras(s),
            };
        });
        return Completion("cmpl-", "text_completion", model, result, choices, prompt);
    }

    // The envelope both completion routes answer with; only the id prefix and object kind differ.
    private static IResult Completion<TChoice>(string idPrefix, string kind, string model, GenerationResult result, IEnumerable<TChoice> choices, int[] prompt) =>
        Results.Json(new
        {
            id = idPrefix + Guid.NewGuid().ToString("N"),
            @object = kind,
            created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            model,
            system_fingerprint = $"{model}-v{result.WeightVersion}",
            choices,
            usage = Usage(result),
            megaflow = ResultExtras(result, prompt),
        }, WireJson.Options);

    private static string CheckModel(InferenceEngine engine, RequestReader r)
    {
        var model = r.RequiredString("model");
        if (model != engine.Current.Name)
            throw new BadRequestException("model", $"the model '{model}' does not exist (this server serves '{engine.Current.Name}')", "model_not_found");
        if (r.Bool("stream") == true) throw new BadRequestException("stream", "stream is not supported: ask without streaming");
        return model;
    }

    private static List<ChatMessage> Messages(RequestReader r)
    {
        if (r.Get("messages") is not { ValueKind: JsonValueKind.Array } array || array.GetArrayLength() == 0)
            throw new BadRequestException("messages", "messages is required: a non-empty array of {role, content}", "missing_required_parameter");
        var messages = new List<ChatMessage>();
        var i = 0;
        foreach (var m in array.EnumerateArray())
        {
            var at = $"messages[{i++}]";
            if (m.ValueKind != JsonValueKind.Object) throw new BadRequestException(at, $"{at} must be an object");
            var role = m.TryGetProperty("role", out var rv) && rv.ValueKind == JsonValueKind.String ? rv.GetString()! : throw new BadRequestException($"{at}.role", $"{at}.role is required");
            if (role == "developer") role = "system"; // newer clients' name for the system role
            if (!ChatTemplate.Roles.Contains(role)) throw new BadRequestException($"{at}.role", $"{at}.role '{role}' is not system, user, assistant or tool");
            var content = m.TryGetProperty("content", out var cv) ? cv : default;
            var text = content.ValueKind switch
            {
                JsonValueKind.String => content.GetString()!,
                JsonValueKind.Null or JsonValueKind.Undefined => "",
                // Content parts: only text parts mean something to a text model.
                JsonValueKind.Array => string.Concat(content.EnumerateArray().Select(p =>
                    p.ValueKind == JsonValueKind.Object && p.TryGetProperty("type", out var t) && t.GetString() == "text" && p.TryGetProperty("text", out var tx) && tx.ValueKind == JsonValueKind.String
                        ? tx.GetString()
                        : throw new BadRequestException($"{at}.content", $"{at}.content: only text parts are supported"))),
                _ => throw new BadRequestException($"{at}.content", $"{at}.content must be a string or an array of text parts"),
            };
            messages.Add(new ChatMessage(role, text));
        }
        return messages;
    }

    private static GenerationRequest Request(InferenceEngine engine, RequestReader r, int[] prompt, int topLogprobs, int terminator, int[] stopTokens, string promptParam, string topParam = "top_logprobs")
    {
        var context = engine.Current.Config.ContextLength;
        if (prompt.Length >= context)
            throw new BadRequestException(promptParam, $"the prompt is {prompt.Length} tokens; the context holds {context} (including the answer)", "context_length_exceeded");
        var maxParam = r.Get("max_completion_tokens") is not null ? "max_completion_tokens" : "max_tokens";
        var maxTokens = r.Int(maxParam) ?? Math.Min(DefaultMaxTokens, context - prompt.Length);
        if (maxTokens < 1) throw new BadRequestException(maxParam, $"{maxParam} must be at least 1 (got {maxTokens})");
        if (prompt.Length + maxTokens > context)
            throw new BadRequestException(maxParam, $"the prompt ({prompt.Length} tokens) plus {maxParam} ({maxTokens}) exceeds the context length {context}", "context_length_exceeded");
        if (topLogprobs < 0 || topLogprobs > engine.Options.MaxTopLogprobs)
            throw new BadRequestException(topParam, $"{topParam} must be between 0 and {engine.Options.MaxTopLogprobs} (got {topLogprobs})");
        List<int[]>? choices = null;
        if (r.Get("guided_choice") is { } g)
        {
            if (g.ValueKind != JsonValueKind.Array || g.GetArrayLength() == 0 || g.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String || e.GetString()!.Length == 0))
                throw new BadRequestException("guided_choice", "guided_choice must be a non-empty array of non-empty strings");
            // Each choice ends the turn, so no choice is a prefix of another unless it is repeated.
            choices = g.EnumerateArray().Select(e => (int[])[.. ByteTokenizer.Encode(e.GetString()!), terminator]).ToList();
        }
        var options = new SamplingOptions
        {
            N = r.Int("n") ?? 1,
            Temperature = r.Double("temperature") ?? 1.0,
            TopP = r.Double("top_p") ?? 1.0,
            MaxTokens = maxTokens,
            Seed = r.Int("seed"),
            TopLogprobs = topLogprobs,
            Stop = r.Strings("stop"),
            StopTokenIds = stopTokens,
        };
        return new GenerationRequest(prompt, options, choices);
    }

    private static string Text(GeneratedSequence s) => ByteTokenizer.Decode(s.Tokens.Take(s.VisibleTokenCount).Select(t => t.TokenId));

    /// <summary>vLLM's return_tokens_as_token_ids spelling ("token_id:N"), else a readable form of the token.</summary>
    private static string TokenText(int id, bool asIds) => asIds ? $"token_id:{id}" : ByteTokenizer.Display(id);

    private static object Usage(GenerationResult result) => new
    {
        prompt_tokens = result.PromptTokenCount,
        completion_tokens = result.Sequences.Sum(s => s.Tokens.Count),
        total_tokens = result.PromptTokenCount + result.Sequences.Sum(s => s.Tokens.Count),
    };

    private static object SequenceExtras(GeneratedSequence s) => new
    {
        token_ids = s.Tokens.Select(t => t.TokenId),
        token_logprobs = s.Tokens.Select(t => t.LogProb),
        guided_choice_index = s.ChoiceIndex,
        choice_logprob = s.ChoiceLogProb,
        policy_logprob = s.PolicyLogProb,
    };

    private static object ResultExtras(GenerationResult result, int[] prompt) => new
    {
        weight_version = result.WeightVersion,
        prompt_token_ids = prompt,
        // See InferenceEngine: raw policy log-probs, or the constrained distribution's for guided_choice.
        logprobs_definition = result.Sequences.Any(s => s.ChoiceIndex is not null) ? "guided-choice-constrained" : "raw-policy-temperature-1",
    };
}

/// <summary>The JSON settings of the wire format: nulls are left out, names are as written.</summary>
internal static class WireJson
{
    public static readonly JsonSerializerOptions Options = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };
}
