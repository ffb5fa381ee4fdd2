using MegaFlow.Hosting;
using MegaFlow.Environments;
using MegaFlow.Management;
using MegaFlow.Node;
using MegaFlow.Node.Tests;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MegaFlow.Management.Tests.Infrastructure;

/// <summary>
/// One node in the test process, built by the executable's own <see cref="NodeHost"/> (SQLite, so no
/// PostgreSQL), with an environment provider the test controls and the log captured: for behaviour a
/// node process cannot be made to show, like an environment actor whose thread is stuck.
/// </summary>
public sealed class InProcessNode : IAsyncDisposable
{
    public const string Token = "in-process-token";

    private readonly IHost _host;
    private readonly string _dir;

    private InProcessNode(IHost host, string dir, int port, CapturedLog log)
    {
        _host = host;
        _dir = dir;
        Api = $"127.0.0.1:{port}";
        Log = log;
    }

    /// <summary>"127.0.0.1:PORT" of the management API, for the CLI's MEGAFLOW_NODE.</summary>
    public string Api { get; }

    /// <summary>The node's data folder (its SQLite journal): MEGAFLOW_DATA_DIR for the journal commands.</summary>
    public string DataDir => _dir;

    /// <summary>Everything the node logged at Warning and above.</summary>
    public CapturedLog Log { get; }

    /// <summary>The node's actors as the management API sees them.</summary>
    public ManagementNode Node => _host.Services.GetRequiredService<ManagementNode>();

    /// <param name="roles">Default: scheduler and worker (no trainer).</param>
    /// <param name="seeds">Seeds to join instead of founding a cluster; then the node is not waited for to be ready, only for its actors.</param>
    public static async Task<InProcessNode> StartAsync(IEnvironmentProvider? provider = null, IReadOnlyList<string>? roles = null, IReadOnlyList<string>? seeds = null)
    {
        var dir = Path.Combine(Path.GetTempPath(), "megaflow-inproc", Guid.NewGuid().ToString("N")[..10]);
        var port = MegaflowProcess.FreePort();
        var log = new CapturedLog();
        var host = NodeHost.Build(
            new NodeSettings { Port = 0, DataDir = dir, Provider = "simulated", Roles = roles ?? ["scheduler", "worker"], Seeds = seeds ?? [] },
            LogLevel.Warning,
            new ManagementSettings { Port = port, Token = Token, TokenFile = Path.Combine(dir, ManagementSettings.TokenFileName) },
            provider: provider,
            logging: l => l.AddProvider(log));
        var node = new InProcessNode(host, dir, port, log);
        try
        {
            await host.StartAsync();
            if (seeds is null) await CliRun.WaitReadyAsync(node.Api, TimeSpan.FromMinutes(1), () => string.Join("\n", log.Lines));
            else await CliRun.Eventually(() => Task.FromResult(node.Node.ActorsStarted), TimeSpan.FromMinutes(1), "the node's actors started");
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
        return node;
    }

    public HttpClient Http() => new() { BaseAddress = new Uri($"http://{Api}/"), Timeout = TimeSpan.FromSeconds(60) };

    public Task<CliResult> Cli(params string[] args) => CliRun.OnAsync(Api, Token, args);

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
}
