namespace MegaFlow.Domain.Agents;

/// <summary>
/// Replays the actions written in the task spec, one per round, up to MaxRounds. Decides
/// synchronously: the returned task is already complete, so the actor continues without a message hop.
/// </summary>
public sealed class ScriptedAgent : IAgent
{
    /// <summary>The one instance; the agent keeps no state of its own.</summary>
    public static readonly ScriptedAgent Instance = new();

    /// <inheritdoc />
    public ValueTask<AgentDecision> DecideAsync(AgentContext context, CancellationToken cancellationToken)
    {
        var spec = context.Spec;
        var actions = spec.Actions ?? [];
        var taken = context.Steps.Count;
        return new(taken < actions.Count && taken < spec.MaxRounds ? AgentDecision.Run(actions[taken]) : AgentDecision.Submit);
    }
}
