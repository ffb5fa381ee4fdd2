namespace MegaFlow.Contracts.Management;

/// <summary>One task as the node's projection knows it.</summary>
/// <param name="Node">Node whose actor published the latest change ("host:port"); null when only the journal was read.</param>
/// <param name="Pool">Known when the task's submission was read from the journal or submitted through this node.</param>
/// <param name="Reward">The score's reward once the task completed.</param>
/// <param name="FailureKind">"infrastructure" or "agent" for a failed task.</param>
public sealed record TaskRow(string TaskId, string Status, int Attempt, string? Node, DateTimeOffset? UpdatedAt, string? Pool = null, string? Mode = null,
    DateTimeOffset? SubmittedAt = null, double? Reward = null, string? FailureKind = null);

/// <summary>Counts per status over all tasks, and the rows matching the filter.</summary>
/// <param name="Complete">False while the node is still reading the journal at start: counts may be low.</param>
public sealed record TaskList(IReadOnlyDictionary<string, int> Counts, int Total, int Matching, IReadOnlyList<TaskRow> Tasks, bool Complete);

/// <summary>The outcome of one submitted spec.</summary>
public sealed record SubmitResult(string TaskId, bool Accepted, bool AlreadyKnown, string? Status, IReadOnlyList<string> Errors);

/// <summary>Body of POST /api/tasks/watch.</summary>
public sealed record WatchRequest(IReadOnlyList<string> Ids);

/// <summary>One server-sent event of a watch: a status change (or a task's current state when the watch starts).</summary>
public sealed record TaskChange(string TaskId, string Status, int Attempt, string? Node, DateTimeOffset At, bool Terminal);

/// <summary>Body of POST /api/tasks/{id}/cancel.</summary>
public sealed record CancelRequest(string? Reason);
