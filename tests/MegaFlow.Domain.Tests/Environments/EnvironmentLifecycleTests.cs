using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Environments;
using static MegaFlow.Contracts.Environments.EnvironmentProtocol;
using static MegaFlow.Domain.Tests.Environments.EnvironmentStates;
using C = MegaFlow.Domain.Environments.EnvironmentCommands;
using E = MegaFlow.Domain.Environments.EnvironmentEffects;
using Ev = MegaFlow.Contracts.Environments.EnvironmentEvents;
using Tr = MegaFlow.Domain.Environments.EnvironmentTransitions;

namespace MegaFlow.Domain.Tests.Environments;

/// <summary>
/// The legal life of an environment on the node that owns it — provision, lease, exec, reset,
/// destroy — what each step journals, changes in flight and does, and how repeats and refusals
/// are answered.
/// </summary>
public class EnvironmentLifecycleTests
{
    private static readonly DateTimeOffset T1 = T0.AddMinutes(1);

    private static EnvironmentDecision Decide(EnvironmentState s, C.IEnvironmentCommand c) => EnvironmentLogic.Decide(s, c, Node, T1);

    private static EnvironmentFailed Refusal(EnvironmentDecision d)
    {
        Assert.Empty(d.Events);
        Assert.Empty(d.Transitions);
        return Assert.IsType<EnvironmentFailed>(Assert.IsType<E.Reply>(Assert.Single(d.Effects)).Message);
    }

    // ---------------------------------------------------------------- the whole life

    [Fact]
    public void A_persistent_environment_is_provisioned_used_reset_leased_again_and_destroyed()
    {
        var h = new EnvironmentHarness(Id, []);

        h.Send(new C.Provision(Spec, Lessee, 1));
        Assert.Equal(EnvironmentStatus.Provisioning, h.State.Status);
        h.Send(new C.ProvisionFinished(Handle, null));
        Assert.Equal(EnvironmentStatus.Leased, h.State.Status);
        h.Send(new C.Exec(Lessee));
        Assert.Equal(1, h.State.ExecsInFlight);
        h.Send(new C.ExecFinished(Lessee, null));
        Assert.Equal(0, h.State.ExecsInFlight);
        h.Send(new C.Reset(Lessee));
        Assert.Equal(EnvironmentStatus.Resetting, h.State.Status);
        h.Send(new C.ResetFinished(null));
        Assert.Equal(EnvironmentStatus.Ready, h.State.Status);
        h.Send(new C.Lease(OtherTask, 1));
        Assert.Equal((EnvironmentStatus.Leased, OtherTask, 2), (h.State.Status, h.State.LeasedTo, h.State.Leases));
        h.Send(new C.Destroy("task finished"));
        Assert.True(h.State.Destroying);
        h.Send(new C.DestroyFinished("task finished"));

        Assert.Equal(EnvironmentStatus.Destroyed, h.State.Status);
        Assert.Equal(
            [typeof(Ev.Requested), typeof(Ev.Provisioned), typeof(Ev.ResetStarted), typeof(Ev.ResetCompleted), typeof(Ev.Leased), typeof(Ev.Destroyed)],
            h.Journal.Select(e => e.GetType()));
        Assert.Equal(1, h.Count<E.StartProvision>());
        Assert.Equal(1, h.Count<E.StartDestroy>());
        Assert.True(h.Passivated);
    }

    // ---------------------------------------------------------------- provision

    [Fact]
    public void Provisioning_a_new_environment_records_the_request_waits_and_starts_the_provider_call_labelled_with_the_task()
    {
        var d = Decide(At(EnvironmentStatus.Unknown), new C.Provision(Spec, Lessee, 3));

        Assert.Equal([new Ev.Requested(Id, Spec, Lessee, 3, T1)], d.Events);
        Assert.Empty(d.Transitions);
        Assert.Equal([new E.Wait(E.WaitKind.Provision), new E.StartProvision(Spec with { TaskId = Lessee })], d.Effects);

        var s = Apply(At(EnvironmentStatus.Unknown), d.Events.ToArray());
        Assert.Equal(EnvironmentStatus.Provisioning, s.Status);
        Assert.Equal((Lessee, 3, T1), (s.LeasedTo, s.LeasedAttempt, s.RequestedAt));
        Assert.Equal(Spec, s.Spec);
        Assert.Null(s.Handle);
    }

    [Fact]
    public void A_resent_provision_while_provisioning_only_waits_for_the_first_ones_outcome()
    {
        var h = new EnvironmentHarness(Id, []);
        h.Send(new C.Provision(Spec, Lessee, 1));

        var again = h.Send(new C.Provision(Spec, Lessee, 1));

        Assert.Empty(again.Events);
        Assert.Empty(again.Transitions);
        Assert.Equal([new E.Wait(E.WaitKind.Provision)], again.Effects);
        Assert.Equal(1, h.Count<E.StartProvision>());

        var done = h.Send(new C.ProvisionFinished(Handle, null));
        Assert.Equal([new E.Answer(E.WaitKind.Provision, new EnvironmentReady(Id, Lessee, 1, Node))], done.Effects);
        Assert.Equal(0, h.Waiting(E.WaitKind.Provision));
    }

    [Fact]
    public void A_resent_provision_after_provisioning_is_answered_ready_for_its_attempt()
    {
        var d = Decide(At(EnvironmentStatus.Leased), new C.Provision(Spec, Lessee, 1));

        Assert.Empty(d.Events);
        Assert.Equal([new E.Reply(new EnvironmentReady(Id, Lessee, 1, Node))], d.Effects);
    }

    public static TheoryData<EnvironmentStatus, string, int> ProvisionsForSomeoneElse => new()
    {
        { EnvironmentStatus.Provisioning, OtherTask, 1 },
        { EnvironmentStatus.Provisioning, Lessee, 2 },
        { EnvironmentStatus.Leased, OtherTask, 1 },
        { EnvironmentStatus.Leased, Lessee, 2 },
        { EnvironmentStatus.Ready, Lessee, 1 },
        { EnvironmentStatus.Resetting, Lessee, 1 },
    };

    [Theory]
    [MemberData(nameof(ProvisionsForSomeoneElse))]
    public void A_provision_of_an_existing_environment_for_another_task_or_attempt_is_refused_and_calls_no_provider(EnvironmentStatus status, string task, int attempt)
    {
        var failed = Refusal(Decide(At(status), new C.Provision(Spec, task, attempt)));

        Assert.Equal(task, failed.TaskId);
        Assert.False(failed.Lost);
        Assert.Contains(status.ToString(), failed.Reason);
    }

    [Theory]
    [InlineData(EnvironmentStatus.Destroyed)]
    [InlineData(EnvironmentStatus.Lost)]
    public void A_provision_of_a_gone_environment_is_refused_as_lost(EnvironmentStatus status)
    {
        var failed = Refusal(Decide(At(status), new C.Provision(Spec, Lessee, 1)));

        Assert.Equal(new EnvironmentFailed(Id, Lessee, failed.Reason, Lost: true), failed);
    }

    [Fact]
    public void A_successful_provision_leases_the_environment_to_its_task_and_answers_every_waiter_ready()
    {
        var s = At(EnvironmentStatus.Provisioning);

        var d = Decide(s, new C.ProvisionFinished(Handle, null));

        Assert.Equal([new Ev.Provisioned(Id, Handle, T1)], d.Events);
        Assert.Empty(d.Transitions);
        Assert.Equal([new E.Answer(E.WaitKind.Provision, new EnvironmentReady(Id, Lessee, 1, Node))], d.Effects);
        s = Apply(s, d.Events.ToArray());
        Assert.Equal((EnvironmentStatus.Leased, Lessee, 1), (s.Status, s.LeasedTo, s.LeasedAttempt));
        Assert.Equal((Handle, T1, 1), (s.Handle, s.ReadyAt, s.Leases));
    }

    [Fact]
    public void A_failed_provision_loses_the_environment_removes_what_is_left_and_answers_the_waiters_lost()
    {
        var d = Decide(At(EnvironmentStatus.Provisioning), new C.ProvisionFinished(null, "image not found"));

        const string reason = "provisioning failed: image not found";
        Assert.Equal([new Ev.Lost(Id, reason, T1)], d.Events);
        Assert.Contains(E.RemoveLeftovers.Instance, d.Effects);
        Assert.Contains(new E.Answer(E.WaitKind.Provision, new EnvironmentFailed(Id, Lessee, reason, Lost: true)), d.Effects);
        Assert.Contains(new E.Answer(E.WaitKind.Destroy, new DestroyDone(Id)), d.Effects);
        Assert.DoesNotContain(d.Effects, e => e is E.RetireFromPool or E.StartDestroy);
        Assert.Equal(E.Passivate.Instance, d.Effects[^1]);
    }

    [Fact]
    public void A_destroy_asked_for_while_provisioning_starts_when_the_provision_succeeds_and_the_provision_waiters_hear_it_failed()
    {
        var h = EnvironmentHarness.At(EnvironmentStatus.Provisioning);
        var destroy = h.Send(new C.Destroy("pool drained"));
        Assert.Equal([new Tr.DestroyDeferred("pool drained")], destroy.Transitions);
        Assert.Equal([new E.Wait(E.WaitKind.Destroy)], destroy.Effects);
        Assert.Equal(0, h.Count<E.StartDestroy>());

        var d = h.Send(new C.ProvisionFinished(Handle, null));

        Assert.Equal([new Ev.Provisioned(Id, Handle, h.Now)], d.Events);
        Assert.Equal([Tr.DestroyStarted.Instance], d.Transitions);
        var answer = Assert.IsType<E.Answer>(d.Effects[0]);
        Assert.Equal(E.WaitKind.Provision, answer.Kind);
        Assert.True(Assert.IsType<EnvironmentFailed>(answer.Message).Lost);
        Assert.Equal(new E.StartDestroy("pool drained"), d.Effects[1]);
        Assert.Equal(2, d.Effects.Count);
        Assert.True(h.State.Destroying);
        Assert.Null(h.State.DestroyWhenSettled);
        Assert.Equal(Handle, h.State.Handle); // the destroy has the handle to remove

        var finished = h.Send(new C.DestroyFinished("pool drained"));
        Assert.Contains(new E.Answer(E.WaitKind.Destroy, new DestroyDone(Id)), finished.Effects);
        Assert.Equal(EnvironmentStatus.Destroyed, h.State.Status);
    }

    [Fact]
    public void A_failed_provision_with_a_destroy_deferred_answers_the_destroy_as_done()
    {
        var h = EnvironmentHarness.At(EnvironmentStatus.Provisioning);
        h.Send(new C.Destroy("pool drained"));

        var d = h.Send(new C.ProvisionFinished(null, "timeout"));

        Assert.IsType<Ev.Lost>(Assert.Single(d.Events));
        Assert.Contains(new E.Answer(E.WaitKind.Destroy, new DestroyDone(Id)), d.Effects);
        Assert.Equal(0, h.Waiting(E.WaitKind.Destroy));
        Assert.Equal(0, h.Count<E.StartDestroy>());
    }

    public static TheoryData<string> NotProvisioning =>
        new(Named.Select(n => n.Name).Where(n => !n.StartsWith("Provisioning", StringComparison.Ordinal)));

    [Theory]
    [MemberData(nameof(NotProvisioning))]
    public void A_provision_outcome_in_any_other_state_changes_nothing(string state)
    {
        Assert.Same(EnvironmentDecision.None, Decide(ByName(state), new C.ProvisionFinished(Handle, null)));
        Assert.Same(EnvironmentDecision.None, Decide(ByName(state), new C.ProvisionFinished(null, "late failure")));
    }

    // ---------------------------------------------------------------- lease

    [Fact]
    public void Leasing_a_ready_environment_records_the_lease_and_answers_ready()
    {
        var s = Apply(At(EnvironmentStatus.Ready), new Tr.Struck(1));

        var d = Decide(s, new C.Lease(OtherTask, 4));

        Assert.Equal([new Ev.Leased(Id, OtherTask, 4, T1)], d.Events);
        Assert.Empty(d.Transitions);
        Assert.Equal([new E.Reply(new EnvironmentReady(Id, OtherTask, 4, Node))], d.Effects);
        s = Apply(s, d.Events.ToArray());
        Assert.Equal((EnvironmentStatus.Leased, OtherTask, 4, 2, 0), (s.Status, s.LeasedTo, s.LeasedAttempt, s.Leases, s.Strikes));
    }

    [Fact]
    public void A_resent_lease_for_the_same_attempt_is_answered_ready_again_without_an_event()
    {
        var s = At(EnvironmentStatus.Leased);

        var d = Decide(s, new C.Lease(Lessee, 1));

        Assert.Empty(d.Events);
        Assert.Equal([new E.Reply(new EnvironmentReady(Id, Lessee, 1, Node))], d.Effects);
    }

    [Fact]
    public void A_resent_lease_is_answered_ready_even_while_its_task_runs_a_command()
    {
        var d = Decide(Executing(), new C.Lease(Lessee, 1));

        Assert.Equal([new E.Reply(new EnvironmentReady(Id, Lessee, 1, Node))], d.Effects);
    }

    [Fact]
    public void A_later_attempt_of_the_lessee_takes_over_its_idle_lease()
    {
        var d = Decide(At(EnvironmentStatus.Leased), new C.Lease(Lessee, 2));

        Assert.Equal([new Ev.Leased(Id, Lessee, 2, T1)], d.Events);
        Assert.Equal([new E.Reply(new EnvironmentReady(Id, Lessee, 2, Node))], d.Effects);
    }

    [Fact]
    public void A_later_attempt_of_the_lessee_cannot_take_over_while_a_command_runs()
    {
        var failed = Refusal(Decide(Executing(), new C.Lease(Lessee, 2)));

        Assert.False(failed.Lost);
    }

    [Fact]
    public void A_lease_of_an_environment_leased_to_another_task_is_refused()
    {
        var failed = Refusal(Decide(At(EnvironmentStatus.Leased), new C.Lease(OtherTask, 1)));

        Assert.Equal(OtherTask, failed.TaskId);
        Assert.False(failed.Lost);
    }

    [Theory]
    [InlineData(EnvironmentStatus.Provisioning)]
    [InlineData(EnvironmentStatus.Resetting)]
    public void A_lease_of_an_environment_that_is_not_ready_yet_is_refused(EnvironmentStatus status)
    {
        Assert.False(Refusal(Decide(At(status), new C.Lease(OtherTask, 1))).Lost);
    }

    public static TheoryData<string> BeingDestroyed => new("Leased+Destroying", "Provisioning+DestroyDeferred", "Resetting+DestroyDeferred");

    [Theory]
    [MemberData(nameof(BeingDestroyed))]
    public void A_lease_of_an_environment_being_destroyed_is_refused_as_lost(string state)
    {
        var failed = Refusal(Decide(ByName(state), new C.Lease(Lessee, 1)));

        Assert.True(failed.Lost);
        Assert.Contains("destroyed", failed.Reason);
    }

    [Fact]
    public void A_lease_of_a_ready_environment_whose_destroy_has_started_is_refused_as_lost()
    {
        Assert.True(Refusal(Decide(Destroying(EnvironmentStatus.Ready), new C.Lease(OtherTask, 1))).Lost);
    }

    [Fact]
    public void A_lease_of_an_environment_that_never_existed_is_refused_as_lost_and_the_entity_leaves_memory()
    {
        var d = Decide(At(EnvironmentStatus.Unknown), new C.Lease(Lessee, 1));

        Assert.Empty(d.Events);
        Assert.True(Assert.IsType<EnvironmentFailed>(Assert.IsType<E.Reply>(d.Effects[0]).Message).Lost);
        Assert.Equal(E.Passivate.Instance, d.Effects[1]);
    }

    // ---------------------------------------------------------------- exec

    [Fact]
    public void An_exec_by_the_lessee_counts_a_command_in_flight_and_starts_it()
    {
        var d = Decide(At(EnvironmentStatus.Leased), new C.Exec(Lessee));

        Assert.Empty(d.Events);
        Assert.Equal([Tr.ExecStarted.Instance], d.Transitions);
        Assert.Equal([E.StartExec.Instance], d.Effects);
    }

    [Fact]
    public void Commands_of_the_lessee_may_run_side_by_side()
    {
        var d = Decide(Executing(1), new C.Exec(Lessee));

        Assert.Equal([Tr.ExecStarted.Instance], d.Transitions);
        Assert.Equal(2, EnvironmentLogic.ApplyTransitions(Executing(1), d).ExecsInFlight);
    }

    public static TheoryData<string, string> ExecsNotAllowed()
    {
        var data = new TheoryData<string, string>();
        foreach (var (name, _) in Named)
        {
            data.Add(name, OtherTask);
            if (name is not ("Leased" or "Leased+Exec")) data.Add(name, Lessee);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ExecsNotAllowed))]
    public void An_exec_by_anyone_but_the_lessee_of_a_leased_environment_is_refused_and_runs_nothing(string state, string task)
    {
        var s = ByName(state);

        var d = Decide(s, new C.Exec(task));

        Assert.Empty(d.Events);
        Assert.Empty(d.Transitions);
        var failed = Assert.IsType<EnvironmentFailed>(Assert.IsType<E.Reply>(d.Effects[0]).Message);
        Assert.Equal(task, failed.TaskId);
        Assert.Equal(s.IsGone, failed.Lost);
        Assert.DoesNotContain(E.StartExec.Instance, d.Effects);
    }

    [Fact]
    public void A_finished_command_ends_and_its_result_goes_to_the_requester()
    {
        var s = Executing();

        var d = Decide(s, new C.ExecFinished(Lessee, null));

        Assert.Empty(d.Events);
        Assert.Equal([Tr.ExecEnded.Instance], d.Transitions);
        Assert.Equal([E.ReplyExecResult.Instance], d.Effects);
        Assert.Equal(0, EnvironmentLogic.ApplyTransitions(s, d).ExecsInFlight);
    }

    [Fact]
    public void A_command_the_provider_could_not_run_loses_the_environment_and_the_requester_hears_it_first()
    {
        var d = Decide(Executing(), new C.ExecFinished(Lessee, "engine unreachable"));

        const string reason = "exec failed: engine unreachable";
        Assert.Equal([new Ev.Lost(Id, reason, T1)], d.Events);
        Assert.Equal([Tr.ExecEnded.Instance], d.Transitions);
        Assert.Equal(new E.Reply(new EnvironmentFailed(Id, Lessee, reason, Lost: true)), d.Effects[0]);
        Assert.Contains(E.RemoveLeftovers.Instance, d.Effects);
        // The reply already tells the lessee; no separate notice.
        Assert.DoesNotContain(d.Effects, e => e is E.NotifyLessee);
        Assert.Equal(E.Passivate.Instance, d.Effects[^1]);
    }

    [Fact]
    public void A_resource_that_dies_during_a_command_is_reported_with_the_commands_outcome()
    {
        var h = new EnvironmentHarness(Id, Journal(EnvironmentStatus.Leased));
        h.Send(new C.Exec(Lessee));

        var died = h.Send(new C.ResourceDied("container killed"));

        Assert.Empty(died.Events);
        Assert.Equal([new Tr.DiedDuringExec("container killed")], died.Transitions);
        Assert.Empty(died.Effects);
        Assert.Equal(EnvironmentStatus.Leased, h.State.Status);

        // A second notice keeps the first reason.
        Assert.Same(EnvironmentDecision.None, h.Send(new C.ResourceDied("oom")));

        var finished = h.Send(new C.ExecFinished(Lessee, null));

        Assert.Equal([new Ev.Lost(Id, "container killed", h.Now)], finished.Events);
        Assert.Equal(new E.Reply(new EnvironmentFailed(Id, Lessee, "container killed", Lost: true)), finished.Effects[0]);
        Assert.Contains(E.RemoveLeftovers.Instance, finished.Effects);
        Assert.DoesNotContain(E.ReplyExecResult.Instance, finished.Effects);
        Assert.Equal(EnvironmentStatus.Lost, h.State.Status);
    }

    [Fact]
    public void A_command_that_ends_while_the_environment_is_destroyed_is_answered_failed_without_an_event()
    {
        var s = Apply(Executing(), Tr.DestroyStarted.Instance);

        var d = Decide(s, new C.ExecFinished(Lessee, null));

        Assert.Empty(d.Events);
        Assert.Equal([Tr.ExecEnded.Instance], d.Transitions);
        Assert.Equal([new E.Reply(new EnvironmentFailed(Id, Lessee, "environment is being destroyed", Lost: true))], d.Effects);
    }

    [Fact]
    public void A_command_that_ends_after_the_environment_is_gone_is_answered_with_why_it_ended()
    {
        var s = Apply(Executing(), new Ev.Lost(Id, "container vanished", T0));

        var d = Decide(s, new C.ExecFinished(Lessee, null));

        Assert.Empty(d.Events);
        Assert.Equal([new E.Reply(new EnvironmentFailed(Id, Lessee, "container vanished", Lost: true))], d.Effects);
        Assert.Equal(0, EnvironmentLogic.ApplyTransitions(s, d).ExecsInFlight);
    }

    // ---------------------------------------------------------------- reset

    [Fact]
    public void A_reset_by_the_lessee_records_it_waits_and_starts_the_provider_call()
    {
        var d = Decide(At(EnvironmentStatus.Leased), new C.Reset(Lessee));

        Assert.Equal([new Ev.ResetStarted(Id, T1)], d.Events);
        Assert.Empty(d.Transitions);
        Assert.Equal([new E.Wait(E.WaitKind.Reset), E.StartReset.Instance], d.Effects);
        Assert.Equal(EnvironmentStatus.Resetting, Apply(At(EnvironmentStatus.Leased), d.Events.ToArray()).Status);
    }

    [Fact]
    public void A_resent_reset_while_resetting_only_waits_for_the_running_reset()
    {
        var h = EnvironmentHarness.At(EnvironmentStatus.Leased);
        h.Send(new C.Reset(Lessee));

        var again = h.Send(new C.Reset(Lessee));

        Assert.Empty(again.Events);
        Assert.Equal([new E.Wait(E.WaitKind.Reset)], again.Effects);
        Assert.Equal(1, h.Count<E.StartReset>());
    }

    [Fact]
    public void A_resent_reset_after_the_reset_completed_is_answered_done_by_the_previous_lessee()
    {
        var s = At(EnvironmentStatus.Ready);
        Assert.Equal(Lessee, s.PreviousLessee);

        var d = Decide(s, new C.Reset(Lessee));

        Assert.Empty(d.Events);
        Assert.Equal([new E.Reply(new ResetDone(Id))], d.Effects);
    }

    [Fact]
    public void A_reset_while_a_command_runs_is_refused()
    {
        var failed = Refusal(Decide(Executing(), new C.Reset(Lessee)));

        Assert.False(failed.Lost);
    }

    [Fact]
    public void A_reset_of_an_environment_leased_to_another_task_is_refused()
    {
        var failed = Refusal(Decide(At(EnvironmentStatus.Leased), new C.Reset(OtherTask)));

        Assert.Equal(OtherTask, failed.TaskId);
        Assert.False(failed.Lost);
    }

    [Theory]
    [MemberData(nameof(BeingDestroyed))]
    public void A_reset_of_an_environment_being_destroyed_starts_nothing(string state)
    {
        var d = Decide(ByName(state), new C.Reset(OtherTask));

        Assert.Empty(d.Events);
        Assert.DoesNotContain(d.Effects, e => e is E.StartReset);
    }

    [Theory]
    [InlineData(EnvironmentStatus.Destroyed)]
    [InlineData(EnvironmentStatus.Lost)]
    public void A_reset_of_a_gone_environment_is_refused_as_lost(EnvironmentStatus status)
    {
        Assert.True(Refusal(Decide(At(status), new C.Reset(Lessee))).Lost);
    }

    [Fact]
    public void A_completed_reset_makes_the_environment_idle_and_answers_the_waiters_done()
    {
        var s = Apply(At(EnvironmentStatus.Resetting), new Tr.Struck(1));

        var d = Decide(s, new C.ResetFinished(null));

        Assert.Equal([new Ev.ResetCompleted(Id, T1)], d.Events);
        Assert.Empty(d.Transitions);
        Assert.Equal([new E.Answer(E.WaitKind.Reset, new ResetDone(Id))], d.Effects);
        s = Apply(s, d.Events.ToArray());
        Assert.Equal(EnvironmentStatus.Ready, s.Status);
        Assert.Null(s.LeasedTo);
        Assert.Equal(0, s.LeasedAttempt);
        Assert.Equal(Lessee, s.PreviousLessee);
        Assert.Equal(0, s.Strikes);
    }

    [Fact]
    public void A_failed_reset_loses_the_environment_and_answers_the_waiters_lost()
    {
        var d = Decide(At(EnvironmentStatus.Resetting), new C.ResetFinished("engine unreachable"));

        const string reason = "reset failed: engine unreachable";
        Assert.Equal([new Ev.Lost(Id, reason, T1)], d.Events);
        Assert.Empty(d.Transitions);
        Assert.Equal(new E.Answer(E.WaitKind.Reset, new EnvironmentFailed(Id, Lessee, reason, Lost: true)), d.Effects[0]);
        Assert.Contains(E.RemoveLeftovers.Instance, d.Effects);
        Assert.DoesNotContain(d.Effects, e => e is E.NotifyLessee); // the answer tells the lessee
        Assert.Equal(E.Passivate.Instance, d.Effects[^1]);
    }

    [Fact]
    public void A_destroy_asked_for_while_resetting_starts_when_the_reset_completes()
    {
        var h = EnvironmentHarness.At(EnvironmentStatus.Resetting);
        h.Send(new C.Destroy("pool drained"));

        var d = h.Send(new C.ResetFinished(null));

        Assert.Equal([new Ev.ResetCompleted(Id, h.Now)], d.Events);
        Assert.Equal([Tr.DestroyStarted.Instance], d.Transitions);
        Assert.Equal(E.WaitKind.Reset, Assert.IsType<E.Answer>(d.Effects[0]).Kind);
        Assert.True(Assert.IsType<EnvironmentFailed>(((E.Answer)d.Effects[0]).Message).Lost);
        Assert.Equal(new E.StartDestroy("pool drained"), d.Effects[1]);
        Assert.Equal((EnvironmentStatus.Ready, true), (h.State.Status, h.State.Destroying));
        Assert.False(EnvironmentLogic.NeedsPoolCheck(h.State));
    }

    public static TheoryData<string> NotResetting =>
        new(Named.Select(n => n.Name).Where(n => !n.StartsWith("Resetting", StringComparison.Ordinal)));

    [Theory]
    [MemberData(nameof(NotResetting))]
    public void A_reset_outcome_in_any_other_state_changes_nothing(string state)
    {
        Assert.Same(EnvironmentDecision.None, Decide(ByName(state), new C.ResetFinished(null)));
        Assert.Same(EnvironmentDecision.None, Decide(ByName(state), new C.ResetFinished("late failure")));
    }

    // ---------------------------------------------------------------- destroy

    [Theory]
    [InlineData(EnvironmentStatus.Ready)]
    [InlineData(EnvironmentStatus.Leased)]
    public void A_destroy_of_a_settled_environment_starts_at_once_and_waits(EnvironmentStatus status)
    {
        var d = Decide(At(status), new C.Destroy("task finished"));

        Assert.Empty(d.Events);
        Assert.Equal([Tr.DestroyStarted.Instance], d.Transitions);
        Assert.Equal([new E.Wait(E.WaitKind.Destroy), new E.StartDestroy("task finished")], d.Effects);
    }

    [Fact]
    public void A_destroy_while_a_command_runs_starts_at_once()
    {
        var d = Decide(Executing(), new C.Destroy("task cancelled"));

        Assert.Equal([Tr.DestroyStarted.Instance], d.Transitions);
        Assert.Contains(new E.StartDestroy("task cancelled"), d.Effects);
    }

    [Fact]
    public void Several_destroys_make_one_provider_call_and_every_asker_is_answered()
    {
        var h = EnvironmentHarness.At(EnvironmentStatus.Ready);

        h.Send(new C.Destroy("pool drained"));
        var second = h.Send(new C.Destroy("task finished"));

        Assert.Equal([new E.Wait(E.WaitKind.Destroy)], second.Effects);
        Assert.Empty(second.Transitions);
        Assert.Equal(1, h.Count<E.StartDestroy>());
        Assert.Equal(2, h.Waiting(E.WaitKind.Destroy));

        var done = h.Send(new C.DestroyFinished("pool drained"));
        Assert.Contains(new E.Answer(E.WaitKind.Destroy, new DestroyDone(Id)), done.Effects);
        Assert.Equal(0, h.Waiting(E.WaitKind.Destroy));
    }

    [Theory]
    [InlineData(EnvironmentStatus.Provisioning)]
    [InlineData(EnvironmentStatus.Resetting)]
    public void A_destroy_while_a_provider_call_creates_or_resets_the_resource_is_deferred_until_it_ends(EnvironmentStatus status)
    {
        var d = Decide(At(status), new C.Destroy("pool drained"));

        Assert.Empty(d.Events);
        Assert.Equal([new Tr.DestroyDeferred("pool drained")], d.Transitions);
        Assert.Equal([new E.Wait(E.WaitKind.Destroy)], d.Effects);
    }

    [Theory]
    [MemberData(nameof(BeingDestroyed))]
    public void A_destroy_of_an_environment_already_on_its_way_out_only_waits(string state)
    {
        var d = Decide(ByName(state), new C.Destroy("again"));

        Assert.Empty(d.Events);
        Assert.Empty(d.Transitions);
        Assert.Equal([new E.Wait(E.WaitKind.Destroy)], d.Effects);
    }

    [Theory]
    [InlineData(EnvironmentStatus.Unknown)]
    [InlineData(EnvironmentStatus.Destroyed)]
    [InlineData(EnvironmentStatus.Lost)]
    public void A_destroy_of_an_environment_that_is_gone_or_never_existed_is_done_at_once(EnvironmentStatus status)
    {
        var d = Decide(At(status), new C.Destroy("task finished"));

        Assert.Empty(d.Events);
        Assert.Empty(d.Transitions);
        Assert.Equal([new E.Reply(new DestroyDone(Id)), E.Passivate.Instance], d.Effects);
    }

    [Fact]
    public void A_finished_destroy_records_it_answers_the_waiters_and_leaves_memory()
    {
        var s = Destroying(EnvironmentStatus.Leased);

        var d = Decide(s, new C.DestroyFinished("task finished"));

        Assert.Equal([new Ev.Destroyed(Id, "task finished", T1)], d.Events);
        Assert.Empty(d.Transitions);
        Assert.Equal([new E.Answer(E.WaitKind.Destroy, new DestroyDone(Id)), E.Passivate.Instance], d.Effects);
        s = Apply(s, d.Events.ToArray());
        Assert.Equal((EnvironmentStatus.Destroyed, "task finished"), (s.Status, s.EndReason));
        Assert.Null(s.LeasedTo);
        Assert.False(s.Destroying);
    }

    [Fact]
    public void A_destroy_that_finishes_after_the_environment_was_lost_only_answers_and_leaves()
    {
        var d = Decide(At(EnvironmentStatus.Lost), new C.DestroyFinished("task finished"));

        Assert.Empty(d.Events);
        Assert.Equal([new E.Answer(E.WaitKind.Destroy, new DestroyDone(Id)), E.Passivate.Instance], d.Effects);
    }

    [Fact]
    public void A_destroy_reports_the_provider_error_in_the_destroyed_reason()
    {
        var d = Decide(Destroying(EnvironmentStatus.Ready), new C.DestroyFinished("pool drained (destroy error: timeout)"));

        Assert.Equal("pool drained (destroy error: timeout)", Assert.IsType<Ev.Destroyed>(Assert.Single(d.Events)).Reason);
    }

    // ---------------------------------------------------------------- checks the actor runs on a timer

    public static TheoryData<string, bool, bool> CheckTable => new()
    {
        { "Unknown", false, false },
        { "Provisioning", false, false },
        { "Ready", false, true },
        { "Leased", true, false },
        { "Resetting", false, false },
        { "Destroyed", false, false },
        { "Lost", false, false },
        { "Leased+Destroying", false, false },
        { "Provisioning+DestroyDeferred", false, false },
        { "Resetting+DestroyDeferred", false, false },
        { "Leased+Exec", false, false },
    };

    [Theory]
    [MemberData(nameof(CheckTable))]
    public void A_leased_environment_checks_its_lessee_only_when_idle_and_an_idle_ready_one_its_pool(string state, bool lessee, bool pool)
    {
        var s = ByName(state);

        Assert.Equal(lessee, EnvironmentLogic.NeedsLesseeCheck(s));
        Assert.Equal(pool, EnvironmentLogic.NeedsPoolCheck(s));
    }

    [Fact]
    public void A_ready_environment_whose_destroy_started_checks_nothing()
    {
        Assert.False(EnvironmentLogic.NeedsPoolCheck(Destroying(EnvironmentStatus.Ready)));
        Assert.False(EnvironmentLogic.NeedsLesseeCheck(Destroying(EnvironmentStatus.Ready)));
    }

    [Fact]
    public void A_leased_environment_without_a_lessee_checks_nothing()
    {
        Assert.False(EnvironmentLogic.NeedsLesseeCheck(At(EnvironmentStatus.Leased) with { LeasedTo = null }));
    }
}
