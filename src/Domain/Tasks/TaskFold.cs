using MegaFlow.Contracts.Tasks;
using static MegaFlow.Contracts.Tasks.TaskEvents;

namespace MegaFlow.Domain.Tasks;

/// <summary>
/// Every task's state and list row, folded from task events in journal order with
/// <see cref="TaskLogic.Apply"/>. The one fold behind every task read: the live read model on each
/// node, <c>tasks list --journal</c> and <c>tasks export</c> (which run it over the journal offline).
/// </summary>
/// <remarks>
/// Without outputs (the read model, listings) steps are not kept and scores lose their output text:
/// a row needs neither, and a journal of many tasks must not put every trajectory in memory.
/// The submission's spec is dropped once its mode and pool are in the row, for the same reason.
/// </remarks>
public sealed class TaskFold
{
    private readonly Dictionary<string, TaskState> _states = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TaskSummary> _rows = new(StringComparer.Ordinal);
    private readonly int[] _counts = new int[Enum.GetValues<TaskStatus>().Length];
    private readonly bool _keepOutputs;

    /// <param name="keepOutputs">Keep steps, outputs and specs (for export); otherwise only what a row needs.</param>
    public TaskFold(bool keepOutputs = false) => _keepOutputs = keepOutputs;

    /// <summary>The change sequence: grows by one at every row that changes.</summary>
    public long Sequence { get; private set; }

    /// <summary>Events folded since this fold was created or restored.</summary>
    public long EventsFolded { get; private set; }

    public int Count => _rows.Count;

    public IEnumerable<TaskSummary> Rows => _rows.Values;

    /// <summary>Full states; with outputs only when the fold keeps them.</summary>
    public IEnumerable<TaskState> States => _states.Values;

    public TaskSummary? Find(string taskId) => _rows.GetValueOrDefault(taskId);

    /// <summary>Tasks per status (statuses without tasks left out).</summary>
    public IReadOnlyDictionary<TaskStatus, int> Counts() =>
        Enum.GetValues<TaskStatus>().Where(s => _counts[(int)s] > 0).ToDictionary(s => s, s => _counts[(int)s]);

    // Task events that never change a row: steps and model calls (a row shows neither) and lease
    // releases (a row shows no lease). The journal leaves them out of the row events it tags, so the
    // read model reads about a third of the journal's rows.
    private static readonly HashSet<Type> RowlessEvents = [typeof(StepRecorded), typeof(ModelCallRecorded), typeof(LeaseReleased)];

    /// <summary>Whether a task event can change its task's row (every event that ends an attempt does).</summary>
    public static bool ShapesRow(ITaskEvent e) => !RowlessEvents.Contains(e.GetType());

    /// <summary>Whether events of a type are task events that can change a row (for journal migrations, which see types by manifest).</summary>
    public static bool ShapesRow(Type eventType) => typeof(ITaskEvent).IsAssignableFrom(eventType) && !RowlessEvents.Contains(eventType);

    /// <summary>Folds one event; returns the task's new row when the row changed, otherwise null.</summary>
    public TaskSummary? Apply(ITaskEvent e)
    {
        EventsFolded++;
        if (!_keepOutputs)
        {
            if (!ShapesRow(e)) return null;
            if (e is TaskEvents.Completed c) e = c with { Score = c.Score with { Output = "" } };
        }
        var before = _states.TryGetValue(e.TaskId, out var s) ? s : TaskState.Empty(e.TaskId);
        var after = TaskLogic.Apply(before, e);
        var old = _rows.GetValueOrDefault(e.TaskId);
        // Numbered as the next change up front: the read model folds every row event, and a copy per
        // event to renumber it showed in its allocations (bench/RESULTS.md, session 17).
        var row = Row(after, old, e, Sequence + 1);
        if (!_keepOutputs && (after.Spec is not null || after.History.Count > 0)) after = after with { Spec = null, History = [] };
        _states[e.TaskId] = after;
        if (old is not null && Same(old, row)) return null;
        if (old is not null) _counts[(int)old.Status]--;
        _counts[(int)row.Status]++;
        Sequence++;
        _rows[e.TaskId] = row;
        return row;
    }

    /// <summary>Restores rows saved earlier (a read model's snapshot); the fold continues from them.</summary>
    public void Restore(IEnumerable<TaskSummary> rows, long sequence)
    {
        foreach (var row in rows)
        {
            _rows[row.TaskId] = row;
            _counts[(int)row.Status]++;
            // What later events need of the state: status and attempt (Apply derives the rest from the event).
            _states[row.TaskId] = TaskState.Empty(row.TaskId) with
            {
                Status = row.Status, Attempt = row.Attempt, SubmittedAt = row.SubmittedAt, FinishedAt = row.FinishedAt, FailureKind = row.FailureKind,
            };
        }
        Sequence = sequence;
    }

    private static TaskSummary Row(TaskState s, TaskSummary? old, ITaskEvent e, long sequence) => new(
        s.TaskId, s.Status, s.Attempt,
        s.Spec?.Mode?.ToLowerInvariant() ?? old?.Mode,
        s.Spec?.PoolKey ?? old?.Pool,
        s.SubmittedAt, s.FinishedAt, s.Score?.Reward ?? (s.Status == TaskStatus.Completed ? old?.Reward : null),
        s.FailureKind,
        e switch
        {
            Admitted a => a.TaskNode,
            AttemptFailed => null,
            _ => old?.Node,
        },
        At(e) ?? old?.UpdatedAt, sequence);

    // Sequence and time aside, a row changed when any shown field did (record equality, so a field
    // added to TaskSummary counts without touching this).
    private static bool Same(TaskSummary old, TaskSummary row) => row with { Sequence = old.Sequence, UpdatedAt = old.UpdatedAt } == old;

    private static DateTimeOffset? At(ITaskEvent e) => e switch
    {
        Submitted x => x.At, Queued x => x.At, Admitted x => x.At, RunStarted x => x.At, ScoringStarted x => x.At,
        TaskEvents.Completed x => x.At, AttemptFailed x => x.At, Failed x => x.At, TimedOut x => x.At, Cancelled x => x.At,
        _ => null,
    };
}
