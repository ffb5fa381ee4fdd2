using System.Collections.Immutable;
using MegaFlow.Contracts;

namespace MegaFlow.Contracts.Environments;

/// <summary>
/// Environment lifecycle (DESIGN.md): Requested → Provisioning → Ready → Leased → Resetting → Ready …
/// → Destroyed | Lost. Provisioning for a task ends leased to that task (one event, not two).
/// </summary>
public enum EnvironmentStatus
{
    Unknown,
    Provisioning,
    Ready,
    Leased,
    Resetting,
    Destroyed,
    Lost,
}

/// <summary>What to create: image, pool and limits. Providers interpret the image their own way.</summary>
/// <remarks><see cref="NetworkMode"/> <see cref="GatewayNetwork"/> asks for the network through which the
/// node's model gateway is reached and nothing else (an agent program's environment).</remarks>
public sealed record EnvironmentSpec(
    string Image,
    string Pool,
    ExecutionMode Mode,
    double CpuLimit = 1.0,
    long MemoryLimitBytes = 1L << 30,
    int PidsLimit = 512,
    string NetworkMode = "none",
    string? TaskId = null) // the task it is created for: providers label resources with it
{
    /// <summary>
    /// The network mode of an environment whose agent program calls a model: the provider's network to
    /// the node's gateway (Docker: an internal network), never the host's. Not a valid task network name
    /// (it has a ':'), so no spec can ask for it by name.
    /// </summary>
    public const string GatewayNetwork = "megaflow:gateway";
}

/// <summary>The provider's reference to the real resource (a folder, a container id) — persisted.</summary>
public sealed record EnvironmentHandle(string EnvironmentId, string Provider, string Reference);

public static class EnvironmentEvents
{
    public interface IEnvironmentEvent : IMegaFlowMessage
    {
        string EnvironmentId { get; }
    }

    public sealed record Requested(string EnvironmentId, EnvironmentSpec Spec, string TaskId, int Attempt, DateTimeOffset At) : IEnvironmentEvent;

    /// <summary>Provisioned and leased to the task that asked for it.</summary>
    public sealed record Provisioned(string EnvironmentId, EnvironmentHandle Handle, DateTimeOffset At) : IEnvironmentEvent;

    public sealed record Leased(string EnvironmentId, string TaskId, int Attempt, DateTimeOffset At) : IEnvironmentEvent;

    public sealed record ResetStarted(string EnvironmentId, DateTimeOffset At) : IEnvironmentEvent;

    public sealed record ResetCompleted(string EnvironmentId, DateTimeOffset At) : IEnvironmentEvent;

    public sealed record Destroyed(string EnvironmentId, string Reason, DateTimeOffset At) : IEnvironmentEvent;

    public sealed record Lost(string EnvironmentId, string Reason, DateTimeOffset At) : IEnvironmentEvent;
}

/// <summary>
/// Everything the environment's behaviour depends on. The persisted part is folded from events; the
/// in-flight part (commands running, a destroy under way or deferred, a loss seen mid-command, the
/// faults of its checks) lives here too, changed by <see cref="EnvironmentTransitions"/> that are
/// applied but never journaled, because it describes calls that die with the process anyway.
/// </summary>
public sealed record EnvironmentState : IMegaFlowMessage
{
    public required string EnvironmentId { get; init; }
    public EnvironmentStatus Status { get; init; } = EnvironmentStatus.Unknown;
    public EnvironmentSpec? Spec { get; init; }
    public EnvironmentHandle? Handle { get; init; }
    public string? LeasedTo { get; init; }
    public int LeasedAttempt { get; init; }
    public int Leases { get; init; }
    public string? EndReason { get; init; }
    public DateTimeOffset? RequestedAt { get; init; }
    public DateTimeOffset? ReadyAt { get; init; }

    /// <summary>The task whose lease the last reset ended (a repeated Reset from it is answered as done).</summary>
    public string? PreviousLessee { get; init; }

    // ---- in flight (not journaled) ----

    /// <summary>Commands running in the resource now.</summary>
    public int ExecsInFlight { get; init; }

    /// <summary>The resource died while a command ran: reported with the command's outcome.</summary>
    public string? DiedDuringExec { get; init; }

    /// <summary>The provider is removing the resource.</summary>
    public bool Destroying { get; init; }

    /// <summary>A destroy asked for while provisioning or resetting: it starts when that call ends.</summary>
    public string? DestroyWhenSettled { get; init; }

    /// <summary>Consecutive failed checks (lessee or pool) whose answers said the lease or pool entry is gone.</summary>
    public int Strikes { get; init; }

    /// <summary>Consecutive faults of the environment's own checks (provider calls that threw).</summary>
    public int Faults { get; init; }

    public string? LastFault { get; init; }

    public bool IsGone => Status is EnvironmentStatus.Destroyed or EnvironmentStatus.Lost;

    public static EnvironmentState Empty(string id) => new() { EnvironmentId = id };
}
