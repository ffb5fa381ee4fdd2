using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Domain.Agents;

/// <summary>
/// Decides the next action of an attempt from what the agent has observed so far. Model-driven agents
/// plug in here, so a decision may take seconds (a call to a model service): the task's actor does
/// not wait for it, it keeps answering queries and enforcing its budgets, and ignores a decision that
/// arrives after the attempt has ended.
/// </summary>
public interface IAgent
{
    /// <summary>
    /// Decides round <see cref="AgentContext.Round"/>. An agent that throws (or whose task faults)
    /// fails the attempt as <see cref="FailureKind.Agent"/>, a result that is not retried; one that throws
    /// <see cref="AgentInfrastructureException"/> fails it as <see cref="FailureKind.Infrastructure"/>.
    /// </summary>
    /// <param name="context">The task and the steps of this attempt so far.</param>
    /// <param name="cancellationToken">Cancelled when the attempt ends before the decision arrives
    /// (task cancelled, run budget spent, environment lost, actor stopped): the answer is no longer wanted.</param>
    ValueTask<AgentDecision> DecideAsync(AgentContext context, CancellationToken cancellationToken);
}
