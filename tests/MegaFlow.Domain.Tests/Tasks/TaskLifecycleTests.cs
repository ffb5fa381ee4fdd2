using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain;
using MegaFlow.Domain.Tasks;
using static MegaFlow.Contracts.Tasks.TaskEvents;
using static MegaFlow.Domain.Tests.Tasks.TaskStates;

namespace MegaFlow.Domain.Tests.Tasks;

/// <summary>The legal transitions of a task, phase by phase, and what each leaves in the state.</summary>
public class TaskLifecycleTests
{
    private static readonly Step AStep = new(1, "ls", 0, "README.md", false, false, T0, 12.5, null);

    [Fact]
    public void A_valid_submission_is_accepted_and_records_the_spec()
    {
        var spec = Specs.Valid(Id);
        var d = TaskLogic.Submit(TaskState.Empty(Id), spec, T0);

        var e = Assert.IsType<Submitted>(Assert.Single(d.Events));
        Assert.Equal(DecisionOutcome.Accepted, d.Outcome);
        var s = TaskLogic.Apply(TaskState.Empty(Id), e);
        Assert.Equal(TaskStatus.Submitted, s.Status);
        Assert.Same(spec, s.Spec);
        Assert.Equal(1, s.Attempt);
        Assert.Equal(T0, s.SubmittedAt);
    }

    [Fact]
    public void A_model_call_is_recorded_once_by_its_record_path_and_calls_whose_record_was_not_saved_all_count()
    {
        var running = At(TaskStatus.Running);
        var saved = Results.ModelCallJournal.Call(Id, 1, 1, 7, prompt: 10, completion: 2, latencyMs: 5);
        var unsaved = saved with { Path = "", Error = "record not saved: disk full" };

        var s = Apply(running, TaskLogic.RecordModelCall(running, 1, saved));
        Assert.Equal(DecisionOutcome.Duplicate, TaskLogic.RecordModelCall(s, 1, saved).Outcome); // the same report twice

        s = Apply(s, TaskLogic.RecordModelCall(s, 1, unsaved));
        var second = TaskLogic.RecordModelCall(s, 1, unsaved with { At = unsaved.At.AddSeconds(1) });
        Assert.Equal(DecisionOutcome.Accepted, second.Outcome); // no path to compare: another call, not a duplicate
        Assert.Equal(3, Apply(s, second).ModelCalls.Count);
    }

    [Fact]
    public void A_repeated_report_is_still_a_duplicate_after_thousands_of_calls_in_the_attempt()
    {
        var s = At(TaskStatus.Running);
        var template = Results.ModelCallJournal.Call(Id, 1, 1, 7, prompt: 10, completion: 2, latencyMs: 5);
        for (var i = 0; i < 2000; i++)
            s = Apply(s, TaskLogic.RecordModelCall(s, 1, template with { Path = $"{template.Path}-{i}" }));

        Assert.Equal(DecisionOutcome.Duplicate, TaskLogic.RecordModelCall(s, 1, s.ModelCalls[^1]).Outcome);
        Assert.Equal(DecisionOutcome.Accepted, TaskLogic.RecordModelCall(s, 1, template with { Path = $"{template.Path}-new" }).Outcome);
    }

    [Fact]
    public void An_invalid_submission_is_rejected_with_the_validation_errors()
    {
        var d = TaskLogic.Submit(TaskState.Empty(Id), Specs.Valid(Id) with { Image = null, MaxRounds = 0 }, T0);

        Assert.Equal(DecisionOutcome.Rejected, d.Outcome);
        Assert.Empty(d.Events);
        Assert.Equal(["image", "maxRounds"], d.Errors.Select(e => e.Field));
    }

    [Fact]
    public void A_submission_whose_task_id_differs_from_the_entity_is_rejected()
    {
        var d = TaskLogic.Submit(TaskState.Empty(Id), Specs.Valid("someone-else"), T0);

        Assert.Equal(DecisionOutcome.Rejected, d.Outcome);
        Assert.Empty(d.Events);
        Assert.Equal("taskId", Assert.Single(d.Errors).Field);
    }

    [Theory]
    [MemberData(nameof(KnownStatuses))]
    public void Submitting_a_known_task_again_is_an_idempotent_duplicate(TaskStatus status)
    {
        var d = TaskLogic.Submit(At(status), Specs.Valid(Id) with { Image = "other" }, T0.AddHours(1));

        Assert.Equal(DecisionOutcome.Duplicate, d.Outcome);
        Assert.Empty(d.Events);
    }

    public static TheoryData<TaskStatus> KnownStatuses => new(AllStatuses.Where(s => s != TaskStatus.Unknown));

    [Fact]
    public void The_happy_path_runs_from_submission_to_completion()
    {
        var s = TaskState.Empty(Id);
        s = Apply(s, TaskLogic.Submit(s, Specs.Valid(Id), T0));
        Assert.Equal(TaskStatus.Submitted, s.Status);

        s = Apply(s, TaskLogic.ConfirmQueued(s, 1, T0.AddSeconds(1)));
        Assert.Equal(TaskStatus.Queued, s.Status);
        Assert.Equal(T0.AddSeconds(1), s.QueuedAt);

        var admit = TaskLogic.Admit(s, 1, Lease1, "node-a", T0.AddSeconds(2));
        Assert.IsType<Admitted>(Assert.Single(admit.Events));
        s = Apply(s, admit);
        Assert.Equal(TaskStatus.Provisioning, s.Status);
        Assert.Equal(Lease1, s.Lease);
        Assert.Equal(T0.AddSeconds(2), s.AdmittedAt);

        s = Apply(s, TaskLogic.EnvironmentReady(s, 1, T0.AddSeconds(3)));
        Assert.Equal(TaskStatus.Running, s.Status);
        Assert.Equal(T0.AddSeconds(3), s.RunStartedAt);

        s = Apply(s, TaskLogic.RecordStep(s, 1, AStep));
        s = Apply(s, TaskLogic.RecordStep(s, 1, AStep with { Round = 2 }));
        Assert.Equal([1, 2], s.Steps.Select(x => x.Round));
        Assert.Equal(TaskStatus.Running, s.Status);

        s = Apply(s, TaskLogic.StartScoring(s, 1, T0.AddSeconds(4)));
        Assert.Equal(TaskStatus.Scoring, s.Status);

        var score = new Score(0, "2 passed", 1.0);
        s = Apply(s, TaskLogic.Complete(s, 1, score, T0.AddSeconds(5)));
        Assert.Equal(TaskStatus.Completed, s.Status);
        Assert.Equal(score, s.Score);
        Assert.True(s.Score!.Passed);
        Assert.Equal(T0.AddSeconds(5), s.FinishedAt);
        var record = Assert.Single(s.History);
        Assert.Equal(new AttemptRecord(1, Lease1, "completed", null, 2, T0.AddSeconds(2), T0.AddSeconds(5)), record);
        Assert.Equal(1, s.PendingRelease);
    }

    [Fact]
    public void A_failing_score_still_completes_the_task_as_a_result()
    {
        var s = Apply(At(TaskStatus.Scoring), TaskLogic.Complete(At(TaskStatus.Scoring), 1, new Score(1, "1 failed", 0), T0));

        Assert.Equal(TaskStatus.Completed, s.Status);
        Assert.False(s.Score!.Passed);
    }

    [Fact]
    public void An_admission_arriving_before_the_queue_confirmation_records_queued_then_admitted()
    {
        var s = At(TaskStatus.Submitted);

        var d = TaskLogic.Admit(s, 1, Lease1, "node-a", T0.AddSeconds(2));

        Assert.Equal(DecisionOutcome.Accepted, d.Outcome);
        Assert.Collection(d.Events,
            e => Assert.Equal(new Queued(Id, 1, T0.AddSeconds(2)), e),
            e => Assert.Equal(new Admitted(Id, 1, Lease1, "node-a", T0.AddSeconds(2)), e));
        s = Apply(s, d);
        Assert.Equal(TaskStatus.Provisioning, s.Status);
        Assert.NotNull(s.QueuedAt);
    }

    [Theory]
    [InlineData(TaskStatus.Provisioning)]
    [InlineData(TaskStatus.Running)]
    [InlineData(TaskStatus.Scoring)]
    public void A_repeated_admission_with_the_same_lease_is_a_duplicate(TaskStatus status)
    {
        var d = TaskLogic.Admit(At(status), 1, Lease1, "node-a", T0.AddMinutes(1));

        Assert.Equal(DecisionOutcome.Duplicate, d.Outcome);
        Assert.Empty(d.Events);
    }

    [Theory]
    [InlineData(TaskStatus.Provisioning)]
    [InlineData(TaskStatus.Running)]
    public void A_second_admission_with_another_lease_is_rejected(TaskStatus status)
    {
        var d = TaskLogic.Admit(At(status), 1, Lease2, "node-b", T0.AddMinutes(1));

        Assert.Equal(DecisionOutcome.Rejected, d.Outcome);
        Assert.Empty(d.Events);
    }

    [Theory]
    [InlineData(TaskStatus.Submitted)]
    [InlineData(TaskStatus.Queued)]
    [InlineData(TaskStatus.Provisioning)]
    [InlineData(TaskStatus.Running)]
    [InlineData(TaskStatus.Scoring)]
    public void A_queue_confirmation_once_queued_or_later_is_a_duplicate_and_for_another_attempt_is_rejected(TaskStatus status)
    {
        var s = At(status);

        var same = TaskLogic.ConfirmQueued(s, 1, T0.AddMinutes(1));
        var other = TaskLogic.ConfirmQueued(s, 2, T0.AddMinutes(1));

        Assert.Equal(status == TaskStatus.Submitted ? DecisionOutcome.Accepted : DecisionOutcome.Duplicate, same.Outcome);
        Assert.Equal(DecisionOutcome.Rejected, other.Outcome);
        Assert.Empty(other.Events);
    }

    [Theory]
    [InlineData(TaskStatus.Provisioning)]
    [InlineData(TaskStatus.Running)]
    [InlineData(TaskStatus.Scoring)]
    public void An_infrastructure_failure_with_retries_left_sends_the_task_back_to_the_queue(TaskStatus status)
    {
        var s = At(status, Specs.Valid(Id) with { MaxInfraRetries = 1 });
        if (status == TaskStatus.Running) s = Apply(s, TaskLogic.RecordStep(s, 1, AStep));

        var d = TaskLogic.FailAttempt(s, 1, FailureKind.Infrastructure, "node lost", T0.AddMinutes(1));
        Assert.IsType<AttemptFailed>(Assert.Single(d.Events));
        s = Apply(s, d);

        Assert.Equal(TaskStatus.Submitted, s.Status);
        Assert.Equal(2, s.Attempt);
        Assert.Null(s.Lease);
        Assert.Empty(s.Steps);
        Assert.Null(s.QueuedAt);
        Assert.Null(s.AdmittedAt);
        Assert.Null(s.RunStartedAt);
        Assert.Null(s.FinishedAt);
        Assert.Equal(1, s.PendingRelease);
        var record = Assert.Single(s.History);
        Assert.Equal(1, record.Attempt);
        Assert.Equal(Lease1, record.Lease);
        Assert.Equal("infrastructure-failure", record.Outcome);
        Assert.Equal("node lost", record.Reason);
        Assert.Equal(status == TaskStatus.Running ? 1 : 0, record.Steps);
    }

    [Fact]
    public void A_retried_task_runs_its_next_attempt_through_the_whole_lifecycle()
    {
        var s = At(TaskStatus.Running, Specs.Valid(Id) with { MaxInfraRetries = 1 });
        s = Apply(s, TaskLogic.FailAttempt(s, 1, FailureKind.Infrastructure, "container died", T0));

        s = Apply(s, TaskLogic.ConfirmQueued(s, 2, T0.AddSeconds(1)));
        s = Apply(s, TaskLogic.Admit(s, 2, Lease2, "node-b", T0.AddSeconds(2)));
        s = Apply(s, TaskLogic.EnvironmentReady(s, 2, T0.AddSeconds(3)));
        s = Apply(s, TaskLogic.StartScoring(s, 2, T0.AddSeconds(4)));
        s = Apply(s, TaskLogic.Complete(s, 2, new Score(0, "", 1), T0.AddSeconds(5)));

        Assert.Equal(TaskStatus.Completed, s.Status);
        Assert.Equal(2, s.Attempt);
        Assert.Equal(Lease2, s.Lease);
        Assert.Equal([("infrastructure-failure", 1), ("completed", 2)], s.History.Select(h => (h.Outcome, h.Attempt)));
        Assert.Equal(2, s.PendingRelease);
    }

    [Fact]
    public void Infrastructure_failures_are_retried_max_infra_retries_times_then_the_task_fails()
    {
        var s = At(TaskStatus.Running, Specs.Valid(Id) with { MaxInfraRetries = 2 });

        for (var attempt = 1; attempt <= 2; attempt++)
        {
            var retry = TaskLogic.FailAttempt(s, attempt, FailureKind.Infrastructure, "pull failed", T0);
            Assert.IsType<AttemptFailed>(Assert.Single(retry.Events));
            s = Apply(s, retry);
            s = Apply(s, TaskLogic.Admit(s, attempt + 1, Lease1 with { LeaseId = $"lease-{attempt + 1}" }, "node-a", T0));
        }

        var final = TaskLogic.FailAttempt(s, 3, FailureKind.Infrastructure, "pull failed", T0.AddMinutes(1));
        var failed = Assert.IsType<Failed>(Assert.Single(final.Events));
        Assert.Equal(FailureKind.Infrastructure, failed.Kind);
        s = Apply(s, final);

        Assert.Equal(TaskStatus.Failed, s.Status);
        Assert.Equal(FailureKind.Infrastructure, s.FailureKind);
        Assert.Equal("pull failed", s.FailureReason);
        Assert.Equal(3, s.History.Count);
        Assert.Equal(3, s.PendingRelease);
        Assert.Equal(T0.AddMinutes(1), s.FinishedAt);
    }

    [Fact]
    public void With_no_retries_an_infrastructure_failure_is_final()
    {
        var s = At(TaskStatus.Provisioning, Specs.Valid(Id) with { MaxInfraRetries = 0 });

        var d = TaskLogic.FailAttempt(s, 1, FailureKind.Infrastructure, "provisioning failed", T0);

        Assert.IsType<Failed>(Assert.Single(d.Events));
    }

    [Theory]
    [InlineData(TaskStatus.Provisioning)]
    [InlineData(TaskStatus.Running)]
    [InlineData(TaskStatus.Scoring)]
    public void An_agent_failure_is_a_result_and_never_retried(TaskStatus status)
    {
        var s = At(status, Specs.Valid(Id) with { MaxInfraRetries = 5 });

        var d = TaskLogic.FailAttempt(s, 1, FailureKind.Agent, "could not parse action", T0.AddMinutes(1));
        var failed = Assert.IsType<Failed>(Assert.Single(d.Events));
        s = Apply(s, d);

        Assert.Equal(FailureKind.Agent, failed.Kind);
        Assert.Equal(TaskStatus.Failed, s.Status);
        Assert.Equal(FailureKind.Agent, s.FailureKind);
        Assert.Equal(1, s.Attempt);
        Assert.Equal("failed", Assert.Single(s.History).Outcome);
    }

    [Fact]
    public void A_setup_timeout_is_retried_as_an_infrastructure_failure_while_retries_remain()
    {
        var s = At(TaskStatus.Provisioning, Specs.Valid(Id) with { MaxInfraRetries = 1 });

        var d = TaskLogic.TimeOut(s, 1, TaskPhase.Setup, T0);
        var e = Assert.IsType<AttemptFailed>(Assert.Single(d.Events));
        Assert.Equal(FailureKind.Infrastructure, e.Kind);
        s = Apply(s, d);
        Assert.Equal(TaskStatus.Submitted, s.Status);
        Assert.Equal(2, s.Attempt);

        s = Apply(s, TaskLogic.Admit(s, 2, Lease2, "node-b", T0));
        var last = TaskLogic.TimeOut(s, 2, TaskPhase.Setup, T0.AddMinutes(2));
        Assert.Equal(new TimedOut(Id, 2, TaskPhase.Setup, T0.AddMinutes(2)), Assert.Single(last.Events));
        s = Apply(s, last);
        Assert.Equal(TaskStatus.TimedOut, s.Status);
        Assert.Equal(TaskPhase.Setup, s.TimedOutPhase);
        Assert.Equal(2, s.PendingRelease);
    }

    [Theory]
    [InlineData(TaskStatus.Running, TaskPhase.Run)]
    [InlineData(TaskStatus.Scoring, TaskPhase.Scoring)]
    public void Run_and_scoring_timeouts_are_final_even_with_retries_left(TaskStatus status, TaskPhase phase)
    {
        var s = At(status, Specs.Valid(Id) with { MaxInfraRetries = 3 });

        var d = TaskLogic.TimeOut(s, 1, phase, T0.AddMinutes(10));
        Assert.Equal(new TimedOut(Id, 1, phase, T0.AddMinutes(10)), Assert.Single(d.Events));
        s = Apply(s, d);

        Assert.Equal(TaskStatus.TimedOut, s.Status);
        Assert.Equal(phase, s.TimedOutPhase);
        Assert.Equal(T0.AddMinutes(10), s.FinishedAt);
        Assert.Equal("timed-out", Assert.Single(s.History).Outcome);
        Assert.Equal(1, s.PendingRelease);
    }

    [Theory]
    [InlineData(TaskStatus.Submitted)]
    [InlineData(TaskStatus.Queued)]
    [InlineData(TaskStatus.Provisioning)]
    [InlineData(TaskStatus.Running)]
    [InlineData(TaskStatus.Scoring)]
    public void A_task_can_be_cancelled_from_every_non_terminal_state(TaskStatus status)
    {
        var s = At(status);

        var d = TaskLogic.Cancel(s, "user asked", T0.AddMinutes(1));
        Assert.Equal(new Cancelled(Id, 1, "user asked", T0.AddMinutes(1)), Assert.Single(d.Events));
        s = Apply(s, d);

        Assert.Equal(TaskStatus.Cancelled, s.Status);
        Assert.Equal("user asked", s.FailureReason);
        Assert.Equal(T0.AddMinutes(1), s.FinishedAt);
        Assert.Equal("cancelled", Assert.Single(s.History).Outcome);
        Assert.Equal(1, s.PendingRelease);
    }

    [Fact]
    public void Cancelling_twice_is_a_duplicate()
    {
        var d = TaskLogic.Cancel(At(TaskStatus.Cancelled), "again", T0);

        Assert.Equal(DecisionOutcome.Duplicate, d.Outcome);
        Assert.Empty(d.Events);
    }

    [Fact]
    public void Cancelling_an_unknown_task_is_rejected()
    {
        Assert.Equal(DecisionOutcome.Rejected, TaskLogic.Cancel(TaskState.Empty(Id), "?", T0).Outcome);
    }

    [Fact]
    public void Rounds_beyond_max_rounds_are_rejected()
    {
        var s = At(TaskStatus.Running, Specs.Valid(Id) with { MaxRounds = 2 });
        s = Apply(s, TaskLogic.RecordStep(s, 1, AStep));
        s = Apply(s, TaskLogic.RecordStep(s, 1, AStep with { Round = 2 }));

        var third = TaskLogic.RecordStep(s, 1, AStep with { Round = 3 });

        Assert.Equal(DecisionOutcome.Rejected, third.Outcome);
        Assert.Empty(third.Events);
        Assert.Contains("max rounds", third.Reason);
        Assert.Equal(2, s.Steps.Count);
        // Reaching the bound does not end the task: scoring is still the way out.
        Assert.Equal(DecisionOutcome.Accepted, TaskLogic.StartScoring(s, 1, T0).Outcome);
    }

    [Fact]
    public void A_stale_admission_for_an_earlier_attempt_is_rejected()
    {
        var s = At(TaskStatus.Provisioning, Specs.Valid(Id) with { MaxInfraRetries = 2 });
        s = Apply(s, TaskLogic.FailAttempt(s, 1, FailureKind.Infrastructure, "lost", T0));
        var queued = Apply(s, TaskLogic.ConfirmQueued(s, 2, T0));

        foreach (var state in new[] { s, queued })
        {
            var d = TaskLogic.Admit(state, 1, Lease2, "node-b", T0);
            Assert.Equal(DecisionOutcome.Rejected, d.Outcome);
            Assert.Empty(d.Events);
        }
    }

    [Fact]
    public void Messages_about_an_earlier_attempt_are_rejected_once_a_retry_is_running()
    {
        var s = At(TaskStatus.Running, Specs.Valid(Id) with { MaxInfraRetries = 2 });
        s = Apply(s, TaskLogic.FailAttempt(s, 1, FailureKind.Infrastructure, "lost", T0));
        s = Apply(s, TaskLogic.Admit(s, 2, Lease2, "node-b", T0));
        var provisioning = s;
        s = Apply(s, TaskLogic.EnvironmentReady(s, 2, T0));
        var running = s;
        var scoring = Apply(s, TaskLogic.StartScoring(s, 2, T0));

        Assert.All(new[]
        {
            TaskLogic.EnvironmentReady(provisioning, 1, T0),
            TaskLogic.TimeOut(provisioning, 1, TaskPhase.Setup, T0),
            TaskLogic.RecordStep(running, 1, AStep),
            TaskLogic.StartScoring(running, 1, T0),
            TaskLogic.FailAttempt(running, 1, FailureKind.Infrastructure, "late report", T0),
            TaskLogic.TimeOut(running, 1, TaskPhase.Run, T0),
            TaskLogic.Complete(scoring, 1, new Score(0, "", 1), T0),
            TaskLogic.TimeOut(scoring, 1, TaskPhase.Scoring, T0),
        }, d =>
        {
            Assert.Equal(DecisionOutcome.Rejected, d.Outcome);
            Assert.Empty(d.Events);
        });
    }

    [Fact]
    public void Confirming_the_release_clears_the_pending_release_once()
    {
        var s = At(TaskStatus.Completed);
        Assert.Equal(1, s.PendingRelease);

        var d = TaskLogic.ConfirmReleased(s, 1, T0.AddMinutes(1));
        Assert.Equal(new LeaseReleased(Id, 1, T0.AddMinutes(1)), Assert.Single(d.Events));
        s = Apply(s, d);
        Assert.Null(s.PendingRelease);
        Assert.Equal(TaskStatus.Completed, s.Status);

        var again = TaskLogic.ConfirmReleased(s, 1, T0.AddMinutes(2));
        Assert.Equal(DecisionOutcome.Duplicate, again.Outcome);
        Assert.Empty(again.Events);
    }

    [Fact]
    public void The_release_of_a_retried_attempt_is_confirmed_while_the_next_attempt_waits()
    {
        var s = At(TaskStatus.Running, Specs.Valid(Id) with { MaxInfraRetries = 1 });
        s = Apply(s, TaskLogic.FailAttempt(s, 1, FailureKind.Infrastructure, "lost", T0));

        Assert.Equal(DecisionOutcome.Duplicate, TaskLogic.ConfirmReleased(s, 2, T0).Outcome);
        s = Apply(s, TaskLogic.ConfirmReleased(s, 1, T0));

        Assert.Null(s.PendingRelease);
        Assert.Equal(TaskStatus.Submitted, s.Status);
        Assert.Equal(2, s.Attempt);
    }

    [Fact]
    public void A_release_confirmation_for_another_attempt_leaves_the_pending_release_in_place()
    {
        var s = At(TaskStatus.Completed);

        var after = TaskLogic.Apply(s, new LeaseReleased(Id, 7, T0));

        Assert.Equal(1, after.PendingRelease);
    }

    [Fact]
    public void Nothing_is_owed_to_the_scheduler_before_an_attempt_ends()
    {
        foreach (var status in new[] { TaskStatus.Submitted, TaskStatus.Queued, TaskStatus.Provisioning, TaskStatus.Running, TaskStatus.Scoring })
            Assert.Equal(DecisionOutcome.Duplicate, TaskLogic.ConfirmReleased(At(status), 1, T0).Outcome);
    }

    [Fact]
    public void Replaying_the_journal_rebuilds_the_same_state()
    {
        var events = new List<ITaskEvent>();
        var s = TaskState.Empty(Id);
        void Do(TaskDecision d) { events.AddRange(d.Events); s = Apply(s, d); }

        Do(TaskLogic.Submit(s, Specs.Valid(Id), T0));
        Do(TaskLogic.Admit(s, 1, Lease1, "node-a", T0));
        Do(TaskLogic.FailAttempt(s, 1, FailureKind.Infrastructure, "lost", T0));
        Do(TaskLogic.ConfirmQueued(s, 2, T0));
        Do(TaskLogic.Admit(s, 2, Lease2, "node-b", T0));
        Do(TaskLogic.EnvironmentReady(s, 2, T0));
        Do(TaskLogic.RecordStep(s, 2, AStep));
        Do(TaskLogic.Cancel(s, "stop", T0));

        var replayed = TaskLogic.Replay(Id, events);

        Assert.Equal(s.Status, replayed.Status);
        Assert.Equal(s.Attempt, replayed.Attempt);
        Assert.Equal(s.Lease, replayed.Lease);
        Assert.Equal(s.History, replayed.History);
        Assert.Equal(s.Steps, replayed.Steps);
        Assert.Equal(s.PendingRelease, replayed.PendingRelease);
    }
}
