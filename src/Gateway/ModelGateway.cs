using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using MegaFlow.Agents.Model;
using MegaFlow.Contracts.OpenAi;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Agents;
using MegaFlow.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace MegaFlow.Gateway;

/// <summary>
/// One call through the gateway: check the attempt's key with its task, forward the call to the
/// task's model endpoint, record the exchange, answer the caller with the upstream's answer.
/// <para>What is refused is recorded nowhere: a call with no key (401), with a key that is not the
/// running attempt's — another task's, a finished attempt's — (403). Every call that was let through
/// is recorded, failures included, and reported to its task before the caller gets the answer, so
/// the task holds a call before anything the agent does with it, and its journal has the call before
/// any later event of the attempt (the task writes records with its next event or within a second:
/// TaskActor.ModelCallFlushInterval).</para>
/// <para>The gateway sets the request's <c>model</c> to the task's model (an agent program cannot pick
/// another) and asks for log-probs when the caller did not (<c>logprobs</c>, a standard field every
/// OpenAI-compatible endpoint accepts), so the record has them; it adds nothing non-standard.</para>
/// </summary>
public sealed class ModelGateway : IDisposable
{
    private readonly IAttemptDirectory _tasks;
    private readonly IArtifactStore _artifacts;
    private readonly Func<AgentSpec, ModelUpstream> _resolve;
    private readonly GatewaySettings _settings;
    private readonly ILogger _log;
    // One pooled client for every upstream: connections are reused across tasks.
    private readonly HttpClient _http;

    /// <param name="resolve">Where a task's calls go (its spec's endpoint or the node's default, with the key read on this node).</param>
    public ModelGateway(IAttemptDirectory tasks, IArtifactStore artifacts, Func<AgentSpec, ModelUpstream> resolve, GatewaySettings settings, ILogger log)
    {
        _tasks = tasks;
        _artifacts = artifacts;
        _resolve = resolve;
        _settings = settings;
        _log = log;
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1), AutomaticDecompression = DecompressionMethods.All })
        {
            Timeout = settings.UpstreamTimeout,
        };
    }

    public async Task HandleAsync(HttpContext http, string taskId, int attempt, string route)
    {
        var at = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var ct = http.RequestAborted;

        if (BearerKey(http.Request) is not { } key)
        {
            await WriteError(http, StatusCodes.Status401Unauthorized, "no API key: send this attempt's key (OPENAI_API_KEY) as 'Authorization: Bearer <key>'",
                "authentication_error", "missing_api_key");
            return;
        }
        AttemptGrant grant;
        try
        {
            grant = await _tasks.AuthorizeAsync(taskId, attempt, key, ct);
        }
        catch (TimeoutException)
        {
            await WriteError(http, StatusCodes.Status503ServiceUnavailable, $"task {taskId} did not answer whether the key is its own; try again",
                "service_unavailable", "task_unreachable");
            return;
        }
        if (!grant.Allowed)
        {
            await WriteError(http, StatusCodes.Status403Forbidden, $"this key does not open task {taskId} attempt {attempt}: {grant.Refusal}",
                "permission_error", "invalid_api_key");
            return;
        }

        var exchange = await ForwardAsync(http, route, grant.Agent ?? AgentSpec.Default, ct);
        exchange.LatencyMs = clock.Elapsed.TotalMilliseconds;
        await RecordAsync(taskId, attempt, grant.Round, route, at, exchange);

        http.Response.StatusCode = exchange.Status;
        if (exchange.RetryAfter is { } retryAfter) http.Response.Headers.RetryAfter = retryAfter;
        http.Response.ContentType = exchange.ContentType ?? "application/json";
        await http.Response.Body.WriteAsync(exchange.ResponseBody, ct);
    }

    /// <summary>Everything about one forwarded call that the record and the caller's answer need.</summary>
    private sealed class Exchange
    {
        public string Model = "";
        public string Endpoint = "";
        public JsonNode? Request;
        public int Status;
        public byte[] ResponseBody = [];
        public string? ContentType;
        public string? RetryAfter;
        public string? Error;
        public double LatencyMs;
    }

    private async Task<Exchange> ForwardAsync(HttpContext http, string route, AgentSpec agent, CancellationToken ct)
    {
        var x = new Exchange();
        var method = http.Request.Method;
        var known = (route, method) is ("chat/completions", "POST") or ("completions", "POST") or ("models", "GET");
        if (!known)
            return Fail(x, StatusCodes.Status404NotFound, $"the gateway forwards POST chat/completions, POST completions and GET models, not {method} {route}",
                "invalid_request_error", "unknown_route");
        ModelUpstream upstream;
        try
        {
            upstream = _resolve(agent);
        }
        catch (AgentInfrastructureException e)
        {
            return Fail(x, StatusCodes.Status503ServiceUnavailable, e.Message, "service_unavailable", "upstream_unconfigured");
        }
        x.Model = upstream.Model;
        x.Endpoint = upstream.BaseUrl.ToString();

        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(x.Endpoint.TrimEnd('/') + "/" + route));
        if (method == "POST")
        {
            if (await ReadBodyAsync(http.Request, ct) is not { } body)
                return Fail(x, StatusCodes.Status413PayloadTooLarge, $"the request body is over {_settings.MaxRequestBytes} bytes", "invalid_request_error", "request_too_large");
            JsonObject json;
            try
            {
                json = JsonNode.Parse(body) as JsonObject ?? throw new JsonException("not a JSON object");
            }
            catch (JsonException e)
            {
                return Fail(x, StatusCodes.Status400BadRequest, $"the request body is not a JSON object: {e.Message}", "invalid_request_error", "invalid_json");
            }
            json["model"] = upstream.Model;
            if (!json.ContainsKey("logprobs"))
                json["logprobs"] = route == "completions" ? JsonValue.Create(0) : JsonValue.Create(true);
            x.Request = json;
            request.Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(json));
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        if (upstream.ApiKey is { } upstreamKey)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", upstreamKey);

        try
        {
            using var response = await _http.SendAsync(request, ct);
            x.Status = (int)response.StatusCode;
            x.ResponseBody = await response.Content.ReadAsByteArrayAsync(ct);
            x.ContentType = response.Content.Headers.ContentType?.ToString();
            x.RetryAfter = response.Headers.RetryAfter?.ToString();
            if (x.Status >= 400) x.Error = $"HTTP {x.Status} from {x.Endpoint}";
            return x;
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return Fail(x, StatusCodes.Status504GatewayTimeout, $"model endpoint {x.Endpoint} did not answer within {_settings.UpstreamTimeout.TotalSeconds:0} s",
                "upstream_error", "upstream_timeout");
        }
        catch (HttpRequestException e)
        {
            return Fail(x, StatusCodes.Status502BadGateway, $"model endpoint {x.Endpoint} could not be reached: {ModelUpstream.Innermost(e)}", "upstream_error", "upstream_unreachable");
        }
    }

    private static Exchange Fail(Exchange x, int status, string message, string type, string code)
    {
        x.Status = status;
        x.Error = message;
        x.ResponseBody = ErrorBody(message, type, code);
        x.ContentType = "application/json";
        return x;
    }

    private async Task RecordAsync(string taskId, int attempt, int round, string route, DateTimeOffset at, Exchange x)
    {
        var record = ModelCallRecord.Build(taskId, attempt, round, route, at, x.Model, x.Endpoint, x.Status, x.LatencyMs, x.Error, x.Request, x.ResponseBody);
        var key = ModelCallRecordPaths.For(taskId, attempt, round, Guid.CreateVersion7().ToString("N"));
        string location;
        try
        {
            // Not the caller's token: a record half-written because the caller hung up would be lost.
            location = await _artifacts.SaveAsync(key, record.Json, CancellationToken.None);
        }
        catch (Exception e)
        {
            // The call itself succeeded; its record did not. The caller still gets the answer, and the
            // journal says the record is missing rather than pointing at nothing.
            _log.LogWarning(e, "model call of task {Task} attempt {Attempt}: its record could not be saved", taskId, attempt);
            location = "";
            x.Error ??= $"record not saved: {e.Message}";
        }
        _tasks.Report(taskId, attempt, new ModelCall(round, location, route, x.Model, x.Endpoint, record.WeightVersion,
            record.PromptTokens, record.CompletionTokens, Math.Round(x.LatencyMs, 3), x.Status, x.Error, at));
    }

    private async Task<byte[]?> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.ContentLength > _settings.MaxRequestBytes) return null;
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > _settings.MaxRequestBytes) return null;
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private static string? BearerKey(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        return header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) && header.Length > scheme.Length
            ? header[scheme.Length..].Trim()
            : null;
    }

    private static Task WriteError(HttpContext http, int status, string message, string type, string code)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        return http.Response.Body.WriteAsync(ErrorBody(message, type, code)).AsTask();
    }

    private static byte[] ErrorBody(string message, string type, string code) =>
        JsonSerializer.SerializeToUtf8Bytes(new ApiErrorBody(new ApiErrorDetail(message, type, null, code)));

    public void Dispose() => _http.Dispose();
}
