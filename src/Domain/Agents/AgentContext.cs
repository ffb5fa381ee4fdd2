using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Domain.Agents;

/// <summary>What an agent decides from: one attempt of one task, after <see cref="Steps"/>.</summary>
/// <param name="TaskId">The task.</param>
/// <param name="Attempt">The attempt (1-based); each attempt starts in a fresh or reset environment.</param>
/// <param name="Spec">The task as submitted.</param>
/// <param name="Steps">The commands this attempt ran so far, with their results, in order.</param>
/// <param name="Gateway">Where this attempt's model calls go (the node's gateway and the attempt's key);
/// null on a node without a gateway, where a model agent calls its endpoint directly and nothing is recorded.</param>
public readonly record struct AgentContext(string TaskId, int Attempt, TaskSpec Spec, IReadOnlyList<Step> Steps, ModelGatewayAccess? Gateway = null)
{
    /// <summary>The round being decided (1-based): one more than the steps taken.</summary>
    public int Round => Steps.Count + 1;
}

/// <summary>
/// An attempt's way to its model: the OpenAI-compatible base URL of the node's gateway for this
/// attempt (…/v1) and the key the gateway accepts for this attempt only.
/// </summary>
public sealed record ModelGatewayAccess(Uri BaseUrl, string Key);
