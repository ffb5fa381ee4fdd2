using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Agents;
using MegaFlow.Domain.Tests.Tasks;

namespace MegaFlow.Domain.Tests.Agents;

/// <summary>The scripted agent and the decision type every agent answers with.</summary>
public sealed class ScriptedAgentTests
{
    private static Step StepFor(int round, string command) =>
        new(round, command, 0, "", false, false, DateTimeOffset.UnixEpoch, 1, null);

    // Every scripted decision is already made when returned: checked here, so the tests can read its value.
    private static AgentDecision Decide(AgentContext context)
    {
        var pending = ScriptedAgent.Instance.DecideAsync(context, CancellationToken.None);
        Assert.True(pending.IsCompletedSuccessfully);
        return pending.Result;
    }

    private static AgentContext After(TaskSpec spec, params string[] commands) =>
        new("task-1", 1, spec, commands.Select((c, i) => StepFor(i + 1, c)).ToList());

    [Fact]
    public void It_replays_the_spec_actions_in_order_then_submits()
    {
        var spec = Specs.Valid() with { Actions = ["echo a", "echo b"] };

        var first = Decide(After(spec));
        var second = Decide(After(spec, "echo a"));
        var third = Decide(After(spec, "echo a", "echo b"));

        Assert.Equal("echo a", first.Command);
        Assert.Equal("echo b", second.Command);
        Assert.True(third.IsSubmit);
        Assert.Null(third.Command);
    }

    [Fact]
    public void It_decides_synchronously_so_the_actor_needs_no_message_hop()
    {
        var decision = ScriptedAgent.Instance.DecideAsync(After(Specs.Valid()), CancellationToken.None);

        Assert.True(decision.IsCompletedSuccessfully);
    }

    [Fact]
    public void It_submits_once_max_rounds_are_spent_even_with_actions_left()
    {
        var spec = Specs.Valid() with { Actions = ["echo a", "echo b", "echo c"], MaxRounds = 2 };

        var decision = Decide(After(spec, "echo a", "echo b"));

        Assert.True(decision.IsSubmit);
    }

    [Fact]
    public void A_spec_without_actions_submits_at_once()
    {
        var spec = Specs.Valid() with { Actions = [] };

        Assert.True(Decide(After(spec)).IsSubmit);
    }

    [Fact]
    public void The_context_names_the_round_being_decided()
    {
        Assert.Equal(1, After(Specs.Valid()).Round);
        Assert.Equal(3, After(Specs.Valid(), "x", "y").Round);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void A_command_must_say_something(string command)
    {
        Assert.Throws<ArgumentException>(() => AgentDecision.Run(command));
        Assert.ThrowsAny<ArgumentException>(() => AgentDecision.Run(null!));
    }

    [Fact]
    public void The_default_decision_is_submit()
    {
        Assert.True(default(AgentDecision).IsSubmit);
        Assert.Equal(AgentDecision.Submit, default);
        Assert.Equal("ls", AgentDecision.Run("ls").Command);
        Assert.False(AgentDecision.Run("ls").IsSubmit);
    }
}
