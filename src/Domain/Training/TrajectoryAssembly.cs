using System.Text.Json;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Contracts.Training;
using static MegaFlow.Contracts.Tasks.TaskEvents;

namespace MegaFlow.Domain.Training;

/// <summary>
/// Builds a task attempt's <see cref="Trajectory"/> from its state just before the event that ended
/// the attempt and the gateway's records of its model calls. Pure: the caller reads the journal and
/// the artifact store.
/// </summary>
public static class TrajectoryAssembly
{
    /// <summary>True for the events that end an attempt: the ones a trajectory is made from.</summary>
    public static bool EndsAttempt(ITaskEvent e) => e is Completed or Failed or TimedOut or Cancelled or AttemptFailed;

    /// <param name="before">The task's state before <paramref name="ending"/> was applied (it still holds the attempt's steps and calls).</param>
    /// <param name="ending">The event that ended the attempt (<see cref="EndsAttempt"/>).</param>
    /// <param name="position">The journal position of <paramref name="ending"/>.</param>
    /// <param name="record">Reads a model-call record by its location; null when it is missing.</param>
    public static Trajectory Assemble(TaskState before, ITaskEvent ending, long position, Func<string, byte[]?> record)
    {
        var (attempt, outcome, reward, kind) = ending switch
        {
            Completed c => (c.Attempt, "completed", (double?)c.Score.Reward, (FailureKind?)null),
            Failed f => (f.Attempt, "failed", null, f.Kind),
            TimedOut t => (t.Attempt, "timed-out", null, null),
            Cancelled c => (c.Attempt, "cancelled", null, null),
            AttemptFailed a => (a.Attempt, "infrastructure-failure", null, FailureKind.Infrastructure),
            _ => throw new ArgumentException($"{ending.GetType().Name} does not end an attempt", nameof(ending)),
        };
        var metadata = before.Spec?.Metadata;
        var group = metadata?.GetValueOrDefault(TaskMetadataKeys.Group) is { Length: > 0 } g ? g : before.TaskId;
        var replica = int.TryParse(metadata?.GetValueOrDefault(TaskMetadataKeys.Replica), out var r) ? r : 0;
        var turns = before.ModelCalls.Select(call => Turn(call, call.Path.Length > 0 ? record(call.Path) : null)).ToList();
        return new Trajectory(before.TaskId, attempt, group, replica, outcome, reward, kind, turns, position);
    }

    private static TrajectoryTurn Turn(ModelCall call, byte[]? json)
    {
        if (json is null) return new TrajectoryTurn(call.Round, call.WeightVersion, [], [], [], call.Status);
        var root = JsonDocument.Parse(json).RootElement;
        var choice = root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0
            ? choices[0]
            : default;
        var guided = root.TryGetProperty("request", out var request) && request.ValueKind == JsonValueKind.Object
                     && request.TryGetProperty("guided_choice", out var g) && g.ValueKind == JsonValueKind.Array
            ? g.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToArray()
            : null;
        return new TrajectoryTurn(call.Round, call.WeightVersion,
            Ints(root, "prompt_token_ids"), Ints(choice, "token_ids"), Doubles(choice, "token_logprobs"), call.Status, guided);
    }

    private static IReadOnlyList<int> Ints(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var a) && a.ValueKind == JsonValueKind.Array
            ? a.EnumerateArray().Select(x => x.GetInt32()).ToArray()
            : [];

    private static IReadOnlyList<double> Doubles(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var a) && a.ValueKind == JsonValueKind.Array
            ? a.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Number ? x.GetDouble() : double.NaN).ToArray()
            : [];
}
