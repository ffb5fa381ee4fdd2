using static MegaFlow.Contracts.Tasks.TaskEvents;
using MegaFlow.Contracts;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Contracts.Environments;

namespace MegaFlow.Domain.Tasks;

/// <summary>
/// The task state machine as pure functions: "command → decision (events)" and "event → state".
/// The TaskActor only drives these; every rule about what is legal lives here and is unit-tested
/// without actors.
/// </summary>
public static class TaskLogic
{
    public static TaskDecision Submit(TaskState s, TaskSpec spec, DateTimeOffset now)
    {
        // Idempotent submission: a second submit of a known id is answered, never re-executed.
        if (s.Status != TaskStatus.Unknown)
            return TaskDecision.Duplicate($"task {s.TaskId} already submitted (status {s.Status})");
        var errors = TaskSpecValidator.Validate(spec);
        if (errors.Count > 0)
            return TaskDecision.Invalid(errors);
        if (spec.TaskId != s.TaskId)
            return TaskDecision.Invalid([new ValidationError("taskId", $"'{spec.TaskId}' does not match the entity '{s.TaskId}'")]);
        return TaskDecision.Accept(new Submitted(s.TaskId, spec, now));
    }

    public static TaskDecision ConfirmQueued(TaskState s, int attempt, DateTimeOffset now)
    {
        if (attempt != s.Attempt)
            return TaskDecision.Reject($"queue confirmation for attempt {attempt}, current attempt is {s.Attempt}");
        return s.Status switch
        {
            TaskStatus.Submitted => TaskDecision.Accept(new Queued(s.TaskId, attempt, now)),
            TaskStatus.Queued or TaskStatus.Provisioning or TaskStatus.Running or TaskStatus.Scoring =>
                TaskDecision.Duplicate("already queued"),
            _ => TaskDecision.Reject($"cannot queue a task in status {s.Status}"),
        };
    }

    public static TaskDecision Admit(TaskState s, int attempt, Lease lease, string taskNode, DateTimeOffset now)
    {
        if (s.Status.IsInFlight() && s.Lease?.LeaseId == lease.LeaseId)
            return TaskDecision.Duplicate("already admitted with this lease");
        if (attempt != s.Attempt)
            return TaskDecision.Reject($"stale admission for attempt {attempt}, current attempt is {s.Attempt}");
        return s.Status switch
        {
            TaskStatus.Queued => TaskDecision.Accept(new Admitted(s.TaskId, attempt, lease, taskNode, now)),
            // The queue confirmation was lost (e.g. scheduler hand-over) but the admission arrived:
            // record both, in order, so the journal still shows Queued before Admitted.
            TaskStatus.Submitted => TaskDecision.Accept(
                new Queued(s.TaskId, attempt, now),
                new Admitted(s.TaskId, attempt, lease, taskNode, now)),
            _ => TaskDecision.Reject($"cannot admit a task in status {s.Status}"),
        };
    }

    public static TaskDecision EnvironmentReady(TaskState s, int attempt, DateTimeOffset now) =>
        s.Status == TaskStatus.Provisioning && attempt == s.Attempt
            ? TaskDecision.Accept(new RunStarted(s.TaskId, attempt, now))
            : TaskDecision.Reject($"environment ready for attempt {attempt} in status {s.Status} (attempt {s.Attempt})");

    public static TaskDecision RecordStep(TaskState s, int attempt, Step step)
    {
        if (s.Status != TaskStatus.Running || attempt != s.Attempt)
            return TaskDecision.Reject($"cannot record a step in status {s.Status} (attempt {s.Attempt})");
        if (s.Steps.Count >= s.Spec!.MaxRounds)
            return TaskDecision.Reject($"max rounds ({s.Spec.MaxRounds}) reached");
        return TaskDecision.Accept(new StepRecorded(s.TaskId, attempt, step));
    }

    /// <summary>How many of the latest model-call records a new one is compared with for a repeat.</summary>
    public const int RecentModelCallsChecked = 64;

    /// <summary>
    /// A model call the gateway recorded for this attempt. Accepted while the attempt runs and after
    /// it ended (the gateway records a call after answering it, so the record may arrive just after
    /// the agent submitted); refused for an attempt that never ran or was replaced by a retry.
    /// </summary>
    public static TaskDecision RecordModelCall(TaskState s, int attempt, ModelCall call)
    {
        if (attempt != s.Attempt || s.RunStartedAt is null)
            return TaskDecision.Reject($"no model calls for attempt {attempt} (attempt {s.Attempt}, status {s.Status})");
        // A record that could not be saved has no path: two of those are two calls, not one. A repeat
        // is a report delivered twice, which arrives right after the first: only the latest records
        // are looked at. Scanning them all cost the gateway 0.25 ms per call at p50 with 2,000 calls
        // in one attempt (bench/RESULTS-model.md).
        if (call.Path.Length > 0)
            for (var i = s.ModelCalls.Count - 1; i >= Math.Max(0, s.ModelCalls.Count - RecentModelCallsChecked); i--)
                if (s.ModelCalls[i].Path == call.Path)
                    return TaskDecision.Duplicate("model call already recorded");
        return TaskDecision.Accept(new ModelCallRecorded(s.TaskId, attempt, call));
    }

    /// <summary>
    /// Whether a model call for <paramref name="attempt"/> may go ahead: only while that attempt is
    /// the one running. The key check is the actor's (keys live only in its memory).
    /// </summary>
    public static string? ModelCallRefusal(TaskState s, int attempt) =>
        attempt != s.Attempt ? $"attempt {attempt} is not the task's current attempt ({s.Attempt})"
        : s.Status != TaskStatus.Running ? $"attempt {attempt} is not running (status {StatusNames.Format(s.Status)})"
        : null;

    public static TaskDecision StartScoring(TaskState s, int attempt, DateTimeOffset now) =>
        s.Status == TaskStatus.Running && attempt == s.Attempt
            ? TaskDecision.Accept(new ScoringStarted(s.TaskId, attempt, now))
            : TaskDecision.Reject($"cannot start scoring in status {s.Status}");

    public static TaskDecision Complete(TaskState s, int attempt, Score score, DateTimeOffset now) =>
        s.Status == TaskStatus.Scoring && attempt == s.Attempt
            ? TaskDecision.Accept(new Completed(s.TaskId, attempt, score, now))
            : TaskDecision.Reject($"cannot complete in status {s.Status}");

    /// <summary>
    /// An attempt failed. Infrastructure failures go back to the queue while retries remain
    /// (MaxInfraRetries counts retries, so attempts = retries + 1); agent failures are results.
    /// </summary>
    public static TaskDecision FailAttempt(TaskState s, int attempt, FailureKind kind, string reason, DateTimeOffset now)
    {
        if (attempt != s.Attempt || !s.Status.IsInFlight())
            return TaskDecision.Reject($"cannot fail attempt {attempt} in status {s.Status} (attempt {s.Attempt})");
        return kind == FailureKind.Infrastructure && s.Attempt <= s.Spec!.MaxInfraRetries
            ? TaskDecision.Accept(new AttemptFailed(s.TaskId, attempt, kind, reason, now))
            : TaskDecision.Accept(new Failed(s.TaskId, attempt, kind, reason, now));
    }

    /// <summary>
    /// A phase budget ran out. A setup timeout is the infrastructure's fault and is retried like
    /// any infrastructure failure; run and scoring timeouts are final results.
    /// </summary>
    public static TaskDecision TimeOut(TaskState s, int attempt, TaskPhase phase, DateTimeOffset now)
    {
        var expected = phase switch
        {
            TaskPhase.Setup => TaskStatus.Provisioning,
            TaskPhase.Run => TaskStatus.Running,
            _ => TaskStatus.Scoring,
        };
        if (s.Status != expected || attempt != s.Attempt)
            return TaskDecision.Reject($"{phase} timeout does not apply in status {s.Status}");
        if (phase == TaskPhase.Setup && s.Attempt <= s.Spec!.MaxInfraRetries)
            return TaskDecision.Accept(new AttemptFailed(s.TaskId, attempt, FailureKind.Infrastructure,
                $"setup budget of {s.Spec.SetupTimeoutSeconds}s exceeded", now));
        return TaskDecision.Accept(new TimedOut(s.TaskId, attempt, phase, now));
    }

    public static TaskDecision Cancel(TaskState s, string reason, DateTimeOffset now)
    {
        if (s.Status == TaskStatus.Unknown)
            return TaskDecision.Reject($"unknown task {s.TaskId}");
        if (s.Status.IsTerminal())
            return s.Status == TaskStatus.Cancelled
                ? TaskDecision.Duplicate("already cancelled")
                : TaskDecision.Reject($"task already {s.Status}");
        return TaskDecision.Accept(new Cancelled(s.TaskId, s.Attempt, reason, now));
    }

    public static TaskDecision ConfirmReleased(TaskState s, int attempt, DateTimeOffset now) =>
        s.PendingRelease == attempt
            ? TaskDecision.Accept(new LeaseReleased(s.TaskId, attempt, now))
            : TaskDecision.Duplicate("nothing to release for this attempt");

    /// <summary>Event → new state. Events were decided legal, so this never rejects.</summary>
    public static TaskState Apply(TaskState s, ITaskEvent e) => e switch
    {
        Submitted x => s with { Status = TaskStatus.Submitted, Spec = x.Spec, SubmittedAt = x.At },
        Queued x => s with { Status = TaskStatus.Queued, QueuedAt = x.At },
        Admitted x => s with { Status = TaskStatus.Provisioning, Lease = x.Lease, AdmittedAt = x.At, Steps = [], ModelCalls = [] },
        RunStarted x => s with { Status = TaskStatus.Running, RunStartedAt = x.At },
        StepRecorded x => s with { Steps = s.Steps.Add(x.Step) },
        ModelCallRecorded x => s with { ModelCalls = s.ModelCalls.Add(x.Call) },
        ScoringStarted => s with { Status = TaskStatus.Scoring },
        Completed x => EndAttempt(s, x.At, "completed", null) with
        {
            Status = TaskStatus.Completed, Score = x.Score, FinishedAt = x.At,
        },
        AttemptFailed x => EndAttempt(s, x.At, "infrastructure-failure", x.Reason) with
        {
            Status = TaskStatus.Submitted, Attempt = s.Attempt + 1, Lease = null, Steps = [], ModelCalls = [],
            QueuedAt = null, AdmittedAt = null, RunStartedAt = null,
        },
        Failed x => EndAttempt(s, x.At, "failed", x.Reason) with
        {
            Status = TaskStatus.Failed, FailureKind = x.Kind, FailureReason = x.Reason, FinishedAt = x.At,
        },
        TimedOut x => EndAttempt(s, x.At, "timed-out", $"{x.Phase} budget exceeded") with
        {
            Status = TaskStatus.TimedOut, TimedOutPhase = x.Phase, FinishedAt = x.At,
        },
        Cancelled x => EndAttempt(s, x.At, "cancelled", x.Reason) with
        {
            Status = TaskStatus.Cancelled, FailureReason = x.Reason, FinishedAt = x.At,
        },
        LeaseReleased x => s.PendingRelease == x.Attempt ? s with { PendingRelease = null } : s,
        _ => throw new ArgumentOutOfRangeException(nameof(e), e.GetType().Name, "unknown task event"),
    };

    public static TaskState Replay(string taskId, IEnumerable<ITaskEvent> events) =>
        events.Aggregate(TaskState.Empty(taskId), Apply);

    // Every attempt end leaves a history record and a release owed to the scheduler (its queue
    // entry or lease); the scheduler treats releases idempotently.
    private static TaskState EndAttempt(TaskState s, DateTimeOffset at, string outcome, string? reason) => s with
    {
        History = s.History.Add(new AttemptRecord(s.Attempt, s.Lease, outcome, reason, s.Steps.Count, s.AdmittedAt, at)),
        PendingRelease = s.Attempt,
    };
}
