using System.Text.RegularExpressions;
using MegaFlow.Contracts;
using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Environments;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;

namespace MegaFlow.Verification;

/// <summary>
/// Checks a run's guarantees from the journal's events alone: exactly one terminal event per task,
/// no attempt admitted twice, no semaphore above its cap at any point of the scheduler's history,
/// and no environment left alive or leased to an attempt that has ended. Pure: give it the rows.
/// </summary>
/// <remarks>
/// The scheduler checks replay its whole journal, so the nodes of an audited run must keep the events
/// their snapshots make obsolete: <c>megaflow.scheduler.delete-obsolete = off</c> (the chaos harness
/// and the cluster failover tests set it).
/// </remarks>
public static partial class JournalVerifier
{
    /// <param name="entries">Journal rows in journal order (<see cref="JournalReader.ReadAllAsync"/>).</param>
    /// <param name="taskIds">The tasks the run submitted; each must end exactly once.</param>
    /// <param name="caps">The scheduler's configured caps.</param>
    public static RunVerification Verify(IReadOnlyList<JournalEntry> entries, IReadOnlyCollection<string> taskIds, SchedulerSettings caps)
    {
        var taskEvents = entries.Where(e => e.PersistenceId.StartsWith(JournalReader.TaskPrefix, StringComparison.Ordinal))
            .Select(e => e.Event).OfType<TaskEvents.ITaskEvent>().ToList();
        var tasks = TaskHistories(taskEvents);

        var terminalCounts = taskIds.ToDictionary(id => id, id => tasks.GetValueOrDefault(id)?.Terminal.Count ?? 0);
        var lost = terminalCounts.Where(kv => kv.Value == 0).Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList();
        var twice = terminalCounts.Where(kv => kv.Value > 1).Select(kv => $"{kv.Key} ({kv.Value} terminal events)").Order(StringComparer.Ordinal).ToList();
        var notSubmitted = taskIds.Where(id => tasks.GetValueOrDefault(id)?.Submitted != true).Order(StringComparer.Ordinal).ToList();

        var taskAdmissions = taskEvents.OfType<TaskEvents.Admitted>().ToList();
        var admittedTwice = taskAdmissions.GroupBy(a => (a.TaskId, a.Attempt)).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key.TaskId} attempt {g.Key.Attempt} (task journal, {g.Count()} times)").ToList();

        var scheduler = ReplayScheduler(entries, caps);
        admittedTwice.AddRange(scheduler.AdmittedTwice);

        var terminal = taskEvents.Where(IsTerminal).ToList();
        var outcomes = new TaskOutcomes(
            Completed: terminal.Count(e => e is TaskEvents.Completed),
            Failed: terminal.Count(e => e is TaskEvents.Failed),
            FailedAsInfrastructure: terminal.Count(e => e is TaskEvents.Failed { Kind: FailureKind.Infrastructure }),
            TimedOut: terminal.Count(e => e is TaskEvents.TimedOut),
            TimedOutInSetup: terminal.Count(e => e is TaskEvents.TimedOut { Phase: TaskPhase.Setup }),
            Cancelled: terminal.Count(e => e is TaskEvents.Cancelled));
        var infraFailures = taskEvents.Count(e => e is TaskEvents.AttemptFailed) + outcomes.FailedAsInfrastructure;
        var reasons = taskEvents.Select(e => e switch
            {
                TaskEvents.AttemptFailed f => f.Reason,
                TaskEvents.Failed { Kind: FailureKind.Infrastructure } f => f.Reason,
                _ => null,
            })
            .OfType<string>().GroupBy(Normalize).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new ReasonCount(g.Key, g.Count())).ToList();
        var retryDelays = tasks.Values.SelectMany(h => h.FailedAt.Where(f => h.QueuedAt.ContainsKey(f.Key + 1)).Select(f => h.QueuedAt[f.Key + 1] - f.Value))
            .Order().ToList();

        var environments = AuditEnvironments(entries, tasks);

        var firstSubmitted = taskEvents.OfType<TaskEvents.Submitted>().Select(e => (DateTimeOffset?)e.At).Min();
        var lastTerminal = terminal.Select(TerminalAt).Max();
        return new RunVerification(
            taskIds.Count, notSubmitted, lost, twice, admittedTwice, scheduler.AdmittedWhileHeld, scheduler.OverCap,
            outcomes, infraFailures, reasons, retryDelays, environments, taskAdmissions, scheduler.Events, scheduler.Admissions, scheduler.Queue, scheduler.Peaks,
            firstSubmitted, lastTerminal);
    }

    private static bool IsTerminal(TaskEvents.ITaskEvent e) => e is TaskEvents.Completed or TaskEvents.Failed or TaskEvents.TimedOut or TaskEvents.Cancelled;

    private static DateTimeOffset? TerminalAt(TaskEvents.ITaskEvent e) => e switch
    {
        TaskEvents.Completed c => c.At,
        TaskEvents.Failed f => f.At,
        TaskEvents.TimedOut t => t.At,
        TaskEvents.Cancelled c => c.At,
        _ => null,
    };

    private sealed class TaskHistory
    {
        public bool Submitted;
        public readonly List<TaskEvents.ITaskEvent> Terminal = [];
        public readonly HashSet<int> FailedAttempts = [];
        public readonly Dictionary<int, DateTimeOffset> FailedAt = [];
        public readonly Dictionary<int, DateTimeOffset> QueuedAt = [];
        public int LatestAdmitted;
    }

    private static Dictionary<string, TaskHistory> TaskHistories(IEnumerable<TaskEvents.ITaskEvent> events)
    {
        var tasks = new Dictionary<string, TaskHistory>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            if (!tasks.TryGetValue(e.TaskId, out var h)) tasks[e.TaskId] = h = new TaskHistory();
            switch (e)
            {
                case TaskEvents.Submitted:
                    h.Submitted = true;
                    break;
                case TaskEvents.Admitted a:
                    h.LatestAdmitted = Math.Max(h.LatestAdmitted, a.Attempt);
                    break;
                case TaskEvents.AttemptFailed f:
                    h.FailedAttempts.Add(f.Attempt);
                    h.FailedAt.TryAdd(f.Attempt, f.At);
                    break;
                case TaskEvents.Queued q:
                    h.QueuedAt.TryAdd(q.Attempt, q.At);
                    break;
                case var t when IsTerminal(t):
                    h.Terminal.Add(t);
                    break;
            }
        }
        return tasks;
    }

    private sealed record SchedulerReplay(
        int Events, List<string> AdmittedTwice, List<string> AdmittedWhileHeld, List<string> OverCap,
        List<SchedulerAdmission> Admissions, List<QueueSample> Queue, Peaks Peaks);

    /// <summary>Replays the scheduler's own journal through its pure logic, checking every cap after every event.</summary>
    private static SchedulerReplay ReplayScheduler(IReadOnlyList<JournalEntry> entries, SchedulerSettings caps)
    {
        var rows = entries.Where(e => e.PersistenceId == JournalReader.SchedulerId).OrderBy(e => e.SequenceNr).ToList();
        var state = SchedulerState.Empty;
        var admitted = new HashSet<(string, int)>();
        var twice = new List<string>();
        var whileHeld = new List<string>();
        var overCap = new List<string>();
        var admissions = new List<SchedulerAdmission>();
        var queue = new List<QueueSample>();
        var peaks = new Peaks();
        var clock = DateTimeOffset.MinValue;
        foreach (var row in rows)
        {
            var e = (SchedulerEvents.ISchedulerEvent)row.Event;
            if (e is SchedulerEvents.Admitted a)
            {
                if (!admitted.Add((a.Lease.TaskId, a.Lease.Attempt))) twice.Add($"{a.Lease.TaskId} attempt {a.Lease.Attempt} (scheduler journal)");
                if (state.Leases.ContainsKey(a.Lease.TaskId)) whileHeld.Add($"{a.Lease.TaskId} attempt {a.Lease.Attempt} admitted while attempt {state.Leases[a.Lease.TaskId].Attempt} still held a lease");
                admissions.Add(new SchedulerAdmission(a.Lease.TaskId, a.Lease.Attempt, a.Lease.AdmittedAt, state.QueueDepth, row.Writer));
            }
            state = SchedulerLogic.Apply(state, e);
            // Events without a time of their own happened after the last one that has one.
            clock = e switch
            {
                SchedulerEvents.Enqueued q => q.At,
                SchedulerEvents.Admitted adm => adm.Lease.AdmittedAt,
                SchedulerEvents.Released r => r.At,
                _ => clock,
            };
            queue.Add(new QueueSample(clock, state.QueueDepth));
            var leases = state.Leases.Values.ToList();
            peaks.Observe(leases);
            if (leases.Count > caps.MaxRunning) overCap.Add($"running {leases.Count} > cap {caps.MaxRunning}");
            var starting = leases.Count(l => l.Starting);
            if (starting > caps.MaxStarting) overCap.Add($"starting {starting} > cap {caps.MaxStarting}");
            foreach (var g in leases.GroupBy(l => l.Node).Where(g => g.Count() > caps.SlotsPerNode))
                overCap.Add($"node {g.Key} holds {g.Count()} leases > {caps.SlotsPerNode} slots");
            foreach (var g in leases.GroupBy(l => l.Pool).Where(g => g.Count() > caps.PoolCap(g.Key)))
                overCap.Add($"pool {g.Key} holds {g.Count()} leases > cap {caps.PoolCap(g.Key)}");
        }
        return new SchedulerReplay(rows.Count, twice, whileHeld, overCap, admissions, queue, peaks);
    }

    /// <summary>Every environment entity's state after its last journal event, by persistence id.</summary>
    public static IReadOnlyDictionary<string, EnvironmentState> EnvironmentStates(IEnumerable<JournalEntry> entries)
    {
        var states = new Dictionary<string, EnvironmentState>(StringComparer.Ordinal);
        foreach (var e in entries)
        {
            if (!e.PersistenceId.StartsWith(JournalReader.EnvironmentPrefix, StringComparison.Ordinal) || e.Event is not EnvironmentEvents.IEnvironmentEvent ev) continue;
            var s = states.GetValueOrDefault(e.PersistenceId) ?? EnvironmentState.Empty(ev.EnvironmentId);
            states[e.PersistenceId] = EnvironmentLogic.Apply(s, ev);
        }
        return states;
    }

    private static EnvironmentAudit AuditEnvironments(IReadOnlyList<JournalEntry> entries, Dictionary<string, TaskHistory> tasks)
    {
        var states = EnvironmentStates(entries);
        var live = states.Values.Where(s => !s.IsGone).OrderBy(s => s.EnvironmentId, StringComparer.Ordinal)
            .Select(s => new LiveEnvironment(s.EnvironmentId, s.Status, s.LeasedTo, s.LeasedAttempt, s.Spec?.Mode,
                s.LeasedTo is { } t && s.Status is EnvironmentStatus.Provisioning or EnvironmentStatus.Leased && AttemptEnded(tasks, t, s.LeasedAttempt)))
            .ToList();
        return new EnvironmentAudit(
            states.Count,
            states.Values.Count(s => s.Status == EnvironmentStatus.Destroyed),
            states.Values.Count(s => s.Status == EnvironmentStatus.Lost),
            live);
    }

    // Failure reasons name environments and nodes; without them, the same cause groups together.
    private static string Normalize(string reason) => NodeAddress().Replace(EnvironmentId().Replace(reason, "env-…"), "HOST:PORT");

    [GeneratedRegex(@"env-[0-9a-f]{32}@[^\s:]+:\d+")]
    private static partial Regex EnvironmentId();

    [GeneratedRegex(@"\b\d{1,3}(\.\d{1,3}){3}:\d+\b")]
    private static partial Regex NodeAddress();

    // An attempt has ended once its task ended, it failed, or a later attempt was admitted. A lessee
    // the journal does not know at all cannot be running either.
    private static bool AttemptEnded(Dictionary<string, TaskHistory> tasks, string taskId, int attempt) =>
        !tasks.TryGetValue(taskId, out var h) || h.Terminal.Count > 0 || h.FailedAttempts.Contains(attempt) || h.LatestAdmitted > attempt;
}

/// <summary>What the journal says about a run. Every list names what broke a guarantee; empty lists mean it held.</summary>
/// <param name="TasksExpected">Tasks the run submitted.</param>
/// <param name="NotSubmitted">Expected tasks with no Submitted event in the journal.</param>
/// <param name="Lost">Expected tasks with no terminal event.</param>
/// <param name="MoreThanOneTerminal">Tasks with two or more terminal events.</param>
/// <param name="AdmittedTwice">Attempts admitted more than once (task or scheduler journal).</param>
/// <param name="AdmittedWhileHeld">Scheduler admissions of a task that still held a lease.</param>
/// <param name="OverCap">Every point where a scheduler semaphore was above its cap.</param>
/// <param name="InfrastructureFailures">Attempts that failed as infrastructure (retried, or final).</param>
/// <param name="InfrastructureReasons">Their reasons, with environment ids and node addresses blanked so causes group.</param>
/// <param name="RetryDelays">For each attempt that failed and was retried: its failure → the next attempt's Queued event.</param>
public sealed record RunVerification(
    int TasksExpected,
    IReadOnlyList<string> NotSubmitted,
    IReadOnlyList<string> Lost,
    IReadOnlyList<string> MoreThanOneTerminal,
    IReadOnlyList<string> AdmittedTwice,
    IReadOnlyList<string> AdmittedWhileHeld,
    IReadOnlyList<string> OverCap,
    TaskOutcomes Outcomes,
    int InfrastructureFailures,
    IReadOnlyList<ReasonCount> InfrastructureReasons,
    IReadOnlyList<TimeSpan> RetryDelays,
    EnvironmentAudit Environments,
    IReadOnlyList<TaskEvents.Admitted> TaskAdmissions,
    int SchedulerEvents,
    IReadOnlyList<SchedulerAdmission> SchedulerAdmissions,
    IReadOnlyList<QueueSample> QueueTimeline,
    Peaks Peaks,
    DateTimeOffset? FirstSubmittedAt,
    DateTimeOffset? LastTerminalAt);

/// <summary>Terminal events by kind (a task with two terminal events counts twice).</summary>
public sealed record TaskOutcomes(int Completed, int Failed, int FailedAsInfrastructure, int TimedOut, int TimedOutInSetup, int Cancelled);

/// <summary>How often one (normalized) failure reason occurred.</summary>
public sealed record ReasonCount(string Reason, int Count);

/// <summary>One admission from the scheduler's journal, with the queue depth just before it and the scheduler incarnation that wrote it.</summary>
public sealed record SchedulerAdmission(string TaskId, int Attempt, DateTimeOffset At, int QueueDepthBefore, string? Writer = null);

/// <summary>The scheduler's queue depth after one of its events (events without a time take the previous one's).</summary>
public sealed record QueueSample(DateTimeOffset At, int QueueDepth);

/// <summary>Environment entities by their final journal state.</summary>
/// <param name="Live">Entities whose latest event is neither Destroyed nor Lost.</param>
public sealed record EnvironmentAudit(int Total, int Destroyed, int Lost, IReadOnlyList<LiveEnvironment> Live)
{
    /// <summary>Live environments leased (or being provisioned) for an attempt that has already ended.</summary>
    public IReadOnlyList<LiveEnvironment> LeasedToFinished => Live.Where(l => l.AttemptEnded).ToList();
}

/// <summary>An environment entity that is not Destroyed or Lost in the journal.</summary>
public sealed record LiveEnvironment(string EnvironmentId, EnvironmentStatus Status, string? LeasedTo, int LeasedAttempt, ExecutionMode? Mode, bool AttemptEnded);

/// <summary>The highest number of leases (running, starting) the scheduler held at once.</summary>
public sealed class Peaks
{
    public int Running { get; private set; }
    public int Starting { get; private set; }

    public void Observe(IReadOnlyList<Lease> leases)
    {
        Running = Math.Max(Running, leases.Count);
        Starting = Math.Max(Starting, leases.Count(l => l.Starting));
    }
}
