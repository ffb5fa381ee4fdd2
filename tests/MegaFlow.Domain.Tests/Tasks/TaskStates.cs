using MegaFlow.Contracts;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain;
using MegaFlow.Domain.Tasks;
using static MegaFlow.Contracts.Tasks.TaskEvents;

namespace MegaFlow.Domain.Tests.Tasks;

/// <summary>
/// Drives a task to a given status by applying the events of the happy path (or of the usual way
/// into a terminal state), so tests start from states that real journals produce.
/// </summary>
internal static class TaskStates
{
    public const string Id = "task-1";
    public static readonly DateTimeOffset T0 = new(2025, 1, 1, 12, 0, 0, TimeSpan.Zero);
    public static readonly Lease Lease1 = new(Id, 1, "lease-1", "pool-a", ExecutionMode.Ephemeral, "env-1@node-a", "node-a", Starting: true, Reused: false, 1, T0, T0);
    public static readonly Lease Lease2 = new(Id, 2, "lease-2", "pool-a", ExecutionMode.Ephemeral, "env-2@node-b", "node-b", Starting: true, Reused: false, 2, T0, T0);

    public static TaskState Apply(TaskState s, params ITaskEvent[] events) => events.Aggregate(s, TaskLogic.Apply);

    public static TaskState Apply(TaskState s, TaskDecision d)
    {
        Assert.Equal(DecisionOutcome.Accepted, d.Outcome);
        return d.Events.Aggregate(s, TaskLogic.Apply);
    }

    /// <summary>The state a task is in after a journal leading to <paramref name="status"/>.</summary>
    public static TaskState At(TaskStatus status, TaskSpec? spec = null)
    {
        spec ??= Specs.Valid(Id);
        var s = TaskState.Empty(Id);
        if (status == TaskStatus.Unknown) return s;

        s = Apply(s, new Submitted(Id, spec, T0));
        if (status == TaskStatus.Submitted) return s;

        s = Apply(s, new Queued(Id, s.Attempt, T0.AddSeconds(1)));
        if (status == TaskStatus.Queued) return s;
        if (status == TaskStatus.Cancelled) return Apply(s, new Cancelled(Id, s.Attempt, "user", T0.AddSeconds(2)));

        s = Apply(s, new Admitted(Id, s.Attempt, Lease1, "node-a", T0.AddSeconds(2)));
        if (status == TaskStatus.Provisioning) return s;

        s = Apply(s, new RunStarted(Id, s.Attempt, T0.AddSeconds(3)));
        if (status == TaskStatus.Running) return s;
        if (status == TaskStatus.Failed) return Apply(s, new Failed(Id, s.Attempt, FailureKind.Agent, "bad action", T0.AddSeconds(4)));
        if (status == TaskStatus.TimedOut) return Apply(s, new TimedOut(Id, s.Attempt, TaskPhase.Run, T0.AddSeconds(4)));

        s = Apply(s, new ScoringStarted(Id, s.Attempt, T0.AddSeconds(4)));
        if (status == TaskStatus.Scoring) return s;

        s = Apply(s, new Completed(Id, s.Attempt, new Score(0, "ok", 1.0), T0.AddSeconds(5)));
        if (status == TaskStatus.Completed) return s;

        throw new ArgumentOutOfRangeException(nameof(status), status, null);
    }

    public static IEnumerable<TaskStatus> AllStatuses => Enum.GetValues<TaskStatus>();
}
