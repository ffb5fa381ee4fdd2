using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace MegaFlow.Agents.Tests;

/// <summary>One request as the server saw it.</summary>
public sealed record ChatRequest(string Path, string? Authorization, JsonElement Body);

/// <summary>
/// A real HTTP server on loopback that answers <c>POST /v1/chat/completions</c> the way an OpenAI-compatible
/// endpoint does, with whatever the test's handler says: a reply text, or an error status.
/// </summary>
public sealed class ChatServer : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<ChatRequest, (int Status, string? Reply)> _handler;
    private readonly Task _loop;

    public ChatServer(Func<ChatRequest, (int Status, string? Reply)> handler)
    {
        _handler = handler;
        var port = FreePort();
        BaseUrl = $"http://127.0.0.1:{port}/v1";
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>The OpenAI-style base URL (…/v1).</summary>
    public string BaseUrl { get; }

    public ConcurrentQueue<ChatRequest> Requests { get; } = new();

    /// <summary>A server whose every answer is <paramref name="reply"/>.</summary>
    public static ChatServer Replying(params string[] replies)
    {
        var next = 0;
        return new ChatServer(_ => (200, replies[Math.Min(Interlocked.Increment(ref next) - 1, replies.Length - 1)]));
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try
            {
                ctx = await _listener.GetContextAsync();
            }
            catch (Exception) when (!_listener.IsListening)
            {
                return;
            }
            using var reader = new StreamReader(ctx.Request.InputStream, Encoding.UTF8);
            using var doc = JsonDocument.Parse(await reader.ReadToEndAsync());
            var request = new ChatRequest(ctx.Request.Url!.AbsolutePath, ctx.Request.Headers["Authorization"], doc.RootElement.Clone());
            Requests.Enqueue(request);
            var (status, reply) = _handler(request);
            var body = status == 200
                ? JsonSerializer.Serialize(new
                {
                    id = "chatcmpl-test", @object = "chat.completion", created = 0, model = request.Body.GetProperty("model").GetString(),
                    choices = new[] { new { index = 0, message = new { role = "assistant", content = reply }, finish_reason = "stop" } },
                    usage = new { prompt_tokens = 10, completion_tokens = 5, total_tokens = 15 },
                })
                : JsonSerializer.Serialize(new { error = new { message = reply ?? $"status {status}", type = "server_error", param = (string?)null, code = (string?)null } });
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = "application/json";
            var bytes = Encoding.UTF8.GetBytes(body);
            await ctx.Response.OutputStream.WriteAsync(bytes);
            ctx.Response.Close();
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        try { await _loop; } catch (ObjectDisposedException) { }
    }
}

/// <summary>
/// A loopback port that is bound but not listening: a connection to it is refused, and nothing
/// else can take the port while the test holds it. The honest "unreachable endpoint".
/// </summary>
public sealed class ClosedPort : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public ClosedPort()
    {
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Port = ((IPEndPoint)_socket.LocalEndPoint!).Port;
    }

    public int Port { get; }

    public string BaseUrl => $"http://127.0.0.1:{Port}/v1";

    public void Dispose() => _socket.Dispose();
}
