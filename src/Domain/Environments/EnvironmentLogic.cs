using MegaFlow.Contracts.Scheduling;
using MegaFlow.Contracts;
using MegaFlow.Contracts.Environments;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Scheduling;
using static MegaFlow.Contracts.Environments.EnvironmentProtocol;

namespace MegaFlow.Domain.Environments;

/// <summary>What the environment is asked or told: protocol commands and the outcomes of its own provider calls and checks.</summary>
public static class EnvironmentCommands
{
    public interface IEnvironmentCommand;

    public sealed record Provision(EnvironmentSpec Spec, string TaskId, int Attempt) : IEnvironmentCommand;

    public sealed record Lease(string TaskId, int Attempt) : IEnvironmentCommand;

    public sealed record Exec(string TaskId) : IEnvironmentCommand;

    public sealed record Reset(string TaskId) : IEnvironmentCommand;

    public sealed record Destroy(string Reason) : IEnvironmentCommand;

    /// <summary>The node's provider saw the resource die on its own.</summary>
    public sealed record ResourceDied(string Reason) : IEnvironmentCommand;

    /// <summary>The actor finished replaying its journal.</summary>
    public sealed record Recovered : IEnvironmentCommand
    {
        public static readonly Recovered Instance = new();
    }

    /// <summary>
    /// Time to repeat a health check that failed (<see cref="EnvironmentEffects.RetryHealthCheckLater"/>). Not a
    /// second <see cref="Recovered"/>: this incarnation has been running since, with calls of its own in flight.
    /// </summary>
    public sealed record Recheck : IEnvironmentCommand
    {
        public static readonly Recheck Instance = new();
    }

    public sealed record ProvisionFinished(EnvironmentHandle? Handle, string? Error) : IEnvironmentCommand;

    /// <summary>A command ended: <paramref name="Error"/> is null when the provider answered (whatever the exit code).</summary>
    public sealed record ExecFinished(string TaskId, string? Error) : IEnvironmentCommand;

    public sealed record ResetFinished(string? Error) : IEnvironmentCommand;

    public sealed record DestroyFinished(string Reason) : IEnvironmentCommand;

    /// <summary>The health check after a restart: null <paramref name="Healthy"/> when the check itself failed.</summary>
    public sealed record HealthChecked(bool? Healthy, string? Error) : IEnvironmentCommand;

    /// <summary>The lessee answered whether its attempt still holds the lease (null: no answer in time).</summary>
    public sealed record LesseeAnswered(string TaskId, int Attempt, bool? Holds) : IEnvironmentCommand;

    /// <summary>The scheduler answered whether it lists this idle environment in a pool or a lease (null: no answer).</summary>
    public sealed record PoolAnswered(bool? Listed) : IEnvironmentCommand;
}

/// <summary>Changes to the in-flight part of <see cref="EnvironmentState"/>: applied at once, never journaled.</summary>
public static class EnvironmentTransitions
{
    public interface ITransition;

    public sealed record ExecStarted : ITransition
    {
        public static readonly ExecStarted Instance = new();
    }

    public sealed record ExecEnded : ITransition
    {
        public static readonly ExecEnded Instance = new();
    }

    public sealed record DiedDuringExec(string Reason) : ITransition;

    public sealed record DestroyStarted : ITransition
    {
        public static readonly DestroyStarted Instance = new();
    }

    public sealed record DestroyDeferred(string Reason) : ITransition;

    public sealed record Struck(int Strikes) : ITransition;

    public sealed record Faulted(string Fault) : ITransition;
}

/// <summary>What the actor does for a decision, after its events are written. The domain names the effect; the actor performs it.</summary>
public static class EnvironmentEffects
{
    public interface IEffect;

    /// <summary>Answer whoever sent the command (or, for a provider call's outcome, whoever asked for the call).</summary>
    public sealed record Reply(object Message) : IEffect;

    /// <summary>Answer the sender later, with the other waiters of <paramref name="Kind"/>.</summary>
    public sealed record Wait(WaitKind Kind) : IEffect;

    public sealed record Answer(WaitKind Kind, object Message) : IEffect;

    public sealed record StartProvision(EnvironmentSpec Spec) : IEffect;

    public sealed record StartExec : IEffect
    {
        public static readonly StartExec Instance = new();
    }

    /// <summary>Answer the command's requester with the provider's result.</summary>
    public sealed record ReplyExecResult : IEffect
    {
        public static readonly ReplyExecResult Instance = new();
    }

    public sealed record StartReset : IEffect
    {
        public static readonly StartReset Instance = new();
    }

    public sealed record StartDestroy(string Reason) : IEffect;

    public sealed record CheckHealth : IEffect
    {
        public static readonly CheckHealth Instance = new();
    }

    /// <summary>Remove whatever resource may be left (by handle, or by id when provisioning was cut short).</summary>
    public sealed record RemoveLeftovers : IEffect
    {
        public static readonly RemoveLeftovers Instance = new();
    }

    /// <summary>Tell the lessee at once that its environment is gone, so its attempt fails over now.</summary>
    public sealed record NotifyLessee(TaskProtocol.LeasedEnvironmentLost Notice) : IEffect;

    /// <summary>Drop the environment from its pool in the scheduler (a no-op there when it is not idle).</summary>
    public sealed record RetireFromPool : IEffect
    {
        public static readonly RetireFromPool Instance = new();
    }

    /// <summary>Log a warning line (losses and give-ups are worth an operator's attention).</summary>
    public sealed record Warn(string Message) : IEffect;

    /// <summary>Send <see cref="EnvironmentCommands.Recheck"/> after a backoff that grows with the faults.</summary>
    public sealed record RetryHealthCheckLater(int Faults) : IEffect;

    public sealed record Passivate : IEffect
    {
        public static readonly Passivate Instance = new();
    }

    public enum WaitKind
    {
        Provision,
        Reset,
        Destroy,
    }
}

/// <summary>A decision: journaled events, in-flight transitions, and effects to perform afterwards.</summary>
public sealed record EnvironmentDecision(
    IReadOnlyList<EnvironmentEvents.IEnvironmentEvent> Events,
    IReadOnlyList<EnvironmentTransitions.ITransition> Transitions,
    IReadOnlyList<EnvironmentEffects.IEffect> Effects)
{
    public static readonly EnvironmentDecision None = new([], [], []);

    public static EnvironmentDecision Do(params EnvironmentEffects.IEffect[] effects) => new([], [], effects);

    public static EnvironmentDecision Persist(EnvironmentEvents.IEnvironmentEvent e, params EnvironmentEffects.IEffect[] effects) => new([e], [], effects);

    public static EnvironmentDecision Change(EnvironmentTransitions.ITransition t, params EnvironmentEffects.IEffect[] effects) => new([], [t], effects);
}

/// <summary>
/// The environment state machine as pure functions: <see cref="Decide"/> turns a command into a
/// decision, <see cref="Apply"/> folds events and transitions into the state. The EnvironmentActor
/// only persists, applies and performs effects.
/// <para>
/// Ownership: an environment's resource exists on one node incarnation, the one its id names
/// (<see cref="EnvironmentIds"/>). An actor running anywhere else (its shard fell back to another
/// node after a crash, or the node came back as a new incarnation at the same address) never
/// provisions, leases, resets or runs commands in the resource: a live environment there is Lost at
/// once, its lessee is told, and only its leftovers are removed.
/// </para>
/// </summary>
public static class EnvironmentLogic
{
    /// <summary>Consecutive faults of the recovery checks before the environment gives up and is Lost.</summary>
    public const int MaxFaults = 5;

    /// <summary>Consecutive answers saying a lease or pool entry is gone before the environment is reclaimed.</summary>
    public const int StrikesToReclaim = 2;

    /// <summary>
    /// Decides what a command does in state <paramref name="s"/>, on node incarnation <paramref name="host"/>
    /// at time <paramref name="now"/>.
    /// </summary>
    public static EnvironmentDecision Decide(EnvironmentState s, EnvironmentCommands.IEnvironmentCommand command, string host, DateTimeOffset now) => command switch
    {
        EnvironmentCommands.Provision c => OnProvision(s, c, host, now),
        EnvironmentCommands.Lease c => OnLease(s, c, host, now),
        EnvironmentCommands.Exec c => OnExec(s, c),
        EnvironmentCommands.Reset c => OnReset(s, c, host, now),
        EnvironmentCommands.Destroy c => OnDestroy(s, c),
        EnvironmentCommands.ResourceDied c => OnResourceDied(s, c, now),
        EnvironmentCommands.Recovered => OnRecovered(s, host, now),
        // Only a leased environment left alone since its failed check is checked again.
        EnvironmentCommands.Recheck => s.Status == EnvironmentStatus.Leased && !s.Destroying && s.DestroyWhenSettled is null && s.Faults > 0
            ? EnvironmentDecision.Do(EnvironmentEffects.CheckHealth.Instance)
            : EnvironmentDecision.None,
        EnvironmentCommands.ProvisionFinished c => OnProvisionFinished(s, c, host, now),
        EnvironmentCommands.ExecFinished c => OnExecFinished(s, c, now),
        EnvironmentCommands.ResetFinished c => OnResetFinished(s, c, now),
        EnvironmentCommands.DestroyFinished c => OnDestroyFinished(s, c, now),
        EnvironmentCommands.HealthChecked c => OnHealthChecked(s, c, now),
        EnvironmentCommands.LesseeAnswered c => OnLesseeAnswered(s, c),
        EnvironmentCommands.PoolAnswered c => OnPoolAnswered(s, c),
        _ => throw new ArgumentOutOfRangeException(nameof(command), command.GetType().Name, "unknown environment command"),
    };

    /// <summary>True when the environment's resource belongs on <paramref name="host"/> (ids without a node are not pinned).</summary>
    public static bool IsOwnedBy(string environmentId, string host)
    {
        var owner = EnvironmentIds.NodeOf(environmentId);
        return owner.Length == 0 || owner == host;
    }

    /// <summary>Whether the lessee should be asked if it still holds the lease (the actor asks on a timer).</summary>
    public static bool NeedsLesseeCheck(EnvironmentState s) =>
        s.Status == EnvironmentStatus.Leased && s.ExecsInFlight == 0 && !s.Destroying && s.LeasedTo is not null;

    /// <summary>Whether the scheduler should be asked if it still lists this idle environment.</summary>
    public static bool NeedsPoolCheck(EnvironmentState s) =>
        s.Status == EnvironmentStatus.Ready && !s.Destroying && s.DestroyWhenSettled is null;

    private static EnvironmentDecision OnProvision(EnvironmentState s, EnvironmentCommands.Provision c, string host, DateTimeOffset now)
    {
        if (!IsOwnedBy(s.EnvironmentId, host))
            return Refuse(s, c.TaskId, ForeignReason(s.EnvironmentId, host), lost: true);
        switch (s.Status)
        {
            case EnvironmentStatus.Unknown:
                return Persist(new EnvironmentEvents.Requested(s.EnvironmentId, c.Spec, c.TaskId, c.Attempt, now),
                    new EnvironmentEffects.Wait(EnvironmentEffects.WaitKind.Provision),
                    new EnvironmentEffects.StartProvision(c.Spec with { TaskId = c.TaskId }));
            case EnvironmentStatus.Provisioning when s.LeasedTo == c.TaskId && s.LeasedAttempt == c.Attempt:
                // A resent Provision (at-least-once): answered with the first one's outcome.
                return EnvironmentDecision.Do(new EnvironmentEffects.Wait(EnvironmentEffects.WaitKind.Provision));
            case EnvironmentStatus.Leased when s.LeasedTo == c.TaskId && s.LeasedAttempt == c.Attempt && !s.Destroying:
                return EnvironmentDecision.Do(new EnvironmentEffects.Reply(Ready(s, host)));
            default:
                return Refuse(s, c.TaskId, $"cannot provision: environment is {Describe(s)}", lost: s.IsGone);
        }
    }

    private static EnvironmentDecision OnLease(EnvironmentState s, EnvironmentCommands.Lease c, string host, DateTimeOffset now)
    {
        if (!IsOwnedBy(s.EnvironmentId, host))
            return Refuse(s, c.TaskId, ForeignReason(s.EnvironmentId, host), lost: true);
        if (s.Destroying || s.DestroyWhenSettled is not null)
            return Refuse(s, c.TaskId, "environment is being destroyed", lost: true);
        if (s.Status == EnvironmentStatus.Leased && s.LeasedTo == c.TaskId && s.LeasedAttempt == c.Attempt)
            return EnvironmentDecision.Do(new EnvironmentEffects.Reply(Ready(s, host))); // a resent Lease
        if (s.Status == EnvironmentStatus.Ready || (s.Status == EnvironmentStatus.Leased && s.LeasedTo == c.TaskId && s.ExecsInFlight == 0))
        {
            var leased = new EnvironmentEvents.Leased(s.EnvironmentId, c.TaskId, c.Attempt, now);
            return Persist(leased, new EnvironmentEffects.Reply(Ready(Apply(s, leased), host)));
        }
        return Refuse(s, c.TaskId, $"environment {s.EnvironmentId} is {Describe(s)}, not Ready",
            lost: s.IsGone || s.Status == EnvironmentStatus.Unknown);
    }

    private static EnvironmentDecision OnExec(EnvironmentState s, EnvironmentCommands.Exec c)
    {
        if (s.Status == EnvironmentStatus.Leased && s.LeasedTo == c.TaskId && !s.Destroying && s.DestroyWhenSettled is null)
            return EnvironmentDecision.Change(EnvironmentTransitions.ExecStarted.Instance, EnvironmentEffects.StartExec.Instance);
        return Refuse(s, c.TaskId, $"environment {s.EnvironmentId} is {Describe(s)} (leased to {s.LeasedTo ?? "nobody"}), not leased to {c.TaskId}", lost: s.IsGone);
    }

    private static EnvironmentDecision OnReset(EnvironmentState s, EnvironmentCommands.Reset c, string host, DateTimeOffset now)
    {
        if (!IsOwnedBy(s.EnvironmentId, host))
            return Refuse(s, c.TaskId, ForeignReason(s.EnvironmentId, host), lost: true);
        if (s.Status == EnvironmentStatus.Resetting && s.LeasedTo == c.TaskId)
            return EnvironmentDecision.Do(new EnvironmentEffects.Wait(EnvironmentEffects.WaitKind.Reset)); // a resent Reset
        if (s.Status == EnvironmentStatus.Ready && s.PreviousLessee == c.TaskId && !s.Destroying)
            return EnvironmentDecision.Do(new EnvironmentEffects.Reply(new ResetDone(s.EnvironmentId)));
        if (s.Destroying || s.DestroyWhenSettled is not null || s.ExecsInFlight > 0
            || !(s.Status == EnvironmentStatus.Leased && s.LeasedTo == c.TaskId))
            return Refuse(s, c.TaskId, $"cannot reset: environment is {Describe(s)}", lost: s.IsGone);
        return Persist(new EnvironmentEvents.ResetStarted(s.EnvironmentId, now),
            new EnvironmentEffects.Wait(EnvironmentEffects.WaitKind.Reset), EnvironmentEffects.StartReset.Instance);
    }

    private static EnvironmentDecision OnDestroy(EnvironmentState s, EnvironmentCommands.Destroy c)
    {
        if (s.IsGone || s.Status == EnvironmentStatus.Unknown)
            return EnvironmentDecision.Do(new EnvironmentEffects.Reply(new DestroyDone(s.EnvironmentId)), EnvironmentEffects.Passivate.Instance);
        var wait = new EnvironmentEffects.Wait(EnvironmentEffects.WaitKind.Destroy);
        // Already on its way out (e.g. the task's destroy and a pool drain): one destroy, every asker answered.
        if (s.Destroying || s.DestroyWhenSettled is not null) return EnvironmentDecision.Do(wait);
        // A provider call is creating or resetting the resource: destroy it when that call ends.
        if (s.Status is EnvironmentStatus.Provisioning or EnvironmentStatus.Resetting)
            return EnvironmentDecision.Change(new EnvironmentTransitions.DestroyDeferred(c.Reason), wait);
        return EnvironmentDecision.Change(EnvironmentTransitions.DestroyStarted.Instance, wait, new EnvironmentEffects.StartDestroy(c.Reason));
    }

    // The node's provider saw the resource die. With a command in flight, the loss is reported with
    // the command's outcome; otherwise the environment is lost now: an idle warm one leaves its
    // pool, and a leased one's task is told, so its attempt is retried.
    private static EnvironmentDecision OnResourceDied(EnvironmentState s, EnvironmentCommands.ResourceDied c, DateTimeOffset now)
    {
        if (s.Status is not (EnvironmentStatus.Ready or EnvironmentStatus.Leased) || s.Destroying) return EnvironmentDecision.None;
        if (s.ExecsInFlight > 0)
            return s.DiedDuringExec is null ? EnvironmentDecision.Change(new EnvironmentTransitions.DiedDuringExec(c.Reason)) : EnvironmentDecision.None;
        return Lose(s, c.Reason, now, removeLeftovers: true);
    }

    // Runs once the journal is replayed, on whichever node the shard now lives.
    private static EnvironmentDecision OnRecovered(EnvironmentState s, string host, DateTimeOffset now)
    {
        if (s.IsGone) return EnvironmentDecision.Do(EnvironmentEffects.Passivate.Instance);
        if (s.Status == EnvironmentStatus.Unknown) return EnvironmentDecision.None; // a fresh entity: its first message follows
        if (!IsOwnedBy(s.EnvironmentId, host))
            // Never adopted: its incarnation is gone, so is the environment. What is left of the
            // resource is removed where this node's provider can reach it (the same machine after a
            // restart, a shared engine); a provider that cannot see it treats it as already gone.
            return Lose(s, ForeignReason(s.EnvironmentId, host), now, removeLeftovers: true);
        return s.Status switch
        {
            // The provider call died with the previous incarnation of the actor; its outcome is unknowable.
            EnvironmentStatus.Provisioning => Lose(s, "provisioning was interrupted by a restart", now, removeLeftovers: true),
            EnvironmentStatus.Resetting => Lose(s, "reset was interrupted by a restart", now, removeLeftovers: true),
            // Whether the scheduler still lists an idle warm environment is unknowable from here, and a
            // pool entry nobody leases would hold its resource forever: leave the pool and destroy.
            EnvironmentStatus.Ready => EnvironmentDecision.Change(EnvironmentTransitions.DestroyStarted.Instance,
                EnvironmentEffects.RetireFromPool.Instance, new EnvironmentEffects.StartDestroy("idle warm environment after a restart")),
            _ => EnvironmentDecision.Do(EnvironmentEffects.CheckHealth.Instance),
        };
    }

    private static EnvironmentDecision OnProvisionFinished(EnvironmentState s, EnvironmentCommands.ProvisionFinished c, string host, DateTimeOffset now)
    {
        if (s.Status != EnvironmentStatus.Provisioning) return EnvironmentDecision.None;
        if (c.Handle is null)
            return Lose(s, $"provisioning failed: {c.Error}", now, removeLeftovers: true);
        var provisioned = new EnvironmentEvents.Provisioned(s.EnvironmentId, c.Handle, now);
        var after = Apply(s, provisioned);
        if (s.DestroyWhenSettled is { } reason)
            return new EnvironmentDecision([provisioned], [EnvironmentTransitions.DestroyStarted.Instance],
            [
                new EnvironmentEffects.Answer(EnvironmentEffects.WaitKind.Provision, Failed(s, s.LeasedTo, "destroyed as soon as it was provisioned", lost: true)),
                new EnvironmentEffects.StartDestroy(reason),
            ]);
        return Persist(provisioned, new EnvironmentEffects.Answer(EnvironmentEffects.WaitKind.Provision, Ready(after, host)));
    }

    private static EnvironmentDecision OnExecFinished(EnvironmentState s, EnvironmentCommands.ExecFinished c, DateTimeOffset now)
    {
        var ended = EnvironmentTransitions.ExecEnded.Instance;
        if (s.IsGone || s.Destroying)
            return EnvironmentDecision.Change(ended, new EnvironmentEffects.Reply(Failed(s, c.TaskId, s.EndReason ?? "environment is being destroyed", lost: true)));
        if (c.Error is null && s.DiedDuringExec is null)
            return EnvironmentDecision.Change(ended, EnvironmentEffects.ReplyExecResult.Instance);
        // The command's outcome comes first; even if it succeeded, the environment is gone after it.
        var reason = c.Error is null ? s.DiedDuringExec! : $"exec failed: {c.Error}";
        var lose = Lose(s, reason, now, removeLeftovers: true, notifyLessee: false);
        return new EnvironmentDecision(lose.Events, [ended], [new EnvironmentEffects.Reply(Failed(s, c.TaskId, reason, lost: true)), .. lose.Effects]);
    }

    private static EnvironmentDecision OnResetFinished(EnvironmentState s, EnvironmentCommands.ResetFinished c, DateTimeOffset now)
    {
        if (s.Status != EnvironmentStatus.Resetting) return EnvironmentDecision.None;
        if (c.Error is not null)
        {
            // Unusable now; what is left of it is removed.
            var reason = $"reset failed: {c.Error}";
            var lose = Lose(s, reason, now, removeLeftovers: true, notifyLessee: false);
            return new EnvironmentDecision(lose.Events, [],
                [new EnvironmentEffects.Answer(EnvironmentEffects.WaitKind.Reset, Failed(s, s.LeasedTo, reason, lost: true)), .. lose.Effects]);
        }
        var completed = new EnvironmentEvents.ResetCompleted(s.EnvironmentId, now);
        if (s.DestroyWhenSettled is { } destroyReason)
            return new EnvironmentDecision([completed], [EnvironmentTransitions.DestroyStarted.Instance],
            [
                new EnvironmentEffects.Answer(EnvironmentEffects.WaitKind.Reset, Failed(s, s.LeasedTo, "destroyed after its reset", lost: true)),
                new EnvironmentEffects.StartDestroy(destroyReason),
            ]);
        return Persist(completed, new EnvironmentEffects.Answer(EnvironmentEffects.WaitKind.Reset, new ResetDone(s.EnvironmentId)));
    }

    private static EnvironmentDecision OnDestroyFinished(EnvironmentState s, EnvironmentCommands.DestroyFinished c, DateTimeOffset now)
    {
        var done = new EnvironmentEffects.Answer(EnvironmentEffects.WaitKind.Destroy, new DestroyDone(s.EnvironmentId));
        if (s.IsGone) return EnvironmentDecision.Do(done, EnvironmentEffects.Passivate.Instance);
        return Persist(new EnvironmentEvents.Destroyed(s.EnvironmentId, c.Reason, now), done, EnvironmentEffects.Passivate.Instance);
    }

    private static EnvironmentDecision OnHealthChecked(EnvironmentState s, EnvironmentCommands.HealthChecked c, DateTimeOffset now)
    {
        if (s.IsGone || s.Destroying || s.Status is not (EnvironmentStatus.Leased or EnvironmentStatus.Ready)) return EnvironmentDecision.None;
        switch (c.Healthy)
        {
            case true:
                return s.Faults == 0 ? EnvironmentDecision.None : EnvironmentDecision.Change(new EnvironmentTransitions.Faulted(""));
            case false:
                return Lose(s, $"resource missing after restart{(c.Error is null ? "" : ": " + c.Error)}", now, removeLeftovers: true);
            default:
                // The check itself failed (engine unreachable, a provider bug): retry with backoff, then give up.
                var faults = s.Faults + 1;
                if (faults >= MaxFaults)
                    return Lose(s, $"gave up after {faults} failed health checks: {c.Error}", now, removeLeftovers: true);
                return EnvironmentDecision.Change(new EnvironmentTransitions.Faulted(c.Error ?? "health check failed"),
                    new EnvironmentEffects.Warn($"environment {s.EnvironmentId}: health check failed ({faults} of {MaxFaults}): {c.Error}"),
                    new EnvironmentEffects.RetryHealthCheckLater(faults));
        }
    }

    // A lease lasts only while its task attempt holds it. The lessee's release, reset or destroy can
    // be lost in a crash; then the environment reclaims itself, on two consecutive "not held" answers
    // (one could race a reset that is on its way).
    private static EnvironmentDecision OnLesseeAnswered(EnvironmentState s, EnvironmentCommands.LesseeAnswered c)
    {
        if (!NeedsLesseeCheck(s) || s.LeasedTo != c.TaskId || s.LeasedAttempt != c.Attempt || c.Holds is null) return EnvironmentDecision.None;
        // RetireFromPool too: a lost reusable release may have put it back in its pool meanwhile.
        return Strike(s, held: c.Holds.Value, $"lease of task {c.TaskId} attempt {c.Attempt} outlived its attempt", EnvironmentEffects.RetireFromPool.Instance);
    }

    // An idle warm environment that the scheduler no longer lists (its release was applied without it,
    // or a pool drain's destroy was lost) would never be leased again: destroy it.
    private static EnvironmentDecision OnPoolAnswered(EnvironmentState s, EnvironmentCommands.PoolAnswered c) =>
        !NeedsPoolCheck(s) || c.Listed is null
            ? EnvironmentDecision.None
            : Strike(s, held: c.Listed.Value, "idle environment not listed in any pool");

    /// <summary>A check's answer: held clears the strikes; the <see cref="StrikesToReclaim"/>-th "not held" in a row destroys the environment.</summary>
    private static EnvironmentDecision Strike(EnvironmentState s, bool held, string reason, params EnvironmentEffects.IEffect[] alsoOnReclaim)
    {
        if (held) return s.Strikes == 0 ? EnvironmentDecision.None : EnvironmentDecision.Change(new EnvironmentTransitions.Struck(0));
        if (s.Strikes + 1 < StrikesToReclaim) return EnvironmentDecision.Change(new EnvironmentTransitions.Struck(s.Strikes + 1));
        return new EnvironmentDecision([], [new EnvironmentTransitions.Struck(0), EnvironmentTransitions.DestroyStarted.Instance],
            [new EnvironmentEffects.Warn($"environment {s.EnvironmentId}: {reason}; destroying it"), .. alsoOnReclaim, new EnvironmentEffects.StartDestroy(reason)]);
    }

    /// <summary>Marks the environment Lost: the lessee hears at once, an idle one leaves its pool, what is left is removed.</summary>
    private static EnvironmentDecision Lose(EnvironmentState s, string reason, DateTimeOffset now, bool removeLeftovers, bool notifyLessee = true)
    {
        var effects = new List<EnvironmentEffects.IEffect> { new EnvironmentEffects.Warn($"environment {s.EnvironmentId} lost: {reason}") };
        if (removeLeftovers) effects.Add(EnvironmentEffects.RemoveLeftovers.Instance);
        var failed = Failed(s, s.LeasedTo, reason, lost: true);
        effects.Add(new EnvironmentEffects.Answer(EnvironmentEffects.WaitKind.Provision, failed));
        effects.Add(new EnvironmentEffects.Answer(EnvironmentEffects.WaitKind.Reset, failed));
        effects.Add(new EnvironmentEffects.Answer(EnvironmentEffects.WaitKind.Destroy, new DestroyDone(s.EnvironmentId)));
        if (s.Status == EnvironmentStatus.Ready) effects.Add(EnvironmentEffects.RetireFromPool.Instance);
        else if (notifyLessee && s.LeasedTo is { } lessee && s.Status is EnvironmentStatus.Leased or EnvironmentStatus.Provisioning)
            effects.Add(new EnvironmentEffects.NotifyLessee(new TaskProtocol.LeasedEnvironmentLost(lessee, s.LeasedAttempt, s.EnvironmentId, reason)));
        effects.Add(EnvironmentEffects.Passivate.Instance);
        return new EnvironmentDecision([new EnvironmentEvents.Lost(s.EnvironmentId, reason, now)], [], effects);
    }

    private static EnvironmentDecision Persist(EnvironmentEvents.IEnvironmentEvent e, params EnvironmentEffects.IEffect[] effects) =>
        EnvironmentDecision.Persist(e, effects);

    /// <summary>Refuses a command; an entity that never existed leaves memory (it would otherwise be remembered forever).</summary>
    private static EnvironmentDecision Refuse(EnvironmentState s, string? taskId, string reason, bool lost)
    {
        var reply = new EnvironmentEffects.Reply(Failed(s, taskId, reason, lost));
        return s.Status == EnvironmentStatus.Unknown
            ? EnvironmentDecision.Do(reply, EnvironmentEffects.Passivate.Instance)
            : EnvironmentDecision.Do(reply);
    }

    private static EnvironmentReady Ready(EnvironmentState s, string host) => new(s.EnvironmentId, s.LeasedTo!, s.LeasedAttempt, host);

    private static EnvironmentFailed Failed(EnvironmentState s, string? taskId, string reason, bool lost) => new(s.EnvironmentId, taskId ?? "", reason, lost);

    private static string ForeignReason(string environmentId, string host) =>
        $"its node incarnation {EnvironmentIds.NodeOf(environmentId)} is gone (the environment's shard is now on {host}); a resource is never adopted by another node";

    private static string Describe(EnvironmentState s) => s.Destroying ? $"{s.Status} (being destroyed)" : s.Status.ToString();

    public static EnvironmentState Apply(EnvironmentState s, EnvironmentEvents.IEnvironmentEvent e) => e switch
    {
        EnvironmentEvents.Requested x => s with
        {
            Status = EnvironmentStatus.Provisioning, Spec = x.Spec, LeasedTo = x.TaskId, LeasedAttempt = x.Attempt, RequestedAt = x.At,
        },
        EnvironmentEvents.Provisioned x => s with { Status = EnvironmentStatus.Leased, Handle = x.Handle, ReadyAt = x.At, Leases = s.Leases + 1 },
        EnvironmentEvents.Leased x => s with
        {
            Status = EnvironmentStatus.Leased, LeasedTo = x.TaskId, LeasedAttempt = x.Attempt, Leases = s.Leases + 1, Strikes = 0,
        },
        EnvironmentEvents.ResetStarted => s with { Status = EnvironmentStatus.Resetting },
        EnvironmentEvents.ResetCompleted => s with
        {
            Status = EnvironmentStatus.Ready, PreviousLessee = s.LeasedTo, LeasedTo = null, LeasedAttempt = 0, Strikes = 0,
        },
        EnvironmentEvents.Destroyed x => s with { Status = EnvironmentStatus.Destroyed, EndReason = x.Reason, LeasedTo = null, Destroying = false },
        EnvironmentEvents.Lost x => s with { Status = EnvironmentStatus.Lost, EndReason = x.Reason, LeasedTo = null, Destroying = false },
        _ => throw new ArgumentOutOfRangeException(nameof(e), e.GetType().Name, "unknown environment event"),
    };

    public static EnvironmentState Apply(EnvironmentState s, EnvironmentTransitions.ITransition t) => t switch
    {
        EnvironmentTransitions.ExecStarted => s with { ExecsInFlight = s.ExecsInFlight + 1 },
        EnvironmentTransitions.ExecEnded => s with { ExecsInFlight = Math.Max(0, s.ExecsInFlight - 1), DiedDuringExec = s.ExecsInFlight <= 1 ? null : s.DiedDuringExec },
        EnvironmentTransitions.DiedDuringExec x => s with { DiedDuringExec = x.Reason },
        EnvironmentTransitions.DestroyStarted => s with { Destroying = true, DestroyWhenSettled = null },
        EnvironmentTransitions.DestroyDeferred x => s with { DestroyWhenSettled = x.Reason },
        EnvironmentTransitions.Struck x => s with { Strikes = x.Strikes },
        EnvironmentTransitions.Faulted x => x.Fault.Length == 0 ? s with { Faults = 0, LastFault = null } : s with { Faults = s.Faults + 1, LastFault = x.Fault },
        _ => throw new ArgumentOutOfRangeException(nameof(t), t.GetType().Name, "unknown environment transition"),
    };

    /// <summary>Applies a decision's transitions (at once) — events are applied as they are written.</summary>
    public static EnvironmentState ApplyTransitions(EnvironmentState s, EnvironmentDecision d) =>
        d.Transitions.Aggregate(s, Apply);
}
