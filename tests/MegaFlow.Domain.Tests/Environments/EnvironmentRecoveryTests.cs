using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Environments;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using static MegaFlow.Domain.Tests.Environments.EnvironmentStates;
using C = MegaFlow.Domain.Environments.EnvironmentCommands;
using E = MegaFlow.Domain.Environments.EnvironmentEffects;
using Ev = MegaFlow.Contracts.Environments.EnvironmentEvents;
using Tr = MegaFlow.Domain.Environments.EnvironmentTransitions;

namespace MegaFlow.Domain.Tests.Environments;

/// <summary>
/// What an environment does when its actor comes back on the node that owns it, when its resource
/// dies on its own, and what its checks decide: the health check after a restart, the lessee check
/// of a leased environment and the pool check of an idle one.
/// </summary>
public class EnvironmentRecoveryTests
{
    private static readonly DateTimeOffset T1 = T0.AddMinutes(1);

    private static EnvironmentDecision Decide(EnvironmentState s, C.IEnvironmentCommand c) => EnvironmentLogic.Decide(s, c, Node, T1);

    private static TaskProtocol.LeasedEnvironmentLost Notice(string reason) => new(Lessee, 1, Id, reason);

    // ---------------------------------------------------------------- recovery on the owner

    [Fact]
    public void A_provision_interrupted_by_a_restart_is_lost_its_leftovers_removed_and_its_lessee_told()
    {
        var d = Decide(At(EnvironmentStatus.Provisioning), C.Recovered.Instance);

        const string reason = "provisioning was interrupted by a restart";
        Assert.Equal([new Ev.Lost(Id, reason, T1)], d.Events);
        Assert.Empty(d.Transitions);
        Assert.Contains(E.RemoveLeftovers.Instance, d.Effects);
        Assert.Contains(new E.NotifyLessee(Notice(reason)), d.Effects);
        Assert.DoesNotContain(d.Effects, e => e is E.StartProvision or E.RetireFromPool);
        Assert.Equal(E.Passivate.Instance, d.Effects[^1]);
    }

    [Fact]
    public void A_reset_interrupted_by_a_restart_is_lost_and_its_leftovers_removed()
    {
        var d = Decide(At(EnvironmentStatus.Resetting), C.Recovered.Instance);

        Assert.Equal([new Ev.Lost(Id, "reset was interrupted by a restart", T1)], d.Events);
        Assert.Contains(E.RemoveLeftovers.Instance, d.Effects);
        Assert.DoesNotContain(d.Effects, e => e is E.StartReset);
        Assert.Equal(E.Passivate.Instance, d.Effects[^1]);
    }

    [Fact]
    public void An_idle_environment_after_a_restart_leaves_its_pool_and_is_destroyed()
    {
        var d = Decide(At(EnvironmentStatus.Ready), C.Recovered.Instance);

        Assert.Empty(d.Events);
        Assert.Equal([Tr.DestroyStarted.Instance], d.Transitions);
        Assert.Equal([E.RetireFromPool.Instance, new E.StartDestroy("idle warm environment after a restart")], d.Effects);
    }

    [Fact]
    public void A_leased_environment_after_a_restart_checks_its_health()
    {
        var d = Decide(At(EnvironmentStatus.Leased), C.Recovered.Instance);

        Assert.Empty(d.Events);
        Assert.Empty(d.Transitions);
        Assert.Equal([E.CheckHealth.Instance], d.Effects);
    }

    [Theory]
    [InlineData(EnvironmentStatus.Destroyed)]
    [InlineData(EnvironmentStatus.Lost)]
    public void A_gone_environment_after_a_restart_only_leaves_memory(EnvironmentStatus status)
    {
        var d = Decide(At(status), C.Recovered.Instance);

        Assert.Empty(d.Events);
        Assert.Empty(d.Transitions);
        Assert.Equal([E.Passivate.Instance], d.Effects);
    }

    [Fact]
    public void A_fresh_entity_does_nothing_on_recovery_its_first_message_follows()
    {
        Assert.Same(EnvironmentDecision.None, Decide(At(EnvironmentStatus.Unknown), C.Recovered.Instance));
    }

    [Fact]
    public void A_restart_forgets_what_was_in_flight()
    {
        var h = EnvironmentHarness.At(EnvironmentStatus.Leased);
        h.Send(new C.Exec(Lessee));
        h.Send(new C.ResourceDied("oom"));
        h.Send(new C.LesseeAnswered(Lessee, 1, false));

        h.Restart();

        Assert.Equal((0, null, 0, false), (h.State.ExecsInFlight, h.State.DiedDuringExec, h.State.Strikes, h.State.Destroying));
        Assert.Equal(EnvironmentStatus.Leased, h.State.Status);
    }

    // ---------------------------------------------------------------- the health check after a restart

    [Theory]
    [InlineData(EnvironmentStatus.Leased)]
    [InlineData(EnvironmentStatus.Ready)]
    public void A_healthy_environment_with_no_faults_changes_nothing(EnvironmentStatus status)
    {
        Assert.Same(EnvironmentDecision.None, Decide(At(status), new C.HealthChecked(true, null)));
    }

    [Fact]
    public void A_healthy_answer_clears_the_faults_of_earlier_checks()
    {
        var s = Apply(At(EnvironmentStatus.Leased), new Tr.Faulted("engine unreachable"), new Tr.Faulted("engine unreachable"));

        var d = Decide(s, new C.HealthChecked(true, null));

        Assert.Empty(d.Events);
        Assert.Equal([new Tr.Faulted("")], d.Transitions);
        Assert.Empty(d.Effects);
        s = EnvironmentLogic.ApplyTransitions(s, d);
        Assert.Equal((0, null), (s.Faults, s.LastFault));
    }

    [Fact]
    public void A_leased_environment_whose_resource_is_missing_is_lost_and_its_lessee_told()
    {
        var d = Decide(At(EnvironmentStatus.Leased), new C.HealthChecked(false, "no such container"));

        const string reason = "resource missing after restart: no such container";
        Assert.Equal([new Ev.Lost(Id, reason, T1)], d.Events);
        Assert.Contains(E.RemoveLeftovers.Instance, d.Effects);
        Assert.Contains(new E.NotifyLessee(Notice(reason)), d.Effects);
        Assert.Equal(E.Passivate.Instance, d.Effects[^1]);
    }

    [Fact]
    public void A_ready_environment_whose_resource_is_missing_is_lost_and_leaves_its_pool()
    {
        var d = Decide(At(EnvironmentStatus.Ready), new C.HealthChecked(false, null));

        Assert.Equal([new Ev.Lost(Id, "resource missing after restart", T1)], d.Events);
        Assert.Contains(E.RetireFromPool.Instance, d.Effects);
        Assert.DoesNotContain(d.Effects, e => e is E.NotifyLessee);
    }

    [Fact]
    public void A_health_check_that_itself_fails_is_retried_later_with_a_warning()
    {
        var s = At(EnvironmentStatus.Leased);

        var d = Decide(s, new C.HealthChecked(null, "engine unreachable"));

        Assert.Empty(d.Events);
        Assert.Equal([new Tr.Faulted("engine unreachable")], d.Transitions);
        Assert.IsType<E.Warn>(d.Effects[0]);
        Assert.Equal(new E.RetryHealthCheckLater(1), d.Effects[1]);
        Assert.Equal(2, d.Effects.Count);
        s = EnvironmentLogic.ApplyTransitions(s, d);
        Assert.Equal((1, "engine unreachable"), (s.Faults, s.LastFault));
    }

    [Fact]
    public void After_MaxFaults_failed_health_checks_in_a_row_the_environment_gives_up_and_is_lost()
    {
        var h = EnvironmentHarness.At(EnvironmentStatus.Leased);
        h.Restart();

        for (var fault = 1; fault < EnvironmentLogic.MaxFaults; fault++)
        {
            var d = h.Send(new C.HealthChecked(null, "engine unreachable"));
            Assert.Contains(new E.RetryHealthCheckLater(fault), d.Effects);
            Assert.Equal(fault, h.State.Faults);
            h.Send(C.Recovered.Instance); // the retry
            Assert.True(h.CheckingHealth);
        }

        var last = h.Send(new C.HealthChecked(null, "engine unreachable"));

        var lost = Assert.IsType<Ev.Lost>(Assert.Single(last.Events));
        Assert.StartsWith($"gave up after {EnvironmentLogic.MaxFaults} failed health checks", lost.Reason);
        Assert.Contains(E.RemoveLeftovers.Instance, last.Effects);
        Assert.Contains(new E.NotifyLessee(Notice(lost.Reason)), last.Effects);
        Assert.DoesNotContain(last.Effects, e => e is E.RetryHealthCheckLater);
    }

    [Fact]
    public void Faults_separated_by_a_healthy_answer_do_not_add_up()
    {
        var h = EnvironmentHarness.At(EnvironmentStatus.Leased);
        h.Restart();
        for (var i = 1; i < EnvironmentLogic.MaxFaults; i++) h.Send(new C.HealthChecked(null, "busy"));
        h.Send(new C.HealthChecked(true, null));

        var d = h.Send(new C.HealthChecked(null, "busy"));

        Assert.Empty(d.Events);
        Assert.Contains(new E.RetryHealthCheckLater(1), d.Effects);
    }

    public static TheoryData<string> NotSettled => new("Unknown", "Provisioning", "Resetting", "Destroyed", "Lost", "Provisioning+DestroyDeferred", "Resetting+DestroyDeferred");

    [Theory]
    [MemberData(nameof(NotSettled))]
    public void A_health_answer_for_an_environment_that_is_not_ready_or_leased_changes_nothing(string state)
    {
        foreach (var healthy in new bool?[] { true, false, null })
            Assert.Same(EnvironmentDecision.None, Decide(ByName(state), new C.HealthChecked(healthy, "x")));
    }

    // ---------------------------------------------------------------- the resource dies on its own

    [Fact]
    public void An_idle_environment_whose_resource_died_is_lost_and_leaves_its_pool()
    {
        var d = Decide(At(EnvironmentStatus.Ready), new C.ResourceDied("container killed"));

        Assert.Equal([new Ev.Lost(Id, "container killed", T1)], d.Events);
        Assert.Contains(E.RetireFromPool.Instance, d.Effects);
        Assert.Contains(E.RemoveLeftovers.Instance, d.Effects);
        Assert.DoesNotContain(d.Effects, e => e is E.NotifyLessee);
        Assert.Equal(E.Passivate.Instance, d.Effects[^1]);
    }

    [Fact]
    public void A_leased_environment_whose_resource_died_between_commands_is_lost_and_its_lessee_told_at_once()
    {
        var d = Decide(At(EnvironmentStatus.Leased), new C.ResourceDied("container killed"));

        Assert.Equal([new Ev.Lost(Id, "container killed", T1)], d.Events);
        Assert.Contains(new E.NotifyLessee(Notice("container killed")), d.Effects);
        Assert.Contains(E.RemoveLeftovers.Instance, d.Effects);
        Assert.DoesNotContain(d.Effects, e => e is E.RetireFromPool);
    }

    public static TheoryData<string> DeathIgnored => new(
        "Unknown", "Provisioning", "Resetting", "Destroyed", "Lost", "Leased+Destroying",
        "Provisioning+DestroyDeferred", "Resetting+DestroyDeferred");

    [Theory]
    [MemberData(nameof(DeathIgnored))]
    public void A_resource_death_outside_ready_or_leased_or_during_a_destroy_changes_nothing(string state)
    {
        Assert.Same(EnvironmentDecision.None, Decide(ByName(state), new C.ResourceDied("container killed")));
    }

    [Fact]
    public void A_resource_death_while_a_ready_environment_is_destroyed_changes_nothing()
    {
        Assert.Same(EnvironmentDecision.None, Decide(Destroying(EnvironmentStatus.Ready), new C.ResourceDied("container killed")));
    }

    // ---------------------------------------------------------------- the lessee check

    [Fact]
    public void A_lessee_that_holds_its_lease_changes_nothing()
    {
        Assert.Same(EnvironmentDecision.None, Decide(At(EnvironmentStatus.Leased), new C.LesseeAnswered(Lessee, 1, true)));
    }

    [Fact]
    public void One_answer_that_the_lease_is_not_held_is_only_a_strike()
    {
        var d = Decide(At(EnvironmentStatus.Leased), new C.LesseeAnswered(Lessee, 1, false));

        Assert.Empty(d.Events);
        Assert.Equal([new Tr.Struck(1)], d.Transitions);
        Assert.Empty(d.Effects);
    }

    [Fact]
    public void StrikesToReclaim_answers_in_a_row_that_the_lease_is_not_held_reclaim_the_environment()
    {
        var h = EnvironmentHarness.At(EnvironmentStatus.Leased);
        for (var i = 1; i < EnvironmentLogic.StrikesToReclaim; i++) h.Send(new C.LesseeAnswered(Lessee, 1, false));

        var d = h.Send(new C.LesseeAnswered(Lessee, 1, false));

        const string reason = "lease of task task-1 attempt 1 outlived its attempt";
        Assert.Empty(d.Events);
        Assert.Equal([new Tr.Struck(0), Tr.DestroyStarted.Instance], d.Transitions);
        Assert.IsType<E.Warn>(d.Effects[0]);
        Assert.Equal([E.RetireFromPool.Instance, new E.StartDestroy(reason)], d.Effects.Skip(1));
        Assert.True(h.State.Destroying);
        Assert.False(EnvironmentLogic.NeedsLesseeCheck(h.State));

        h.Send(new C.DestroyFinished(reason));
        Assert.Equal(EnvironmentStatus.Destroyed, h.State.Status);
    }

    [Fact]
    public void An_answer_that_the_lease_holds_forgives_the_strikes()
    {
        var h = EnvironmentHarness.At(EnvironmentStatus.Leased);
        h.Send(new C.LesseeAnswered(Lessee, 1, false));

        var holds = h.Send(new C.LesseeAnswered(Lessee, 1, true));
        var notHeld = h.Send(new C.LesseeAnswered(Lessee, 1, false));

        Assert.Equal([new Tr.Struck(0)], holds.Transitions);
        Assert.Equal([new Tr.Struck(1)], notHeld.Transitions);
        Assert.Equal(0, h.Count<E.StartDestroy>());
    }

    [Fact]
    public void No_answer_from_the_lessee_is_neither_a_strike_nor_a_pardon()
    {
        var s = Apply(At(EnvironmentStatus.Leased), new Tr.Struck(1));

        Assert.Same(EnvironmentDecision.None, Decide(s, new C.LesseeAnswered(Lessee, 1, null)));
    }

    [Theory]
    [InlineData(Lessee, 2)]
    [InlineData(OtherTask, 1)]
    public void An_answer_about_another_lease_changes_nothing(string task, int attempt)
    {
        var s = Apply(At(EnvironmentStatus.Leased), new Tr.Struck(1));

        Assert.Same(EnvironmentDecision.None, Decide(s, new C.LesseeAnswered(task, attempt, false)));
    }

    [Fact]
    public void A_lessee_answer_that_arrives_after_the_lease_changed_hands_changes_nothing()
    {
        var h = EnvironmentHarness.At(EnvironmentStatus.Leased);
        h.Send(new C.LesseeAnswered(Lessee, 1, false));
        h.Send(new C.Reset(Lessee));
        h.Send(new C.ResetFinished(null));
        h.Send(new C.Lease(OtherTask, 1));

        Assert.Equal(0, h.State.Strikes);
        Assert.Same(EnvironmentDecision.None, h.Send(new C.LesseeAnswered(Lessee, 1, false)));
    }

    public static TheoryData<string> NoLesseeCheck => new(
        "Unknown", "Provisioning", "Ready", "Resetting", "Destroyed", "Lost", "Leased+Destroying", "Leased+Exec");

    [Theory]
    [MemberData(nameof(NoLesseeCheck))]
    public void A_lessee_answer_where_no_lessee_check_is_due_changes_nothing(string state)
    {
        var s = Apply(ByName(state), new Tr.Struck(1));

        Assert.Same(EnvironmentDecision.None, Decide(s, new C.LesseeAnswered(Lessee, 1, false)));
    }

    // ---------------------------------------------------------------- the pool check

    [Fact]
    public void An_idle_environment_its_pool_lists_changes_nothing()
    {
        Assert.Same(EnvironmentDecision.None, Decide(At(EnvironmentStatus.Ready), new C.PoolAnswered(true)));
    }

    [Fact]
    public void One_answer_that_no_pool_lists_it_is_only_a_strike()
    {
        var d = Decide(At(EnvironmentStatus.Ready), new C.PoolAnswered(false));

        Assert.Empty(d.Events);
        Assert.Equal([new Tr.Struck(1)], d.Transitions);
        Assert.Empty(d.Effects);
    }

    [Fact]
    public void StrikesToReclaim_answers_in_a_row_that_no_pool_lists_it_destroy_the_idle_environment()
    {
        var h = EnvironmentHarness.At(EnvironmentStatus.Ready);
        for (var i = 1; i < EnvironmentLogic.StrikesToReclaim; i++) h.Send(new C.PoolAnswered(false));

        var d = h.Send(new C.PoolAnswered(false));

        Assert.Empty(d.Events);
        Assert.Equal([new Tr.Struck(0), Tr.DestroyStarted.Instance], d.Transitions);
        Assert.IsType<E.Warn>(d.Effects[0]);
        // Not listed anywhere: nothing to retire from.
        Assert.Equal([new E.StartDestroy("idle environment not listed in any pool")], d.Effects.Skip(1));
        Assert.False(EnvironmentLogic.NeedsPoolCheck(h.State));
    }

    [Fact]
    public void A_listing_forgives_the_strikes_and_no_answer_changes_nothing()
    {
        var struck = Apply(At(EnvironmentStatus.Ready), new Tr.Struck(1));

        Assert.Equal([new Tr.Struck(0)], Decide(struck, new C.PoolAnswered(true)).Transitions);
        Assert.Same(EnvironmentDecision.None, Decide(struck, new C.PoolAnswered(null)));
    }

    [Theory]
    [InlineData("Unknown")]
    [InlineData("Provisioning")]
    [InlineData("Leased")]
    [InlineData("Resetting")]
    [InlineData("Destroyed")]
    [InlineData("Lost")]
    [InlineData("Leased+Exec")]
    public void A_pool_answer_where_no_pool_check_is_due_changes_nothing(string state)
    {
        var s = Apply(ByName(state), new Tr.Struck(1));

        Assert.Same(EnvironmentDecision.None, Decide(s, new C.PoolAnswered(false)));
    }

    [Fact]
    public void A_pool_answer_while_an_idle_environment_is_destroyed_changes_nothing()
    {
        var s = Apply(Destroying(EnvironmentStatus.Ready), new Tr.Struck(1));

        Assert.Same(EnvironmentDecision.None, Decide(s, new C.PoolAnswered(false)));
    }

    // ---------------------------------------------------------------- the retried health check
    //
    // After a failed health check the actor repeats only the check (Recheck), later, in an
    // incarnation that has been running all along with provider calls of its own in flight: a reset
    // or destroy started meanwhile must not be treated as interrupted.

    /// <summary>A restarted leased environment whose first health check failed: a retry is scheduled.</summary>
    private static EnvironmentHarness LeasedWithARecoveryRetryPending()
    {
        var h = EnvironmentHarness.At(EnvironmentStatus.Leased);
        h.Restart();
        h.Send(new C.HealthChecked(null, "engine unreachable"));
        Assert.True(h.RecoveryRetryPending);
        return h;
    }

    [Fact]
    public void A_health_check_retry_checks_a_leased_environment_again_and_a_healthy_answer_clears_the_faults()
    {
        var h = LeasedWithARecoveryRetryPending();
        var retry = h.Send(C.Recheck.Instance);
        Assert.Equal([E.CheckHealth.Instance], retry.Effects);
        h.Send(new C.HealthChecked(true, null));
        Assert.Equal(0, h.State.Faults);
        Assert.Equal(EnvironmentStatus.Leased, h.State.Status);
    }

    [Fact]
    public void A_health_check_retry_does_not_lose_an_environment_whose_reset_this_incarnation_started()
    {
        var h = LeasedWithARecoveryRetryPending();
        h.Send(new C.Reset(Lessee)); // the task's run ended before the retry timer fired
        Assert.True(h.ResettingCall);

        var retry = h.Send(C.Recheck.Instance);

        // The reset is running, not interrupted: nothing may be lost or removed under it.
        Assert.DoesNotContain(retry.Events, e => e is Ev.Lost);
        Assert.DoesNotContain(E.RemoveLeftovers.Instance, retry.Effects);
        h.Send(new C.ResetFinished(null));
        Assert.Equal(EnvironmentStatus.Ready, h.State.Status);
    }

    [Fact]
    public void A_health_check_retry_does_not_start_a_second_destroy()
    {
        var h = LeasedWithARecoveryRetryPending();
        h.Send(new C.Reset(Lessee));
        h.Send(new C.ResetFinished(null));
        h.Send(new C.Destroy("pool drained"));
        Assert.True(h.State.Destroying);

        h.Send(C.Recheck.Instance);

        // One destroy, every asker answered (OnDestroy).
        Assert.Equal(1, h.Count<E.StartDestroy>());
    }
}
