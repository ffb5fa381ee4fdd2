using MegaFlow.Contracts.Environments;

namespace MegaFlow.Environments;

/// <summary>One command to run in an environment.</summary>
/// <param name="Command">Shell command line (run by /bin/sh -c or the provider's equivalent).</param>
/// <param name="Timeout">After this the process is killed and the result says TimedOut.</param>
/// <param name="MaxOutputBytes">Combined stdout+stderr kept; the rest is counted but dropped.</param>
/// <param name="Environment">Variables set for this command only (an agent program's gateway URL and key), or null.</param>
public sealed record ExecRequest(string Command, TimeSpan Timeout, int MaxOutputBytes, IReadOnlyDictionary<string, string>? Environment = null);

/// <summary>
/// A provider whose environments cannot reach the node's loopback interface (containers in their own
/// network namespace) says how they reach the node's model gateway instead. Providers without it
/// run commands on the node itself, where the loopback address works.
/// </summary>
public interface IGatewayAddressing
{
    /// <summary>Where the node's gateway must listen, besides loopback, for this provider's environments to reach it.</summary>
    IReadOnlyList<System.Net.IPAddress> GatewayListenAddresses();

    /// <summary>The gateway's base URL (http://host:port/) as seen from inside <paramref name="handle"/>'s environment.</summary>
    Uri GatewayFor(EnvironmentHandle handle, Uri loopbackGateway);
}

/// <summary>What a command did. Output is capped at the request's bound; <see cref="OutputBytes"/> is the full size.</summary>
public sealed record ExecOutcome(int ExitCode, string Output, long OutputBytes, bool OutputTruncated, bool TimedOut, DateTimeOffset StartedAt, TimeSpan Duration)
{
    /// <summary>A resource limit the command ran into (providers that enforce limits set it), else null.</summary>
    public ResourceLimit? LimitExceeded { get; init; }
}

/// <summary>Which of an environment's limits stopped or starved a command.</summary>
public enum ResourceLimit
{
    /// <summary>A process was killed by the kernel's OOM killer at the memory limit.</summary>
    Memory,
    /// <summary>A fork failed because the environment reached its process (pids) limit.</summary>
    Pids,
}

public enum HealthStatus
{
    Healthy,
    /// <summary>The resource is gone (folder deleted, container killed, node restarted).</summary>
    Missing,
}

/// <summary>
/// The environment is gone or broken for reasons outside the agent's control. Providers throw this
/// for infrastructure failures; the task layer classifies it as an infrastructure failure and retries.
/// </summary>
public sealed class EnvironmentUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Creates, runs commands in, resets and destroys environments. Implementations must be safe to call
/// concurrently for different environments. Each call is independent: providers hold no per-task state
/// that is not recoverable from the <see cref="EnvironmentHandle"/> (which is persisted).
/// </summary>
public interface IEnvironmentProvider
{
    /// <summary>Short name stored in handles ("local", "simulated", "docker").</summary>
    string Name { get; }

    Task<EnvironmentHandle> ProvisionAsync(string environmentId, EnvironmentSpec spec, CancellationToken ct);

    /// <summary>Runs a command. A non-zero exit code or a timeout is a normal outcome; a vanished
    /// environment throws <see cref="EnvironmentUnavailableException"/>.</summary>
    Task<ExecOutcome> ExecAsync(EnvironmentHandle handle, ExecRequest request, CancellationToken ct);

    /// <summary>Returns the environment to its image's state: nothing from the previous task is visible.</summary>
    Task ResetAsync(EnvironmentHandle handle, CancellationToken ct);

    /// <summary>Removes the environment; succeeds if it is already gone.</summary>
    Task DestroyAsync(EnvironmentHandle handle, CancellationToken ct);

    Task<HealthStatus> CheckHealthAsync(EnvironmentHandle handle, CancellationToken ct);
}
