using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using MegaFlow.Hosting;
using MegaFlow.Management;
using MegaFlow.Node;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MegaFlow.Dashboard.Tests.Infrastructure;

/// <summary>
/// A real node in the test process, built by the executable's own <see cref="NodeHost"/>: SQLite
/// journal, local-process environments (the tasks' commands really run), the management API with a
/// known token, and the dashboard it serves.
/// </summary>
public sealed class DashboardNode : IAsyncDisposable
{
    public const string Token = "dashboard-test-token";

    private readonly IHost _host;
    private readonly string _dir;

    private DashboardNode(IHost host, string dir, int port)
    {
        _host = host;
        _dir = dir;
        BaseUrl = $"http://127.0.0.1:{port}";
    }

    /// <summary>"http://127.0.0.1:PORT" of the management API and dashboard.</summary>
    public string BaseUrl { get; }

    public ManagementNode Node => _host.Services.GetRequiredService<ManagementNode>();

    public static async Task<DashboardNode> StartAsync()
    {
        var dir = Path.Combine(Path.GetTempPath(), "megaflow-dashboard", Guid.NewGuid().ToString("N")[..10]);
        var port = FreePort();
        var host = NodeHost.Build(
            new NodeSettings { Port = 0, DataDir = dir, Provider = "local", Roles = ["scheduler", "worker"] },
            LogLevel.Warning,
            new ManagementSettings { Port = port, Token = Token, TokenFile = Path.Combine(dir, ManagementSettings.TokenFileName) });
        var node = new DashboardNode(host, dir, port);
        try
        {
            await host.StartAsync();
            await Eventually.HoldsAsync(async () =>
            {
                using var http = node.Http();
                try { return (await http.GetAsync("/ready")).IsSuccessStatusCode; }
                catch (HttpRequestException) { return false; }
            }, TimeSpan.FromMinutes(1), "the node is ready");
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
        return node;
    }

    public HttpClient Http(bool withToken = false)
    {
        var http = new HttpClient { BaseAddress = new Uri(BaseUrl + "/"), Timeout = TimeSpan.FromSeconds(60) };
        if (withToken) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return http;
    }

    /// <summary>Submits tasks running real shell commands (dataset-line JSON, as POST /api/tasks takes it).</summary>
    public async Task SubmitAsync(params object[] specs)
    {
        using var http = Http(withToken: true);
        var body = new StringContent(JsonSerializer.Serialize(specs), Encoding.UTF8, "application/json");
        var response = await http.PostAsync("api/tasks", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"submit answered {(int)response.StatusCode}: {text}");
    }

    public static object Spec(string id, params string[] actions) =>
        new { taskId = id, mode = "ephemeral", image = "dash", actions, scoreCommand = "exit 0" };

    /// <summary>
    /// Waits until the task itself (its entity, GET /api/tasks/{id}) is running. The read model's row
    /// can show "provisioning" for as long as the first command runs: it trails the journal.
    /// </summary>
    public async Task WaitUntilRunningAsync(string id, TimeSpan timeout)
    {
        using var http = Http();
        await Eventually.HoldsAsync(async () =>
        {
            var response = await http.GetAsync($"api/tasks/{id}");
            if (!response.IsSuccessStatusCode) return false;
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return doc.RootElement.GetProperty("status").GetString() == "running";
        }, timeout, () => $"task '{id}' is running ({Detail(id)})");
    }

    /// <summary>The task's status as the node's read model lists it.</summary>
    public async Task<string?> StatusAsync(string id)
    {
        using var http = Http();
        using var doc = JsonDocument.Parse(await http.GetStringAsync($"api/tasks?q={Uri.EscapeDataString(id)}"));
        return doc.RootElement.GetProperty("tasks").EnumerateArray()
            .FirstOrDefault(t => t.GetProperty("taskId").GetString() == id) is { ValueKind: JsonValueKind.Object } row
            ? row.GetProperty("status").GetString()
            : null;
    }

    public async Task WaitForStatusAsync(string id, string status, TimeSpan timeout)
    {
        var seen = new List<string?>();
        await Eventually.HoldsAsync(async () =>
        {
            var now = await StatusAsync(id);
            if (seen.Count == 0 || seen[^1] != now) seen.Add(now);
            return now == status;
        }, timeout, () => $"task '{id}' is {status} (seen: {string.Join(" → ", seen.Select(s => s ?? "not listed"))}; {Detail(id)})");
    }

    private string Detail(string id)
    {
        using var http = Http();
        try { return http.GetStringAsync($"api/tasks/{id}").GetAwaiter().GetResult(); }
        catch (HttpRequestException e) { return e.Message; }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _host.StopAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            _host.Dispose();
            try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}

public static class Eventually
{
    /// <summary>Polls until the condition holds, or fails naming <paramref name="what"/>.</summary>
    public static Task HoldsAsync(Func<Task<bool>> condition, TimeSpan timeout, string what) => HoldsAsync(condition, timeout, () => what);

    public static async Task HoldsAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out after {timeout.TotalSeconds:0} s waiting until {what()}");
            await Task.Delay(200);
        }
    }
}
