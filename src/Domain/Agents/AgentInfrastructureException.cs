namespace MegaFlow.Domain.Agents;

/// <summary>
/// Thrown by an agent that could not decide because something it depends on is down — a model
/// endpoint that refuses connections or answers 5xx after the agent's own retries, an API key
/// variable missing on this node — rather than because the agent did something wrong. The task's
/// actor fails the attempt as <see cref="FailureKind.Infrastructure"/> (retried with a fresh
/// environment on the infrastructure budget, excluded from rewards) instead of
/// <see cref="FailureKind.Agent"/>. The message names what failed (the endpoint), for people.
/// </summary>
public sealed class AgentInfrastructureException : Exception
{
    /// <param name="resource">What could not be used, e.g. the endpoint's URL.</param>
    /// <param name="message">Why, naming <paramref name="resource"/>.</param>
    /// <param name="inner">The last underlying failure, if any.</param>
    public AgentInfrastructureException(string resource, string message, Exception? inner = null)
        : base(message, inner) => Resource = resource;

    /// <summary>What could not be used (an endpoint URL, an environment variable's name).</summary>
    public string Resource { get; }
}
