using MegaFlow.Agents.Model;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Agents;

namespace MegaFlow.Agents.Tests;

public sealed class ConversationTests
{
    private static readonly TaskSpec Spec = new()
    {
        TaskId = "acme__widgets-7", Mode = "ephemeral", Image = "img", ScoreCommand = "pytest -rA tests/secret_test.py",
        MaxRounds = 12, Agent = new AgentSpec { Kind = AgentKinds.Model },
        Metadata = new Dictionary<string, string>
        {
            ["problem_statement"] = "Widget.size() returns -1 for empty widgets.",
            ["repo"] = "acme/widgets", ["base_commit"] = "0123abc", ["fail_to_pass"] = "[\"tests/test_size.py::test_empty\"]",
        },
    };

    private static Step Step(int round, string command, int exit, string output, bool truncated = false, bool timedOut = false) =>
        new(round, command, exit, output, truncated, timedOut, DateTimeOffset.UnixEpoch, 5, null);

    [Fact]
    public void The_first_round_is_the_system_prompt_and_the_problem_statement_with_its_repository()
    {
        var turns = Conversation.Build(new AgentContext("acme__widgets-7", 1, Spec, []), PromptTemplate.SweV1, 4000);

        Assert.Equal([ChatRole.System, ChatRole.User], turns.Select(t => t.Role));
        Assert.Contains("at most 12 commands", turns[0].Content);
        Assert.Contains("```bash\nsubmit\n```", turns[0].Content);
        Assert.Contains("Task acme__widgets-7\nrepo: acme/widgets\nbase_commit: 0123abc", turns[1].Content);
        Assert.Contains("<problem_statement>\nWidget.size() returns -1 for empty widgets.\n</problem_statement>", turns[1].Content);
        // The score command (it may carry the test patch) and the tests that judge are never shown.
        Assert.All(turns, t => Assert.DoesNotContain("secret_test", t.Content));
        Assert.All(turns, t => Assert.DoesNotContain("test_empty", t.Content));
    }

    [Fact]
    public void Each_step_becomes_the_command_as_the_models_turn_and_its_result_as_the_next_observation()
    {
        var steps = new[] { Step(1, "ls", 0, "src\ntests\n"), Step(2, "pytest -x", 1, "1 failed", truncated: true), Step(3, "sleep 99", 137, "", timedOut: true) };
        var turns = Conversation.Build(new AgentContext("acme__widgets-7", 2, Spec, steps), PromptTemplate.SweV1, 4000);

        Assert.Equal(8, turns.Count);
        Assert.Equal(new ChatTurn(ChatRole.Assistant, "```bash\nls\n```"), turns[2]);
        Assert.Equal(ChatRole.User, turns[3].Role);
        Assert.Contains("<exit_code>0</exit_code>\n<output>\nsrc\ntests\n\n</output>", turns[3].Content);
        Assert.Contains("<exit_code>1</exit_code>", turns[5].Content);
        Assert.Contains("[output truncated by the environment]", turns[5].Content);
        Assert.Contains("137 (the command timed out and was killed)", turns[7].Content);
    }

    [Fact]
    public void A_long_output_keeps_its_head_and_tail()
    {
        var output = "HEAD" + new string('x', 10_000) + "TAIL";
        var shown = Conversation.Observe(PromptTemplate.SweV1, Step(1, "cat big", 0, output), 100);

        Assert.Contains("HEAD", shown);
        Assert.Contains("TAIL", shown);
        Assert.Contains($"[... {output.Length - 100} characters left out ...]", shown);
        Assert.True(shown.Length < 300);
    }

    [Fact]
    public void Output_that_looks_like_a_placeholder_is_shown_as_it_is()
    {
        var shown = Conversation.Observe(PromptTemplate.SweV1, Step(1, "echo", 0, "{exit_code} {output}"), 100);
        Assert.Contains("<output>\n{exit_code} {output}\n</output>", shown);
    }

    [Fact]
    public void Every_template_a_spec_may_name_exists()
    {
        Assert.Equal(AgentSpec.Templates.Order(), PromptTemplate.All.Keys.Order());
        Assert.Same(PromptTemplate.SweV1, PromptTemplate.Get(null));
    }
}
