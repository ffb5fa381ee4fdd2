using MegaFlow.Domain.Agents;

namespace MegaFlow.Cluster.Tests.Infrastructure;

/// <summary>
/// An agent whose decisions a test writes as a function: slow ones, ones that ignore cancellation,
/// ones that throw. Stands in for a model-backed agent (an HTTP call taking seconds).
/// </summary>
public sealed class DelegateAgent(Func<AgentContext, CancellationToken, Task<AgentDecision>> decide) : IAgent
{
    /// <summary>Calls the test's function; one that is not async and throws makes this throw, synchronously.</summary>
    public ValueTask<AgentDecision> DecideAsync(AgentContext context, CancellationToken cancellationToken) =>
        new(decide(context, cancellationToken));

    /// <summary>What the scripted agent would decide for <paramref name="context"/> (it decides synchronously).</summary>
    public static async Task<AgentDecision> Scripted(AgentContext context) =>
        await ScriptedAgent.Instance.DecideAsync(context, CancellationToken.None);
}
