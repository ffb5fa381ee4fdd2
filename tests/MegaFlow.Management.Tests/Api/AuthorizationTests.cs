using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MegaFlow.Management.Tests.Infrastructure;

namespace MegaFlow.Management.Tests.Api;

/// <summary>Mutating routes need the bearer token; a read-only node refuses them all; reads need nothing.</summary>
[Collection(ManagementClusterCollection.Name)]
public sealed class AuthorizationTests(ManagementClusterFixture f)
{
    public static TheoryData<string> MutatingRoutes => new()
    {
        "api/cluster/down-unreachable",
        "api/cluster/leave",
        "api/tasks/no-such-task/cancel",
        "api/environments/env-x@127.0.0.1:1/destroy",
        "api/tasks",
    };

    [Theory]
    [MemberData(nameof(MutatingRoutes))]
    public async Task A_mutating_route_answers_401_without_a_token_and_403_with_a_wrong_one(string route)
    {
        using var http = f.Http(1);
        var none = await http.PostAsync(route, Body());
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("unauthorized", await Code(none));

        using var wrong = new HttpRequestMessage(HttpMethod.Post, route) { Content = Body() };
        wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not-the-token");
        var refused = await http.SendAsync(wrong);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("forbidden", await Code(refused));
    }

    [Fact]
    public async Task A_read_only_node_refuses_changes_even_with_the_right_token_but_answers_reads()
    {
        using var http = f.Http(2);
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/cluster/down-unreachable") { Content = Body() };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ManagementClusterFixture.Token);
        var refused = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("read_only", await Code(refused));

        var cli = await f.Cli(2, "cluster", "down-unreachable");
        Assert.Equal(4, cli.ExitCode);
        Assert.Contains("read-only", cli.Output);

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("api/cluster")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("ready")).StatusCode);
    }

    [Fact]
    public async Task The_cli_with_a_wrong_token_exits_4_and_says_why()
    {
        var r = await CliRun.OnAsync(f.Cluster.Api(0), "wrong", "tasks", "cancel", "whatever");
        Assert.Equal(4, r.ExitCode);
        Assert.Contains("not this node's management token", r.Output);
        Assert.DoesNotContain("   at ", r.Output);
    }

    [Theory]
    [InlineData("not json at all", "application/json")]
    [InlineData("[{\"taskId\": 1", "application/json")]
    public async Task Without_a_token_the_body_is_never_read_a_malformed_one_still_gets_401(string body, string contentType)
    {
        // The token is checked before the route binds its body: no 400 or 415 that would tell an
        // unauthenticated caller anything, and no parsing done for it.
        using var http = f.Http(1);
        var none = await http.PostAsync("api/tasks", new StringContent(body, Encoding.UTF8, contentType));
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("unauthorized", await Code(none));
    }

    private static StringContent Body() => new("{}", Encoding.UTF8, "application/json");

    private static async Task<string?> Code(HttpResponseMessage r) =>
        JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetString();
}
