using System.Text.Json;
using System.Text.Json.Nodes;
using MegaFlow.Contracts.Results;
using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Contracts.Management;

/// <summary>
/// The body of <c>GET /api/tasks/{id}</c>: the task's state as JSON (it deserializes as a
/// <see cref="TaskState"/>), where each step whose round made model calls also carries their sum
/// (<c>model</c>: calls, tokens, latency, weight versions) and the attempt carries the total
/// (<c>modelUsage</c>). A task without model calls has neither, so its detail reads as before.
/// </summary>
public static class TaskDetail
{
    public const string StepModelField = "model";
    public const string ModelUsageField = "modelUsage";

    public static JsonObject ToJson(TaskState s)
    {
        var o = ManagementJson.Options;
        var detail = JsonSerializer.SerializeToNode(s, o)!.AsObject();
        if (s.ModelCalls.Count == 0) return detail;
        var byRound = ModelUsage.ByRound(s.ModelCalls);
        // Steps are serialized in order, so the i-th node is the i-th step: no need to read rounds back out of JSON.
        var steps = detail[Name(nameof(TaskState.Steps))]!.AsArray();
        for (var i = 0; i < s.Steps.Count; i++)
            if (byRound.TryGetValue(s.Steps[i].Round, out var usage))
                steps[i]!.AsObject()[StepModelField] = JsonSerializer.SerializeToNode(usage, o);
        detail[ModelUsageField] = JsonSerializer.SerializeToNode(ModelUsage.Of(s.ModelCalls), o);
        return detail;
    }

    private static string Name(string property) => ManagementJson.Options.PropertyNamingPolicy!.ConvertName(property);
}
