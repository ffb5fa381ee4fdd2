using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Agents;

namespace MegaFlow.Agents.Model;

/// <summary>
/// Where a task's model calls really go: the endpoint its spec names, or the node's default (the
/// cluster's model service), with the model name and the API key read on this node. The gateway
/// forwards to it; a model agent on a node without a gateway calls it directly.
/// </summary>
/// <param name="BaseUrl">The OpenAI-compatible base URL (…/v1).</param>
/// <param name="Model">The model name every call is made with.</param>
/// <param name="ApiKey">The key the endpoint wants; null when it needs none.</param>
public sealed record ModelUpstream(Uri BaseUrl, string Model, string? ApiKey)
{
    /// <summary>
    /// Resolves <paramref name="agent"/> against the node's settings. The key comes from the
    /// environment variable the spec (or, for the default endpoint, the node) names, never from the spec.
    /// </summary>
    /// <exception cref="AgentInfrastructureException">The key's variable is not set on this node.</exception>
    /// <remarks>See <see cref="Target"/> for where calls go without reading the key.</remarks>
    public static ModelUpstream Resolve(AgentSpec agent, ModelAgentSettings settings, Func<string, string?> environment)
    {
        var (endpoint, model, _) = Target(agent, settings);
        var variable = agent.ApiKeyEnv ?? (agent.Endpoint is null ? settings.DefaultApiKeyEnv : "");
        if (string.IsNullOrEmpty(variable))
            return new ModelUpstream(endpoint, model, null);
        return environment(variable) is { Length: > 0 } key
            ? new ModelUpstream(endpoint, model, key)
            : throw new AgentInfrastructureException(endpoint.ToString(),
                $"environment variable {variable} (the API key for model endpoint {endpoint}) is not set on this node");
    }

    /// <summary>Where <paramref name="agent"/>'s calls go and with which model, without its key (the gateway's node reads that).</summary>
    public static ModelUpstream Target(AgentSpec agent, ModelAgentSettings settings) =>
        new(agent.Endpoint is { } e ? new Uri(e) : settings.DefaultEndpoint, agent.Model ?? settings.DefaultModel, null);

    /// <summary>The innermost exception's message: "Connection refused (127.0.0.1:1)" is there; the outer ones wrap it.</summary>
    public static string Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e.Message;
    }
}
