using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MegaFlow.Management.Tests.Infrastructure;

namespace MegaFlow.Management.Tests.Api;

/// <summary>POST /api/tasks binds each spec exactly as a dataset line is bound: unknown fields are refused, nothing is submitted.</summary>
public sealed class SubmitValidationTests : IAsyncLifetime
{
    private InProcessNode _node = null!;

    public async Task InitializeAsync() => _node = await InProcessNode.StartAsync();

    public async Task DisposeAsync()
    {
        if (_node is not null) await _node.DisposeAsync();
    }

    private const string Valid = """{"taskId":"ok-1","mode":"ephemeral","image":"img","actions":["echo hi"],"scoreCommand":"exit 0"}""";

    [Fact]
    public async Task An_unknown_field_is_refused_with_422_naming_it_and_nothing_is_submitted()
    {
        using var http = _node.Http();
        var response = await SubmitAsync(http, $$"""[{{Valid}}, {"taskId":"bad-1","mode":"ephemeral","image":"img","actions":[],"scoreCommand":"exit 0","priority":3}]""");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();
        Assert.Equal("nothing submitted: [1] unknown field 'priority'", error);
        var list = JsonDocument.Parse(await http.GetStringAsync("api/tasks")).RootElement;
        Assert.Equal(0, list.GetProperty("total").GetInt32());
    }

    [Theory]
    [InlineData(""","task_id":"x" """, "unknown field 'task_id' (did you mean 'taskId'?)")]
    [InlineData(""","maxRounds":true""", "maxRounds: must be an integer (got boolean true)")]
    [InlineData(""","actions":["a",3]""", "actions[1]: must be a string (got number 3)")]
    [InlineData(""","image":"other" """, "image: appears more than once")]
    public async Task Shape_errors_are_the_dataset_readers_errors(string extra, string expected)
    {
        using var http = _node.Http();
        var response = await SubmitAsync(http, Valid[..^1] + extra + "}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();
        Assert.Equal($"nothing submitted: {expected}", error);
    }

    [Fact]
    public async Task What_the_api_always_accepted_is_still_accepted()
    {
        // Names in any case, numbers as strings and null for "not given", as ASP.NET Core's web defaults read them.
        using var http = _node.Http();
        var response = await SubmitAsync(http, """{"TaskId":"lenient-1","mode":"ephemeral","image":"img","actions":["echo hi"],"scoreCommand":"exit 0","maxRounds":"3","pool":null,"metadata":null}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = Assert.Single(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.EnumerateArray());
        Assert.True(result.GetProperty("accepted").GetBoolean());
        Assert.Equal("lenient-1", result.GetProperty("taskId").GetString());
    }

    [Fact]
    public async Task An_agent_is_bound_and_validated_naming_agent_fields()
    {
        using var http = _node.Http();
        var shape = await SubmitAsync(http, Valid[..^1] + ""","agent":{"kind":"model","api_key_env":"K"}}""");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, shape.StatusCode);
        Assert.Equal("nothing submitted: agent: unknown field 'api_key_env' (did you mean 'apiKeyEnv'?)",
            JsonDocument.Parse(await shape.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());

        // An unknown kind is refused by the spec's validation, naming agent.kind.
        var bad = await SubmitAsync(http, """{"taskId":"agent-bad","mode":"ephemeral","image":"img","scoreCommand":"exit 0","agent":"robot"}""");
        var badBody = await bad.Content.ReadAsStringAsync();
        Assert.Contains("agent.kind: unknown agent kind 'robot'", badBody);

        // A model task needs no actions; null members are "not given", as elsewhere in the API.
        var ok = await SubmitAsync(http, """{"taskId":"agent-model","mode":"ephemeral","image":"img","scoreCommand":"exit 0","agent":{"kind":"model","endpoint":null},"metadata":{"problem_statement":"x"}}""");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var result = Assert.Single(JsonDocument.Parse(await ok.Content.ReadAsStringAsync()).RootElement.EnumerateArray());
        Assert.True(result.GetProperty("accepted").GetBoolean());
    }

    private static async Task<HttpResponseMessage> SubmitAsync(HttpClient http, string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/tasks")
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", InProcessNode.Token);
        return await http.SendAsync(request);
    }
}
