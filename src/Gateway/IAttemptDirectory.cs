using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Gateway;

/// <summary>
/// The gateway's view of the tasks: whether a key opens an attempt, and where a recorded call is
/// reported. The node implements it with the task shard region; tests may use any.
/// </summary>
public interface IAttemptDirectory
{
    /// <summary>Asks the task whether <paramref name="key"/> is its running attempt's key.</summary>
    /// <exception cref="TimeoutException">The task did not answer in time (its node is down or overloaded).</exception>
    Task<AttemptGrant> AuthorizeAsync(string taskId, int attempt, string key, CancellationToken ct);

    /// <summary>Reports a recorded call to its task, which journals it. Fire and forget (see <see cref="TaskProtocol.RecordModelCall"/>).</summary>
    void Report(string taskId, int attempt, ModelCall call);
}

/// <summary>The task's answer: allowed for <see cref="Round"/> with its agent's settings, or refused (<see cref="Refusal"/>).</summary>
public sealed record AttemptGrant(int Round, AgentSpec? Agent, string? Refusal)
{
    public bool Allowed => Refusal is null;

    public static AttemptGrant Allow(int round, AgentSpec agent) => new(round, agent, null);

    public static AttemptGrant Refuse(string reason) => new(0, null, reason);
}
