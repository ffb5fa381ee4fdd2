using System.Diagnostics;
using MegaFlow.Contracts;
using System.Net;
using System.Text.Json;
using Akka.Actor;
using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Environments;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using MegaFlow.Management.Tests.Infrastructure;
using static MegaFlow.Contracts.Environments.EnvironmentProtocol;

namespace MegaFlow.Management.Tests.Api;

/// <summary>One node with two healthy environments and one whose actor is stuck in its provider.</summary>
public sealed class StuckEnvironmentFixture : IAsyncLifetime
{
    public const string Stuck = "env-stuck-1";
    public static readonly string[] Healthy = ["env-ok-1", "env-ok-2"];

    private readonly StuckProvider _provider = new();

    public InProcessNode Node { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Node = await InProcessNode.StartAsync(_provider);
        var environments = Node.Node.Refs.Environments;
        var spec = new EnvironmentSpec("img", "pool-a", ExecutionMode.Ephemeral);
        foreach (var id in Healthy)
            Assert.IsType<EnvironmentReady>(await environments.Ask<object>(new Provision(id, spec, $"task-{id}", 1), TimeSpan.FromSeconds(30)));
        environments.Tell(new Provision(Stuck, spec, "task-stuck", 1));
        // Live (listed by its region) once its actor has persisted the request and entered the provider.
        using var http = Node.Http();
        await CliRun.Eventually(async () => (await http.GetStringAsync("api/sharding/environment/shards?entities=true")).Contains(Stuck),
            TimeSpan.FromSeconds(30), "the stuck environment is live");
    }

    public async Task DisposeAsync()
    {
        _provider.Release(); // or the node could not stop the stuck actor
        if (Node is not null) await Node.DisposeAsync();
    }
}

/// <summary>An environment actor that does not answer must not hide the others, nor fail the listing.</summary>
public sealed class UnresponsiveEnvironmentTests(StuckEnvironmentFixture f) : IClassFixture<StuckEnvironmentFixture>
{
    [Fact]
    public async Task Listing_environments_answers_within_its_deadline_with_the_healthy_ones_and_names_the_stuck_one()
    {
        using var http = f.Node.Http();
        var clock = Stopwatch.StartNew();
        var response = await http.GetAsync("api/environments");
        clock.Stop();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"answered in {clock.Elapsed}, the listing's deadline is 10 s");
        var list = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var rows = list.GetProperty("environments").EnumerateArray().Select(e => e.GetProperty("environmentId").GetString()).ToList();
        Assert.Equal(StuckEnvironmentFixture.Healthy, rows);
        var unanswered = Assert.Single(list.GetProperty("unanswered").EnumerateArray());
        Assert.Equal(StuckEnvironmentFixture.Stuck, unanswered.GetProperty("environmentId").GetString());
        Assert.Contains("no answer within", unanswered.GetProperty("reason").GetString());

        // A status filter cannot know the stuck one's status: it is still named.
        var leased = JsonDocument.Parse(await http.GetStringAsync("api/environments?status=leased")).RootElement;
        Assert.Equal(2, leased.GetProperty("environments").GetArrayLength());
        Assert.Equal(StuckEnvironmentFixture.Stuck, Assert.Single(leased.GetProperty("unanswered").EnumerateArray()).GetProperty("environmentId").GetString());
    }

    [Fact]
    public async Task The_cli_lists_the_healthy_environments_names_the_stuck_one_and_exits_0()
    {
        var r = await f.Node.Cli("envs", "list");

        r.Ok();
        foreach (var id in StuckEnvironmentFixture.Healthy) Assert.Contains(id, r.Output);
        Assert.Contains("2 environment(s)", r.Output);
        Assert.Contains("1 environment(s) did not answer", r.Output);
        Assert.Contains($"  {StuckEnvironmentFixture.Stuck} on ", r.Output);
    }

    [Fact]
    public async Task Showing_the_stuck_environment_answers_504_naming_it_and_logs_one_line_without_a_stack_trace()
    {
        using var http = f.Node.Http();
        var response = await http.GetAsync($"api/environments/{StuckEnvironmentFixture.Stuck}");

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("timeout", error.GetProperty("code").GetString());
        Assert.Equal($"environment '{StuckEnvironmentFixture.Stuck}' did not answer within 5 s", error.GetProperty("error").GetString());

        var logged = f.Node.Log.Entries.Where(e => e.Text.Contains(StuckEnvironmentFixture.Stuck) && e.Category.StartsWith("MegaFlow.Management", StringComparison.Ordinal)).ToList();
        var line = Assert.Single(logged);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, line.Level);
        Assert.Contains("504 timeout", line.Text);
        // Not the exception handler's "unhandled exception" entry with its stack trace.
        Assert.DoesNotContain(f.Node.Log.Entries.Where(e => e.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) || e.Category.StartsWith("MegaFlow.Management", StringComparison.Ordinal)),
            e => e.Exception is not null || e.Text.Contains("   at ", StringComparison.Ordinal));
    }
}
