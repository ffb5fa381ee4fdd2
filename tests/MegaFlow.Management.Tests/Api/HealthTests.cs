using System.Net;
using System.Text.Json;
using MegaFlow.Management.Tests.Infrastructure;
using MegaFlow.Node.Tests;

namespace MegaFlow.Management.Tests.Api;

/// <summary>
/// /alive and /ready come from the host's health checks (NodeHealthChecks, registered with Akka.Hosting):
/// a node is ready only while it is an Up member, and says why not; alive while its actor system runs.
/// </summary>
public sealed class HealthTests
{
    [Fact]
    public async Task A_node_that_cannot_reach_its_seeds_is_alive_but_not_ready_and_says_why()
    {
        var nowhere = $"akka.tcp://megaflow@127.0.0.1:{MegaflowProcess.FreePort()}";
        await using var node = await InProcessNode.StartAsync(seeds: [nowhere]);
        using var http = node.Http();

        var alive = await http.GetAsync("alive");
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
        Assert.Equal("alive", Json(await alive.Content.ReadAsStringAsync()).GetProperty("status").GetString());

        var ready = await http.GetAsync("ready");
        var body = await ready.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var json = Json(body);
        Assert.False(json.GetProperty("ready").GetBoolean());
        Assert.NotEqual("up", json.GetProperty("memberStatus").GetString());
        Assert.Contains(json.GetProperty("problems").EnumerateArray(), p => p.GetString()!.StartsWith("member status is ", StringComparison.Ordinal) && p.GetString()!.EndsWith(", not up", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_founding_node_is_ready_with_no_problems_and_alive()
    {
        await using var node = await InProcessNode.StartAsync();
        using var http = node.Http();
        var ready = await http.GetAsync("ready");
        var json = Json(await ready.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("up", json.GetProperty("memberStatus").GetString());
        Assert.Empty(json.GetProperty("problems").EnumerateArray());
        Assert.Equal(["scheduler", "worker"], json.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("alive")).StatusCode);
    }

    private static JsonElement Json(string body) => JsonDocument.Parse(body).RootElement.Clone();
}
