using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using MegaFlow.Contracts.Management;

namespace MegaFlow.Cli;

/// <summary>No management API answered (connection refused, unknown host, timeout): exit code 3.</summary>
public sealed class NodeUnreachableException(string message) : Exception(message);

/// <summary>The node answered with an error; <see cref="Status"/> decides the exit code.</summary>
public sealed class NodeErrorException(HttpStatusCode status, string message) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;
}

/// <summary>A thin HTTP client for one node's management API: JSON in, JSON out, errors as exceptions.</summary>
public sealed class ManagementClient : IDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StreamIdleTimeout = TimeSpan.FromSeconds(60);
    private readonly HttpClient _http;

    public ManagementClient(Uri node, string? token)
    {
        Node = node;
        // No client-wide timeout: a watch stream stays open for as long as its tasks run; plain requests get their own.
        _http = new HttpClient { BaseAddress = node, Timeout = Timeout.InfiniteTimeSpan };
        if (token is not null) _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public Uri Node { get; }

    /// <summary>The answer parsed as <typeparamref name="T"/>, and its raw JSON (for --json).</summary>
    public Task<(T Value, string Json)> GetAsync<T>(string path, CancellationToken ct = default) =>
        SendAsync<T>(new HttpRequestMessage(HttpMethod.Get, path.TrimStart('/')), ct);

    public Task<(T Value, string Json)> PostAsync<T>(string path, object? body, CancellationToken ct = default) =>
        SendAsync<T>(new HttpRequestMessage(HttpMethod.Post, path.TrimStart('/')) { Content = Json(body ?? new { }) }, ct);

    /// <summary>Reads a server-sent-event stream: (event name, data JSON) pairs until the server closes it.</summary>
    public async IAsyncEnumerable<(string Event, string Data)> StreamAsync(string path, object body, [EnumeratorCancellation] CancellationToken ct = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path.TrimStart('/')) { Content = Json(body) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await Call(() => _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct), ct);
        await ThrowIfError(response, ct);
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string evt = "message";
        var data = new StringBuilder();
        while (await ReadLineAsync(reader, ct) is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Length > 0) yield return (evt, data.ToString());
                evt = "message";
                data.Clear();
            }
            else if (line.StartsWith("event:", StringComparison.Ordinal)) evt = line[6..].Trim();
            else if (line.StartsWith("data:", StringComparison.Ordinal)) data.Append(line[5..].TrimStart());
            // lines starting with ':' are keep-alive comments
        }
    }

    /// <summary>
    /// One line of an event stream. The server writes at least a keep-alive comment every few
    /// seconds, so a stream silent for <see cref="StreamIdleTimeout"/> is a dead connection (a lost
    /// host, a partition), not a slow task; a connection that breaks is the node becoming unreachable.
    /// </summary>
    private async Task<string?> ReadLineAsync(StreamReader reader, CancellationToken ct)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
        idle.CancelAfter(StreamIdleTimeout);
        try
        {
            return await reader.ReadLineAsync(idle.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new NodeUnreachableException($"{Node} sent nothing for {StreamIdleTimeout.TotalSeconds:0} s: the connection is lost");
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            throw new NodeUnreachableException($"the connection to {Node} broke: {e.Message}");
        }
    }

    private async Task<(T, string)> SendAsync<T>(HttpRequestMessage request, CancellationToken ct)
    {
        using (request)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(RequestTimeout);
            using var response = await Call(() => _http.SendAsync(request, timeout.Token), ct);
            await ThrowIfError(response, ct);
            var json = await response.Content.ReadAsStringAsync(ct);
            try
            {
                return (JsonSerializer.Deserialize<T>(json, ManagementJson.Options)!, json);
            }
            catch (JsonException e)
            {
                throw new NodeErrorException(response.StatusCode, $"the node's answer is not what this CLI expects ({e.Message}); is {Node} a megaflow node of the same version?");
            }
        }
    }

    private async Task<HttpResponseMessage> Call(Func<Task<HttpResponseMessage>> send, CancellationToken ct)
    {
        try
        {
            return await send();
        }
        catch (HttpRequestException e)
        {
            var why = e.InnerException is SocketException s ? s.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => "connection refused",
                SocketError.HostNotFound or SocketError.NoData => "unknown host",
                _ => s.Message,
            } : e.Message;
            throw new NodeUnreachableException($"cannot reach the management API at {Node} ({why}); is a node running there? (--node HOST:PORT or MEGAFLOW_NODE)");
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new NodeUnreachableException($"the management API at {Node} did not answer within {RequestTimeout.TotalSeconds:0} s");
        }
    }

    private static async Task ThrowIfError(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode) return;
        var body = await response.Content.ReadAsStringAsync(ct);
        string message;
        try
        {
            message = JsonSerializer.Deserialize<ApiError>(body, ManagementJson.Options)?.Error ?? body;
        }
        catch (JsonException)
        {
            message = string.IsNullOrWhiteSpace(body) ? response.ReasonPhrase ?? "error" : body;
        }
        throw new NodeErrorException(response.StatusCode, $"{message} (HTTP {(int)response.StatusCode})");
    }

    private static StringContent Json(object body) =>
        new(JsonSerializer.Serialize(body, ManagementJson.Options), Encoding.UTF8, "application/json");

    public void Dispose() => _http.Dispose();
}
