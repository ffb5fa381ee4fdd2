using System.Diagnostics;
using MegaFlow.Agents.Model;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Agents;

namespace MegaFlow.Agents.Tests;

/// <summary>The model agent against real HTTP endpoints on loopback, through the official OpenAI client.</summary>
public sealed class ModelAgentTests
{
    private static readonly ModelAgentSettings Fast = new()
    {
        Retries = 2,
        RetryBackoff = TimeSpan.FromMilliseconds(50),
        RequestTimeout = TimeSpan.FromSeconds(10),
    };

    private static AgentContext Context(string endpoint, AgentSpec? agent = null, params Step[] steps)
    {
        var spec = new TaskSpec
        {
            TaskId = "t1", Mode = "ephemeral", Image = "img", ScoreCommand = "true",
            Agent = agent ?? new AgentSpec { Kind = AgentKinds.Model, Endpoint = endpoint, Model = "tiny" },
            Metadata = new Dictionary<string, string> { ["problem_statement"] = "Make tests pass." },
        };
        Assert.Empty(TaskSpecValidator.Validate(spec));
        return new AgentContext("t1", 1, spec, steps);
    }

    [Fact]
    public async Task A_reply_with_one_bash_block_is_the_next_command_and_the_request_carries_the_conversation()
    {
        await using var server = ChatServer.Replying("Let me look.\n```bash\nls -la\n```");
        var agent = new ModelAgent(Fast);
        var step = new Step(1, "pwd", 0, "/work\n", false, false, DateTimeOffset.UnixEpoch, 1, null);

        var decision = await agent.DecideAsync(Context(server.BaseUrl, steps: step), CancellationToken.None);

        Assert.Equal("ls -la", decision.Command);
        var request = Assert.Single(server.Requests);
        Assert.Equal("/v1/chat/completions", request.Path);
        Assert.Equal("tiny", request.Body.GetProperty("model").GetString());
        var roles = request.Body.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("role").GetString()).ToList();
        Assert.Equal(["system", "user", "assistant", "user"], roles);
        Assert.Contains("Make tests pass.", request.Body.GetProperty("messages")[1].GetProperty("content").GetRawText());
    }

    [Fact]
    public async Task A_base_url_with_a_trailing_slash_reaches_the_same_path()
    {
        await using var server = ChatServer.Replying("```bash\nls\n```");
        var spec = new AgentSpec { Kind = AgentKinds.Model, Endpoint = server.BaseUrl + "/", Model = "tiny" };

        await new ModelAgent(Fast).DecideAsync(Context(server.BaseUrl, spec), CancellationToken.None);

        Assert.Equal("/v1/chat/completions", Assert.Single(server.Requests).Path);
    }

    [Fact]
    public async Task Submit_ends_the_rounds()
    {
        await using var server = ChatServer.Replying("Done.\n```bash\nsubmit\n```");
        Assert.True((await new ModelAgent(Fast).DecideAsync(Context(server.BaseUrl), CancellationToken.None)).IsSubmit);
    }

    [Fact]
    public async Task Sampling_settings_of_the_spec_reach_the_request()
    {
        await using var server = ChatServer.Replying("```bash\nls\n```");
        var spec = new AgentSpec { Kind = AgentKinds.Model, Endpoint = server.BaseUrl, Model = "tiny", Temperature = 0.25, MaxTokens = 77 };

        await new ModelAgent(Fast).DecideAsync(Context(server.BaseUrl, spec), CancellationToken.None);

        var body = Assert.Single(server.Requests).Body;
        Assert.Equal(0.25, body.GetProperty("temperature").GetDouble(), 3);
        // The OpenAI library sends max_completion_tokens (vLLM and our model service read it).
        Assert.Equal(77, body.GetProperty("max_completion_tokens").GetInt32());
    }

    [Fact]
    public async Task A_format_error_is_told_to_the_model_within_the_same_round()
    {
        await using var server = ChatServer.Replying("I think we should list files.", "```bash\nls\n```");

        var decision = await new ModelAgent(Fast).DecideAsync(Context(server.BaseUrl), CancellationToken.None);

        Assert.Equal("ls", decision.Command);
        var second = server.Requests.ElementAt(1).Body.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal("I think we should list files.", second[^2].GetProperty("content").GetRawText().Trim('"'));
        Assert.Contains("Format error: The reply had no ```bash code block", second[^1].GetProperty("content").GetRawText());
    }

    [Fact]
    public async Task A_model_that_keeps_breaking_the_format_fails_as_the_agent_after_the_format_retries()
    {
        await using var server = ChatServer.Replying("no block, ever");

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => new ModelAgent(Fast).DecideAsync(Context(server.BaseUrl), CancellationToken.None).AsTask());

        Assert.Equal(1 + Fast.FormatRetries, server.Requests.Count);
        Assert.Contains("broke the reply format 3 time(s)", e.Message);
    }

    [Fact]
    public async Task An_unreachable_endpoint_is_an_infrastructure_failure_naming_it_after_the_retries()
    {
        using var closed = new ClosedPort();
        var clock = Stopwatch.StartNew();

        var e = await Assert.ThrowsAsync<AgentInfrastructureException>(() =>
            new ModelAgent(Fast).DecideAsync(Context(closed.BaseUrl), CancellationToken.None).AsTask());

        Assert.Equal(closed.BaseUrl, e.Resource.TrimEnd('/'));
        Assert.Contains($"model endpoint {closed.BaseUrl}", e.Message);
        Assert.Contains("failed 3 time(s) in a row", e.Message);
        Assert.Contains("refused", e.Message, StringComparison.OrdinalIgnoreCase);
        // Backoff 50 ms then 100 ms between the three calls.
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(150), $"took {clock.Elapsed.TotalMilliseconds} ms: no backoff");
    }

    [Fact]
    public async Task A_5xx_answer_is_retried_and_then_an_infrastructure_failure_naming_the_endpoint()
    {
        await using var server = new ChatServer(_ => (503, "model is loading"));

        var e = await Assert.ThrowsAsync<AgentInfrastructureException>(() =>
            new ModelAgent(Fast).DecideAsync(Context(server.BaseUrl), CancellationToken.None).AsTask());

        Assert.Equal(1 + Fast.Retries, server.Requests.Count);
        Assert.Contains($"model endpoint {server.BaseUrl}", e.Message);
        Assert.Contains("HTTP 503", e.Message);
    }

    [Fact]
    public async Task A_5xx_that_recovers_within_the_retries_is_no_failure()
    {
        var calls = 0;
        await using var server = new ChatServer(_ => Interlocked.Increment(ref calls) == 1 ? (500, "oops") : (200, "```bash\nls\n```"));

        var decision = await new ModelAgent(Fast).DecideAsync(Context(server.BaseUrl), CancellationToken.None);

        Assert.Equal("ls", decision.Command);
        Assert.Equal(2, server.Requests.Count);
    }

    [Fact]
    public async Task A_4xx_answer_is_the_agents_failure_at_once()
    {
        await using var server = new ChatServer(_ => (404, "The model 'tiny' does not exist"));

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            new ModelAgent(Fast).DecideAsync(Context(server.BaseUrl), CancellationToken.None).AsTask());

        Assert.Single(server.Requests);
        Assert.Contains("HTTP 404", e.Message);
        Assert.Contains(server.BaseUrl, e.Message);
    }

    [Fact]
    public async Task The_api_key_is_read_from_the_named_variable_on_the_node_and_sent_as_a_bearer_token()
    {
        await using var server = ChatServer.Replying("```bash\nls\n```");
        var spec = new AgentSpec { Kind = AgentKinds.Model, Endpoint = server.BaseUrl, Model = "tiny", ApiKeyEnv = "TEST_MODEL_KEY" };
        var agent = new ModelAgent(Fast, name => name == "TEST_MODEL_KEY" ? "sk-test-123" : null);

        await agent.DecideAsync(Context(server.BaseUrl, spec), CancellationToken.None);

        Assert.Equal("Bearer sk-test-123", Assert.Single(server.Requests).Authorization);
    }

    [Fact]
    public async Task A_missing_key_variable_is_an_infrastructure_failure_naming_the_variable()
    {
        await using var server = ChatServer.Replying("```bash\nls\n```");
        var spec = new AgentSpec { Kind = AgentKinds.Model, Endpoint = server.BaseUrl, Model = "tiny", ApiKeyEnv = "NOT_SET_ANYWHERE" };

        var e = await Assert.ThrowsAsync<AgentInfrastructureException>(() =>
            new ModelAgent(Fast, _ => null).DecideAsync(Context(server.BaseUrl, spec), CancellationToken.None).AsTask());

        Assert.Contains("NOT_SET_ANYWHERE", e.Message);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task Without_an_endpoint_in_the_spec_the_configured_model_service_and_model_are_used()
    {
        await using var server = ChatServer.Replying("```bash\nls\n```");
        var settings = Fast with { DefaultEndpoint = new Uri(server.BaseUrl), DefaultModel = "policy-v3" };

        await new ModelAgent(settings).DecideAsync(Context(server.BaseUrl, new AgentSpec { Kind = AgentKinds.Model }), CancellationToken.None);

        Assert.Equal("policy-v3", Assert.Single(server.Requests).Body.GetProperty("model").GetString());
    }

    [Fact]
    public async Task The_router_runs_the_kind_the_spec_names()
    {
        await using var server = ChatServer.Replying("```bash\necho from-model\n```");
        var router = AgentRouter.Create(Fast);
        var scripted = new TaskSpec { TaskId = "s", Mode = "ephemeral", Image = "i", ScoreCommand = "true", Actions = ["echo scripted"] };

        Assert.Equal("echo scripted", (await router.DecideAsync(new AgentContext("s", 1, scripted, []), CancellationToken.None)).Command);
        Assert.Equal("echo from-model", (await router.DecideAsync(Context(server.BaseUrl), CancellationToken.None)).Command);
    }
}
