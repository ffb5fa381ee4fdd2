using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Environments;
using static MegaFlow.Domain.Tests.Environments.EnvironmentStates;
using Ev = MegaFlow.Contracts.Environments.EnvironmentEvents;
using Tr = MegaFlow.Domain.Environments.EnvironmentTransitions;

namespace MegaFlow.Domain.Tests.Environments;

/// <summary>
/// How events (the journal) and transitions (in flight, never journaled) fold into the state. A
/// recovered actor sees only the events, so what they leave is what survives a restart.
/// </summary>
public class EnvironmentApplyTests
{
    private static readonly DateTimeOffset T1 = T0.AddMinutes(1);

    [Fact]
    public void Requested_starts_provisioning_for_the_task_and_attempt()
    {
        var s = Apply(EnvironmentState.Empty(Id), new Ev.Requested(Id, Spec, Lessee, 2, T1));

        Assert.Equal(EnvironmentStatus.Provisioning, s.Status);
        Assert.Equal((Spec, Lessee, 2, T1), (s.Spec, s.LeasedTo, s.LeasedAttempt, s.RequestedAt));
        Assert.Equal(0, s.Leases);
    }

    [Fact]
    public void Provisioned_leases_the_environment_to_the_task_that_asked_for_it()
    {
        var s = Apply(At(EnvironmentStatus.Provisioning), new Ev.Provisioned(Id, Handle, T1));

        Assert.Equal(EnvironmentStatus.Leased, s.Status);
        Assert.Equal((Handle, T1, 1, Lessee, 1), (s.Handle, s.ReadyAt, s.Leases, s.LeasedTo, s.LeasedAttempt));
    }

    [Fact]
    public void Leased_counts_a_lease_and_forgives_strikes()
    {
        var s = Apply(Apply(At(EnvironmentStatus.Ready), new Tr.Struck(1)), new Ev.Leased(Id, OtherTask, 3, T1));

        Assert.Equal(EnvironmentStatus.Leased, s.Status);
        Assert.Equal((OtherTask, 3, 2, 0), (s.LeasedTo, s.LeasedAttempt, s.Leases, s.Strikes));
    }

    [Fact]
    public void ResetStarted_keeps_the_lessee_until_the_reset_completes()
    {
        var s = Apply(At(EnvironmentStatus.Leased), new Ev.ResetStarted(Id, T1));

        Assert.Equal(EnvironmentStatus.Resetting, s.Status);
        Assert.Equal((Lessee, 1), (s.LeasedTo, s.LeasedAttempt));
    }

    [Fact]
    public void ResetCompleted_makes_the_environment_idle_and_remembers_the_previous_lessee()
    {
        var s = Apply(Apply(At(EnvironmentStatus.Resetting), new Tr.Struck(1)), new Ev.ResetCompleted(Id, T1));

        Assert.Equal(EnvironmentStatus.Ready, s.Status);
        Assert.Equal((null, 0, Lessee, 0), (s.LeasedTo, s.LeasedAttempt, s.PreviousLessee, s.Strikes));
        Assert.Equal(Handle, s.Handle);
    }

    [Fact]
    public void Destroyed_ends_the_environment_with_its_reason()
    {
        var s = Apply(Destroying(EnvironmentStatus.Leased), new Ev.Destroyed(Id, "task finished", T1));

        Assert.Equal(EnvironmentStatus.Destroyed, s.Status);
        Assert.True(s.IsGone);
        Assert.Equal("task finished", s.EndReason);
        Assert.Null(s.LeasedTo);
        Assert.False(s.Destroying);
    }

    [Fact]
    public void Lost_ends_the_environment_with_its_reason()
    {
        var s = Apply(Destroying(EnvironmentStatus.Ready), new Ev.Lost(Id, "container vanished", T1));

        Assert.Equal(EnvironmentStatus.Lost, s.Status);
        Assert.True(s.IsGone);
        Assert.Equal("container vanished", s.EndReason);
        Assert.Null(s.LeasedTo);
        Assert.False(s.Destroying);
    }

    [Fact]
    public void Events_leave_the_in_flight_part_alone()
    {
        var s = Apply(Executing(2), new Tr.DiedDuringExec("oom"), new Tr.Faulted("busy"));

        var after = Apply(s, new Ev.Leased(Id, Lessee, 2, T1));

        Assert.Equal((2, "oom", 1, "busy"), (after.ExecsInFlight, after.DiedDuringExec, after.Faults, after.LastFault));
    }

    [Fact]
    public void An_unknown_event_is_a_programming_error()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => EnvironmentLogic.Apply(At(EnvironmentStatus.Leased), new UnheardEvent(Id)));
    }

    private sealed record UnheardEvent(string EnvironmentId) : Ev.IEnvironmentEvent;

    // ---------------------------------------------------------------- transitions

    [Fact]
    public void Execs_are_counted_in_and_out_and_never_below_zero()
    {
        var s = Apply(At(EnvironmentStatus.Leased), Tr.ExecStarted.Instance, Tr.ExecStarted.Instance);
        Assert.Equal(2, s.ExecsInFlight);

        s = Apply(s, Tr.ExecEnded.Instance, Tr.ExecEnded.Instance, Tr.ExecEnded.Instance);

        Assert.Equal(0, s.ExecsInFlight);
    }

    [Fact]
    public void A_death_during_commands_is_remembered_until_the_last_command_ends()
    {
        var s = Apply(Executing(2), new Tr.DiedDuringExec("oom"));

        s = Apply(s, Tr.ExecEnded.Instance);
        Assert.Equal((1, "oom"), (s.ExecsInFlight, s.DiedDuringExec));

        s = Apply(s, Tr.ExecEnded.Instance);
        Assert.Equal((0, null), (s.ExecsInFlight, s.DiedDuringExec));
    }

    [Fact]
    public void A_started_destroy_replaces_a_deferred_one()
    {
        var s = Apply(At(EnvironmentStatus.Provisioning), new Tr.DestroyDeferred("pool drained"));
        Assert.Equal(("pool drained", false), (s.DestroyWhenSettled, s.Destroying));

        s = Apply(s, Tr.DestroyStarted.Instance);

        Assert.Equal((null, true), (s.DestroyWhenSettled, s.Destroying));
    }

    [Fact]
    public void Strikes_are_set_not_added()
    {
        var s = Apply(At(EnvironmentStatus.Leased), new Tr.Struck(1), new Tr.Struck(1));
        Assert.Equal(1, s.Strikes);

        Assert.Equal(0, Apply(s, new Tr.Struck(0)).Strikes);
    }

    [Fact]
    public void Faults_add_up_and_an_empty_fault_clears_them()
    {
        var s = Apply(At(EnvironmentStatus.Leased), new Tr.Faulted("a"), new Tr.Faulted("b"));
        Assert.Equal((2, "b"), (s.Faults, s.LastFault));

        s = Apply(s, new Tr.Faulted(""));

        Assert.Equal((0, null), (s.Faults, s.LastFault));
    }

    [Fact]
    public void Transitions_never_change_the_journaled_part()
    {
        var s = At(EnvironmentStatus.Leased);
        Tr.ITransition[] all =
        [
            Tr.ExecStarted.Instance, Tr.ExecEnded.Instance, new Tr.DiedDuringExec("x"), Tr.DestroyStarted.Instance,
            new Tr.DestroyDeferred("x"), new Tr.Struck(1), new Tr.Faulted("x"),
        ];
        Assert.Equal(typeof(Tr).GetNestedTypes().Count(t => !t.IsInterface), all.Length);

        foreach (var t in all)
        {
            var after = EnvironmentLogic.Apply(s, t);
            Assert.Equal((s.Status, s.LeasedTo, s.LeasedAttempt, s.Leases, s.Handle, s.EndReason, s.PreviousLessee),
                (after.Status, after.LeasedTo, after.LeasedAttempt, after.Leases, after.Handle, after.EndReason, after.PreviousLessee));
        }
    }

    [Fact]
    public void ApplyTransitions_applies_a_decisions_transitions_in_order_and_ignores_its_events()
    {
        var d = new EnvironmentDecision([new Ev.Lost(Id, "x", T1)], [new Tr.Struck(1), Tr.DestroyStarted.Instance, new Tr.Struck(0)], []);

        var s = EnvironmentLogic.ApplyTransitions(At(EnvironmentStatus.Leased), d);

        Assert.Equal((EnvironmentStatus.Leased, 0, true), (s.Status, s.Strikes, s.Destroying));
    }

    [Fact]
    public void An_unknown_transition_is_a_programming_error()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => EnvironmentLogic.Apply(At(EnvironmentStatus.Leased), new UnheardTransition()));
    }

    private sealed record UnheardTransition : Tr.ITransition;
}
