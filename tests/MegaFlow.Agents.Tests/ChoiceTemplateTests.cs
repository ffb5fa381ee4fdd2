using MegaFlow.Agents.Model;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Agents;
using MegaFlow.Model.Inference;
using MegaFlow.Model.Policy;
using MegaFlow.ModelService.Hosting;

namespace MegaFlow.Agents.Tests;

/// <summary>
/// The model agent's constrained-choice template (choice-v1): the spec's actions plus submit are the
/// candidates, sent as guided_choice; the reply must be one of them.
/// </summary>
public sealed class ChoiceTemplateTests
{
    private static readonly ModelAgentSettings Fast = new()
    {
        Retries = 2,
        RetryBackoff = TimeSpan.FromMilliseconds(50),
        RequestTimeout = TimeSpan.FromSeconds(30),
    };

    private static readonly string[] Actions = ["echo one > a.txt", "cat a.txt", "true", "cat a.txt"];

    private static readonly string[] Candidates = ["echo one > a.txt", "cat a.txt", "true", "submit"];

    private static TaskSpec Spec(string? endpoint, string? model, IReadOnlyList<string>? actions = null) => new()
    {
        TaskId = "c1", Mode = "ephemeral", Image = "img", ScoreCommand = "test -f a.txt", MaxRounds = 4,
        Actions = actions ?? Actions,
        Agent = new AgentSpec { Kind = AgentKinds.Model, Endpoint = endpoint, Model = model, Template = AgentSpec.ChoiceTemplate },
        Metadata = new Dictionary<string, string> { ["problem_statement"] = "Create a.txt." },
    };

    private static AgentContext Context(TaskSpec spec, params Step[] steps)
    {
        Assert.Empty(TaskSpecValidator.Validate(spec));
        return new AgentContext(spec.TaskId!, 1, spec, steps);
    }

    private static Step Ran(int round, string command, string output = "") =>
        new(round, command, 0, output, false, false, DateTimeOffset.UnixEpoch, 1, null);

    [Fact]
    public void The_candidates_are_the_distinct_actions_in_order_then_submit()
    {
        Assert.Equal(Candidates, ReplyParser.ChoiceCandidates(Spec(null, null)));
        // An action that is itself submit is the same candidate, listed once and last.
        Assert.Equal(["ls", "submit"], ReplyParser.ChoiceCandidates(Spec(null, null, ["submit", "ls", "ls"])));
    }

    [Theory]
    [InlineData(null)]
    [InlineData(0)]
    public void Choice_v1_without_actions_is_rejected_naming_actions(int? count)
    {
        var spec = Spec(null, null) with { Actions = count is null ? null : [] };

        var error = Assert.Single(TaskSpecValidator.Validate(spec));

        Assert.Equal("actions", error.Field);
        Assert.Contains("choice-v1", error.Message);
    }

    [Fact]
    public void Swe_v1_still_needs_no_actions_and_an_unknown_template_names_the_known_ones()
    {
        Assert.Empty(TaskSpecValidator.Validate(Spec(null, null) with { Actions = null, Agent = new AgentSpec { Kind = AgentKinds.Model } }));
        var error = Assert.Single(TaskSpecValidator.Validate(Spec(null, null) with { Agent = new AgentSpec { Kind = AgentKinds.Model, Template = "choice-v9" } }));
        Assert.Equal("agent.template", error.Field);
        Assert.Contains("choice-v1", error.Message);
    }

    [Fact]
    public void The_system_prompt_lists_the_candidates_and_earlier_choices_are_shown_as_chosen()
    {
        var turns = Conversation.Build(Context(Spec(null, null), Ran(1, "cat a.txt", "nope")), PromptTemplate.ChoiceV1, 4000);

        Assert.Contains("Candidates:\necho one > a.txt\ncat a.txt\ntrue\nsubmit", turns[0].Content);
        Assert.Contains("at most 4 commands", turns[0].Content);
        Assert.Contains("Create a.txt.", turns[1].Content);
        Assert.Equal(new ChatTurn(ChatRole.Assistant, "cat a.txt"), turns[2]);
        Assert.Contains("nope", turns[3].Content);
    }

    [Fact]
    public async Task The_request_carries_guided_choice_and_a_candidate_reply_is_the_decision()
    {
        await using var server = ChatServer.Replying("cat a.txt", "submit");
        var agent = new ModelAgent(Fast);
        var context = Context(Spec(server.BaseUrl, "tiny"));

        var first = await agent.DecideAsync(context, CancellationToken.None);
        var second = await agent.DecideAsync(context, CancellationToken.None);

        Assert.Equal("cat a.txt", first.Command);
        Assert.True(second.IsSubmit);
        Assert.All(server.Requests, r =>
            Assert.Equal(Candidates, r.Body.GetProperty("guided_choice").EnumerateArray().Select(e => e.GetString())));
    }

    [Fact]
    public async Task A_swe_v1_request_carries_no_guided_choice()
    {
        await using var server = ChatServer.Replying("```bash\nls\n```");
        var spec = Spec(server.BaseUrl, "tiny") with { Agent = new AgentSpec { Kind = AgentKinds.Model, Endpoint = server.BaseUrl, Model = "tiny" } };

        await new ModelAgent(Fast).DecideAsync(Context(spec), CancellationToken.None);

        Assert.False(Assert.Single(server.Requests).Body.TryGetProperty("guided_choice", out _));
    }

    [Fact]
    public async Task An_endpoint_that_ignores_guided_choice_fails_the_agent_naming_the_reply_after_the_format_retries()
    {
        // A bash block is a fine swe-v1 reply, but not a candidate.
        await using var server = ChatServer.Replying("```bash\nrm -rf /\n```");

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            new ModelAgent(Fast).DecideAsync(Context(Spec(server.BaseUrl, "tiny")), CancellationToken.None).AsTask());

        Assert.Equal(1 + Fast.FormatRetries, server.Requests.Count);
        Assert.Contains("broke the reply format 3 time(s)", e.Message);
        Assert.Contains("rm -rf /", e.Message);
        Assert.Contains("not one of the candidates", e.Message);
        // The retry told the model what it may answer.
        var last = server.Requests.Last().Body.GetProperty("messages").EnumerateArray().Last().GetProperty("content").GetString();
        Assert.Contains("echo one > a.txt | cat a.txt | true | submit", last);
    }

    [Fact]
    public async Task A_near_miss_is_not_a_candidate_and_a_later_candidate_reply_is_still_taken()
    {
        await using var server = ChatServer.Replying("true\n", "true");

        var decision = await new ModelAgent(Fast).DecideAsync(Context(Spec(server.BaseUrl, "tiny")), CancellationToken.None);

        Assert.Equal("true", decision.Command);
        Assert.Equal(2, server.Requests.Count);
    }

    [Fact]
    public async Task Against_our_model_service_every_decision_over_many_rounds_is_a_candidate()
    {
        const string name = "choice-policy";
        // A randomly initialised policy: it never writes a bash block, but guided_choice makes it answer.
        var engine = new InferenceEngine(PolicyModel.CreateInitial(name, new PolicyConfig { ContextLength = 4096 }, seed: 7));
        var server = await ModelServer.StartAsync(engine);
        try
        {
            var agent = new ModelAgent(Fast);
            var baseUrl = new Uri(server.BaseAddress, "v1").ToString();
            var spec = Spec(baseUrl, name) with { MaxRounds = 40 };
            var steps = new List<Step>();
            var decisions = new List<string>();
            // Each round continues the trajectory with whatever was chosen, so the prompts differ;
            // a submit is recorded and the next round asked again from the same steps.
            for (var round = 0; round < 40; round++)
            {
                var decision = await agent.DecideAsync(Context(spec, [.. steps]), CancellationToken.None);
                if (decision.IsSubmit)
                {
                    decisions.Add(ReplyParser.SubmitCommand);
                    continue;
                }
                decisions.Add(decision.Command!);
                steps.Add(Ran(steps.Count + 1, decision.Command!, decision.Command == "cat a.txt" ? "one\n" : ""));
            }

            Assert.Equal(40, decisions.Count);
            Assert.All(decisions, d => Assert.Contains(d, Candidates));
            Assert.Equal(40, engine.Counters.RequestsCompleted); // one call per round: no format retries
        }
        finally
        {
            await server.DisposeAsync();
            engine.Dispose();
        }
    }
}
