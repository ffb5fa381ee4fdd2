namespace MegaFlow.Domain.Agents;

/// <summary>
/// An agent's answer for one round: run <see cref="Command"/> in the environment, or submit the
/// work for scoring. A value type, so an agent that decides synchronously allocates nothing for it.
/// </summary>
public readonly record struct AgentDecision
{
    private AgentDecision(string? command) => Command = command;

    /// <summary>The shell command to run next, or null when the agent submits.</summary>
    public string? Command { get; }

    /// <summary>True when the agent is done and the attempt moves on to scoring.</summary>
    public bool IsSubmit => Command is null;

    /// <summary>The agent is done: score the environment as it is.</summary>
    public static AgentDecision Submit => default;

    /// <summary>Run <paramref name="command"/> as the next step.</summary>
    /// <exception cref="ArgumentException">The command is null, empty or white space (the task spec rejects such actions too).</exception>
    public static AgentDecision Run(string command)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(command);
        return new AgentDecision(command);
    }
}
