using MegaFlow.Agents.Model;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Agents;

namespace MegaFlow.Agents.Tests;

/// <summary>menu-v1: the candidates listed as letters, answered with one letter, shown back as that letter.</summary>
public sealed class MenuTemplateTests
{
    private static readonly string[] Candidates = ["touch a.txt", "touch b.txt", "submit"];

    private static TaskSpec Spec(IReadOnlyList<string> actions) => new()
    {
        TaskId = "m1", Mode = "ephemeral", Image = "img", ScoreCommand = "test -f a.txt", MaxRounds = 3, Actions = actions,
        Agent = new AgentSpec { Kind = AgentKinds.Model, Template = AgentSpec.MenuTemplate },
        Metadata = new Dictionary<string, string> { ["problem_statement"] = "The test needs a.txt." },
    };

    [Fact]
    public void A_letter_is_its_candidate_and_anything_else_is_a_format_error_listing_the_letters()
    {
        Assert.Equal(ParsedReply.Run("touch b.txt"), ReplyParser.ParseLabelled("B", Candidates));
        Assert.Equal(ReplyKind.Submit, ReplyParser.ParseLabelled("C", Candidates).Kind);
        var invalid = ReplyParser.ParseLabelled("touch a.txt", Candidates);
        Assert.Equal(ReplyKind.FormatError, invalid.Kind);
        Assert.Contains("A | B | C", invalid.Error);
        Assert.Equal(ReplyKind.FormatError, ReplyParser.ParseLabelled(null, Candidates).Kind);
    }

    [Fact]
    public void The_prompt_lists_letters_and_an_earlier_step_shows_as_the_letter_the_model_answered()
    {
        var spec = Spec(["touch a.txt", "touch b.txt"]);
        Assert.Empty(TaskSpecValidator.Validate(spec));
        var step = new Step(1, "touch b.txt", 0, "", false, false, DateTimeOffset.UnixEpoch, 1, null);

        var turns = Conversation.Build(new AgentContext("m1", 1, spec, [step]), PromptTemplate.MenuV1, 4000);

        Assert.Contains("A) touch a.txt\nB) touch b.txt\nC) submit", turns[0].Content);
        Assert.Contains("The test needs a.txt.", turns[1].Content);
        Assert.DoesNotContain("m1", turns[1].Content); // no task id: replicas see the same prompt
        Assert.Equal("B", turns[2].Content);
        Assert.StartsWith("exit 0:", turns[3].Content);
    }

    [Fact]
    public void More_than_25_commands_cannot_be_lettered_and_are_refused_naming_actions()
    {
        var spec = Spec([.. Enumerable.Range(0, 26).Select(i => $"echo {i}")]);
        Assert.Contains(TaskSpecValidator.Validate(spec), e => e.Field == "actions" && e.Message.Contains("menu-v1"));
    }
}
