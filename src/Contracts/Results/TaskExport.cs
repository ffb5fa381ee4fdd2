using System.Text.Json;
using System.Text.Json.Serialization;
using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Contracts.Results;

/// <summary>
/// One line of <c>tasks export</c>: a finished task's result, where its trajectory is, and the model
/// calls of its last attempt (each a reference to its token record in the artifact store: the
/// token ids and log-probs stay there).
/// </summary>
/// <param name="ModelCalls">Every model call of the attempt; absent (not empty) when it made none, so such a line reads as before model calls were recorded.</param>
/// <param name="Model">The calls summed up (<see cref="ModelUsage"/>); absent with <paramref name="ModelCalls"/>.</param>
public sealed record TaskExportLine(
    string TaskId,
    string Status,
    int Attempts,
    string? Dataset,
    string? Group,
    double? Reward,
    int? ScoreExitCode,
    string? Failure,
    string? FailureKind,
    int Steps,
    string Trajectory,
    IReadOnlyList<string> Artifacts,
    DateTimeOffset? SubmittedAt,
    DateTimeOffset? FinishedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ModelCall>? ModelCalls,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ModelUsage? Model)
{
    // Default escaping and camel case: the lines' fields are written exactly as they were before this type named them.
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static TaskExportLine Of(TaskState s) => new(
        s.TaskId,
        StatusNames.Format(s.Status),
        s.Attempt,
        s.Spec?.Metadata?.GetValueOrDefault(GroupStats.DatasetKey),
        s.Spec?.Metadata?.GetValueOrDefault(GroupStats.GroupKey),
        s.Score?.Reward,
        s.Score?.ExitCode,
        s.FailureReason,
        s.FailureKind?.ToString().ToLowerInvariant(),
        s.Steps.Count,
        $"journal:task-{s.TaskId}",
        s.Steps.Select(st => st.ArtifactPath).OfType<string>().ToList(),
        s.SubmittedAt,
        s.FinishedAt,
        s.ModelCalls.Count == 0 ? null : s.ModelCalls,
        s.ModelCalls.Count == 0 ? null : ModelUsage.Of(s.ModelCalls));

    public string ToJson() => JsonSerializer.Serialize(this, Json);
}
