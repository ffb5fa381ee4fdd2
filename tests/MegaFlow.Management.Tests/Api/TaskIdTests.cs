using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MegaFlow.Management.Tests.Infrastructure;

namespace MegaFlow.Management.Tests.Api;

/// <summary>Task ids are URL path segments: the unusable ones are refused at submission, every accepted one can be shown.</summary>
public sealed class TaskIdTests : IAsyncLifetime
{
    private InProcessNode _node = null!;

    public async Task InitializeAsync() => _node = await InProcessNode.StartAsync();

    public async Task DisposeAsync()
    {
        if (_node is not null) await _node.DisposeAsync();
    }

    [Fact]
    public async Task Submitting_dot_or_dot_dot_is_refused_naming_taskId_and_creates_no_task()
    {
        using var http = _node.Http();
        var response = await SubmitAsync(http, Spec("."), Spec(".."));

        // Every spec of the body rejected: 422 with each one's errors (as for any invalid spec).
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var results = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.EnumerateArray().ToList();
        Assert.Equal(2, results.Count);
        foreach (var r in results)
        {
            Assert.False(r.GetProperty("accepted").GetBoolean());
            var error = Assert.Single(r.GetProperty("errors").EnumerateArray()).GetString();
            Assert.StartsWith("taskId: ", error);
        }
        var list = JsonDocument.Parse(await http.GetStringAsync("api/tasks")).RootElement;
        Assert.Equal(0, list.GetProperty("total").GetInt32());
    }

    [Theory]
    [InlineData("repo:pkg@1.0#r0")]
    [InlineData("what?x=1&y=é")]
    public async Task Tasks_show_finds_a_task_whose_id_has_url_reserved_characters(string id)
    {
        using var http = _node.Http();
        var response = await SubmitAsync(http, Spec(id));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var show = (await _node.Cli("tasks", "show", id, "--json")).Ok().Json();
        Assert.Equal(id, show.GetProperty("taskId").GetString());
        var byHttp = JsonDocument.Parse(await http.GetStringAsync($"api/tasks/{Uri.EscapeDataString(id)}")).RootElement;
        Assert.Equal(id, byHttp.GetProperty("taskId").GetString());
    }

    private static object Spec(string id) => new { taskId = id, mode = "ephemeral", image = "img", actions = new[] { "echo hi" }, scoreCommand = "exit 0" };

    private static async Task<HttpResponseMessage> SubmitAsync(HttpClient http, params object[] specs)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/tasks")
        {
            Content = new StringContent(JsonSerializer.Serialize(specs), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", InProcessNode.Token);
        return await http.SendAsync(request);
    }
}
