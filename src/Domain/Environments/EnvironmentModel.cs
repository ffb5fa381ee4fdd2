using System.Collections.Immutable;
using MegaFlow.Domain.Protocol;
using MegaFlow.Domain.Tasks;

namespace MegaFlow.Domain.Environments;

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
public sealed record EnvironmentSpec(
    string Image,
    string Pool,
    ExecutionMode Mode,
    double CpuLimit = 1.0,
    long MemoryLimitBytes = 1L << 30,
    int PidsLimit = 512,
    string NetworkMode = "none",
    string? TaskId = null); // the task it is created for: providers label resources with it

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

    public bool IsGone => Status is EnvironmentStatus.Destroyed or EnvironmentStatus.Lost;

    public static EnvironmentState Empty(string id) => new() { EnvironmentId = id };
}

/// <summary>Pure environment state machine; the EnvironmentActor drives it around provider calls.</summary>
public static class EnvironmentLogic
{
    public static string? CanRequest(EnvironmentState s) =>
        s.Status == EnvironmentStatus.Unknown ? null : $"environment {s.EnvironmentId} already {s.Status}";

    public static string? CanLease(EnvironmentState s, string taskId) => s.Status switch
    {
        EnvironmentStatus.Ready => null,
        EnvironmentStatus.Leased when s.LeasedTo == taskId => null,
        _ => $"environment {s.EnvironmentId} is {s.Status}, not Ready",
    };

    public static string? CanExec(EnvironmentState s, string taskId) =>
        s.Status == EnvironmentStatus.Leased && s.LeasedTo == taskId
            ? null
            : $"environment {s.EnvironmentId} is {s.Status} (leased to {s.LeasedTo ?? "nobody"}), not leased to {taskId}";

    public static string? CanReset(EnvironmentState s) =>
        s.Status is EnvironmentStatus.Leased or EnvironmentStatus.Ready ? null : $"cannot reset in status {s.Status}";

    public static EnvironmentState Apply(EnvironmentState s, EnvironmentEvents.IEnvironmentEvent e) => e switch
    {
        EnvironmentEvents.Requested x => s with
        {
            Status = EnvironmentStatus.Provisioning, Spec = x.Spec, LeasedTo = x.TaskId, LeasedAttempt = x.Attempt, RequestedAt = x.At,
        },
        EnvironmentEvents.Provisioned x => s with { Status = EnvironmentStatus.Leased, Handle = x.Handle, ReadyAt = x.At, Leases = s.Leases + 1 },
        EnvironmentEvents.Leased x => s with { Status = EnvironmentStatus.Leased, LeasedTo = x.TaskId, LeasedAttempt = x.Attempt, Leases = s.Leases + 1 },
        EnvironmentEvents.ResetStarted => s with { Status = EnvironmentStatus.Resetting },
        EnvironmentEvents.ResetCompleted => s with { Status = EnvironmentStatus.Ready, LeasedTo = null, LeasedAttempt = 0 },
        EnvironmentEvents.Destroyed x => s with { Status = EnvironmentStatus.Destroyed, EndReason = x.Reason, LeasedTo = null },
        EnvironmentEvents.Lost x => s with { Status = EnvironmentStatus.Lost, EndReason = x.Reason, LeasedTo = null },
        _ => throw new ArgumentOutOfRangeException(nameof(e), e.GetType().Name, "unknown environment event"),
    };
}
