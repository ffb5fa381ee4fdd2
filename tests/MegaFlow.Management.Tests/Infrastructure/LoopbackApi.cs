using System.Net;
using System.Net.Sockets;
using System.Text;

namespace MegaFlow.Management.Tests.Infrastructure;

/// <summary>
/// A real HTTP server on loopback standing in for a node's management API: each request (method,
/// path and query, body) gets the status and JSON the test's handler gives, so the CLI is run
/// exactly as against a node, without one.
/// </summary>
public sealed class LoopbackApi : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<string, string, string, (int Status, string Json)> _answer;

    /// <param name="answer">(method, path and query, body) → (status, JSON body).</param>
    public LoopbackApi(Func<string, string, string, (int Status, string Json)> answer)
    {
        _answer = answer;
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Address = $"127.0.0.1:{port}";
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _ = Task.Run(Loop);
    }

    /// <summary>host:port, as --node takes it.</summary>
    public string Address { get; }

    private async Task Loop()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            using var reader = new StreamReader(ctx.Request.InputStream, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            var (status, json) = _answer(ctx.Request.HttpMethod, ctx.Request.Url!.PathAndQuery, body);
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = "application/json";
            var bytes = Encoding.UTF8.GetBytes(json);
            await ctx.Response.OutputStream.WriteAsync(bytes);
            ctx.Response.Close();
        }
    }

    public void Dispose() => _listener.Close();
}
