using MegaFlow.Contracts.Tasks;
using MegaFlow.Contracts;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Tasks;

namespace MegaFlow.Domain.Agents;

/// <summary>
/// Decides the next action from what the agent has observed so far (the task and its steps in this
/// attempt). Returns null when the agent is done. Model-driven agents plug in here later.
/// </summary>
public interface IAgent
{
    string? NextAction(TaskSpec spec, IReadOnlyList<Step> steps);
}

/// <summary>Replays the actions written in the task spec, one per round, up to MaxRounds.</summary>
public sealed class ScriptedAgent : IAgent
{
    public static readonly ScriptedAgent Instance = new();

    public string? NextAction(TaskSpec spec, IReadOnlyList<Step> steps)
    {
        var actions = spec.Actions ?? [];
        var round = steps.Count;
        return round < actions.Count && round < spec.MaxRounds ? actions[round] : null;
    }
}
