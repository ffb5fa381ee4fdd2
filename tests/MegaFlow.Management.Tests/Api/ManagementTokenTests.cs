using System.Net;
using System.Net.Http.Headers;
using MegaFlow.Management.Tests.Infrastructure;
using MegaFlow.Node.Tests;

namespace MegaFlow.Management.Tests.Api;

/// <summary>A node without MEGAFLOW_MANAGEMENT_TOKEN keeps the token it generated across restarts.</summary>
public sealed class ManagementTokenTests : IDisposable
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "megaflow-token-tests", Guid.NewGuid().ToString("N")[..10]);
    private readonly int _api = MegaflowProcess.FreePort();

    [Fact]
    public async Task A_restarted_node_accepts_the_token_it_generated_before_the_restart()
    {
        string token;
        using (var first = await StartNodeAsync())
        {
            var file = Path.Combine(_dataDir, ManagementSettings.TokenFileName);
            token = (await File.ReadAllTextAsync(file)).Trim();
            Assert.NotEmpty(token);
            if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            Assert.Equal(HttpStatusCode.OK, await DownUnreachableAsync(token));
            first.Signal("TERM");
            Assert.True(0 == await first.WaitForExitAsync(TimeSpan.FromMinutes(1)), first.Output);
        }

        using var second = await StartNodeAsync();
        Assert.Equal(HttpStatusCode.OK, await DownUnreachableAsync(token));
        Assert.Equal(HttpStatusCode.Forbidden, await DownUnreachableAsync("not-" + token));
    }

    private async Task<MegaflowProcess> StartNodeAsync()
    {
        var node = MegaflowProcess.Start(new Dictionary<string, string>
        {
            ["MEGAFLOW_DATA_DIR"] = _dataDir,
            ["MEGAFLOW_PORT"] = MegaflowProcess.FreePort().ToString(),
            ["MEGAFLOW_MANAGEMENT_PORT"] = _api.ToString(),
            ["MEGAFLOW_MANAGEMENT_TOKEN"] = "", // not inherited from whoever runs the tests: the node must generate one
        }, "node");
        try
        {
            await CliRun.WaitReadyAsync($"127.0.0.1:{_api}", TimeSpan.FromMinutes(1), () => node.Output);
        }
        catch
        {
            node.Dispose();
            throw;
        }
        return node;
    }

    private async Task<HttpStatusCode> DownUnreachableAsync(string token)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_api}/"), Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/cluster/down-unreachable");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return (await http.SendAsync(request)).StatusCode;
    }

    public void Dispose()
    {
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
