using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Domain.Agents;

/// <summary>What an agent decides from: one attempt of one task, after <see cref="Steps"/>.</summary>
/// <param name="TaskId">The task.</param>
/// <param name="Attempt">The attempt (1-based); each attempt starts in a fresh or reset environment.</param>
/// <param name="Spec">The task as submitted.</param>
/// <param name="Steps">The commands this attempt ran so far, with their results, in order.</param>
public readonly record struct AgentContext(string TaskId, int Attempt, TaskSpec Spec, IReadOnlyList<Step> Steps)
{
    /// <summary>The round being decided (1-based): one more than the steps taken.</summary>
    public int Round => Steps.Count + 1;
}
