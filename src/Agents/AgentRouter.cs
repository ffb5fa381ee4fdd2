using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Agents;

namespace MegaFlow.Agents;

/// <summary>
/// The node's agent: hands each decision to the agent its task's spec names (<see cref="TaskSpec.AgentKind"/>),
/// so one task region serves every kind. A kind this node cannot run (a spec validated by a newer
/// node) fails the attempt as the agent's failure, naming <c>agent.kind</c>.
/// </summary>
public sealed class AgentRouter(IReadOnlyDictionary<string, IAgent> agents) : IAgent
{
    /// <summary>The scripted and command agents and a model agent with <paramref name="model"/>'s settings.</summary>
    public static AgentRouter Create(Model.ModelAgentSettings model) => new(new Dictionary<string, IAgent>(StringComparer.Ordinal)
    {
        [AgentKinds.Scripted] = ScriptedAgent.Instance,
        [AgentKinds.Model] = new Model.ModelAgent(model),
        [AgentKinds.Command] = CommandAgent.Instance,
    });

    /// <inheritdoc />
    public ValueTask<AgentDecision> DecideAsync(AgentContext context, CancellationToken cancellationToken)
    {
        var kind = context.Spec.AgentKind;
        return agents.TryGetValue(kind, out var agent)
            ? agent.DecideAsync(context, cancellationToken)
            : throw new InvalidOperationException($"agent.kind: this node cannot run agent kind '{kind}' (it runs {string.Join(", ", agents.Keys)})");
    }
}
