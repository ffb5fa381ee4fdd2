using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MegaFlow.Management.Tests.Infrastructure;

namespace MegaFlow.Management.Tests.Training;

/// <summary>One node with the scheduler and worker roles and no trainer, shared by a class's tests.</summary>
public sealed class NoTrainerNode : IAsyncLifetime
{
    public InProcessNode Node { get; private set; } = null!;

    public async Task InitializeAsync() => Node = await InProcessNode.StartAsync();

    public async Task DisposeAsync()
    {
        if (Node is not null) await Node.DisposeAsync();
    }
}

/// <summary>
/// The experiment routes on a node of a cluster with no trainer: reads answer 503 at once (the
/// dashboard says "no trainer node" instead of hanging), a bad spec is refused with 400 naming its
/// fields before any trainer is asked, and the changes need the token.
/// </summary>
public sealed class TrainingRoutesTests(NoTrainerNode f) : IClassFixture<NoTrainerNode>
{
    private const string ValidSpec = """{"id":"exp-1","dataset":"builtin:touch-v1","tasksPerStep":2,"replicas":2,"steps":1}""";

    [Theory]
    [InlineData("GET", "api/training/experiments")]
    [InlineData("GET", "api/training/experiments/exp-1")]
    [InlineData("POST", "api/training/experiments")]
    [InlineData("POST", "api/training/experiments/exp-1/pause")]
    public async Task Without_a_trainer_node_the_routes_answer_503_no_trainer_at_once(string method, string route)
    {
        using var http = f.Node.Http();
        var clock = Stopwatch.StartNew();
        var response = await SendAsync(http, method, route, ValidSpec, InProcessNode.Token);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"answered after {clock.Elapsed}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var body = await JsonAsync(response);
        Assert.Equal("no_trainer", body.GetProperty("code").GetString());
        Assert.Contains("no trainer node", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_spec_with_bad_values_is_refused_with_400_naming_each_field_and_the_trainer_is_not_asked()
    {
        using var http = f.Node.Http();
        // 400, not the 503 a valid spec gets on this node: the spec is checked before the trainer is asked.
        var response = await SendAsync(http, "POST", "api/training/experiments",
            """{"id":"Bad Id","dataset":"builtin:nope","replicas":1,"learningRate":2}""", InProcessNode.Token);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await JsonAsync(response);
        Assert.Equal("invalid_spec", body.GetProperty("code").GetString());
        var fields = body.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("field").GetString()).ToList();
        Assert.Equal(["id", "dataset", "replicas", "learningRate"], fields);
        Assert.Contains("replicas: must be between 2 and 1024 (got 1)", body.GetProperty("error").GetString());
    }

    [Theory]
    [InlineData("""{"id":"exp-1","dataset":"builtin:touch-v1","colour":"blue"}""", "colour", "unknown field")]
    [InlineData("""{"id":"exp-1","dataset":"builtin:touch-v1","steps":"20"}""", "steps", "")]
    [InlineData("""{"id":"exp-1","dataset":"builtin:touch-v1","steps":2,"steps":3}""", "steps", "")]
    [InlineData("not json", "spec", "")]
    public async Task A_spec_that_does_not_bind_is_refused_with_400_naming_the_field(string spec, string field, string says)
    {
        using var http = f.Node.Http();
        var response = await SendAsync(http, "POST", "api/training/experiments", spec, InProcessNode.Token);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = Assert.Single((await JsonAsync(response)).GetProperty("errors").EnumerateArray());
        Assert.Equal(field, error.GetProperty("field").GetString());
        Assert.Contains(says, error.GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("api/training/experiments")]
    [InlineData("api/training/experiments/exp-1/pause")]
    [InlineData("api/training/experiments/exp-1/resume")]
    public async Task Experiment_changes_answer_401_without_a_token_and_403_with_a_wrong_one(string route)
    {
        using var http = f.Node.Http();
        var none = await SendAsync(http, "POST", route, ValidSpec, null);
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        var wrong = await SendAsync(http, "POST", route, ValidSpec, "not-the-token");
        Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
    }

    internal static async Task<HttpResponseMessage> SendAsync(HttpClient http, string method, string route, string body, string? token)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), route);
        if (method == "POST") request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await http.SendAsync(request);
    }

    internal static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
}

/// <summary>A node with the trainer role and no experiment: an empty list, 404 naming an unknown id.</summary>
public sealed class TrainerNodeRoutesTests : IAsyncLifetime
{
    private InProcessNode _node = null!;

    public async Task InitializeAsync() => _node = await InProcessNode.StartAsync(roles: ["scheduler", "worker", "trainer"]);

    public async Task DisposeAsync()
    {
        if (_node is not null) await _node.DisposeAsync();
    }

    [Fact]
    public async Task The_list_is_empty_and_an_unknown_experiment_is_404_naming_its_id()
    {
        using var http = _node.Http();
        // The trainer singleton starts once the node is up; until then the route says so (503), briefly.
        HttpResponseMessage list = null!;
        for (var deadline = DateTime.UtcNow.AddSeconds(30); ; await Task.Delay(250))
        {
            list = await http.GetAsync("api/training/experiments");
            if (list.StatusCode != HttpStatusCode.ServiceUnavailable || DateTime.UtcNow > deadline) break;
        }
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Equal(0, (await TrainingRoutesTests.JsonAsync(list)).GetArrayLength());

        var show = await http.GetAsync("api/training/experiments/no-such-experiment");
        Assert.Equal(HttpStatusCode.NotFound, show.StatusCode);
        Assert.Contains("no experiment 'no-such-experiment'", (await TrainingRoutesTests.JsonAsync(show)).GetProperty("error").GetString());

        var pause = await TrainingRoutesTests.SendAsync(http, "POST", "api/training/experiments/no-such-experiment/pause", "{}", InProcessNode.Token);
        Assert.Equal(HttpStatusCode.NotFound, pause.StatusCode);
    }
}
