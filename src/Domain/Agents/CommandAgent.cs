namespace MegaFlow.Domain.Agents;

/// <summary>
/// The <c>command</c> agent: the spec's program is the attempt's one step; it runs inside the
/// environment and makes its own model calls through the gateway (the environment gets
/// <c>OPENAI_BASE_URL</c> and <c>OPENAI_API_KEY</c> for this attempt). When it exits, the attempt is
/// scored as the program left the environment.
/// </summary>
public sealed class CommandAgent : IAgent
{
    /// <summary>The one instance; the agent keeps no state of its own.</summary>
    public static readonly CommandAgent Instance = new();

    /// <inheritdoc />
    public ValueTask<AgentDecision> DecideAsync(AgentContext context, CancellationToken cancellationToken) =>
        new(context.Steps.Count == 0 && context.Spec.Agent?.Command is { } command
            ? AgentDecision.Run(command)
            : AgentDecision.Submit);
}
