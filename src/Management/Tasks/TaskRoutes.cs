using System.Text.Json;
using MegaFlow.Protocol.Tasks;
using Akka.Actor;
using MegaFlow.Actors.Tasks;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Datasets;
using MegaFlow.Domain.Tasks;
using MegaFlow.Contracts.Management;
using MegaFlow.Management.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using static MegaFlow.Contracts.Tasks.TaskProtocol;

namespace MegaFlow.Management.Tasks;


/// <summary>Tasks: list and filter (from the node's projection), show (asks the task), submit, cancel, watch.</summary>
public static class TaskRoutes
{
    public static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How long a listing waits for the projection's first journal read before answering with what it has.</summary>
    private static readonly TimeSpan SeedWait = TimeSpan.FromSeconds(20);

    public static void Map(RouteGroupBuilder api, MutationGuard guard)
    {
        api.MapGet("/tasks", async (ManagementNode node, string? status, string? pool, int? limit) =>
        {
            TaskStatus? filter = null;
            if (status is not null)
            {
                if (!TryParseStatus(status, out var parsed)) return ApiResults.BadRequest($"unknown status '{status}' (expected one of {StatusNames})");
                filter = parsed;
            }
            if (limit is <= 0) return ApiResults.BadRequest($"limit must be positive (got {limit})");
            var projection = node.Tasks;
            var complete = await WaitSeeded(projection);
            var rows = projection.Rows.ToList();
            var counts = rows.GroupBy(r => r.Status).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.Count());
            var matching = rows
                .Where(r => filter is null || r.Status == TaskProjection.Lower(filter.Value))
                .Where(r => pool is null || r.Pool == pool)
                .OrderBy(r => r.UpdatedAt ?? DateTimeOffset.MinValue).ThenBy(r => r.TaskId, StringComparer.Ordinal)
                .ToList();
            return ApiResults.Ok(new TaskList(counts, rows.Count, matching.Count, limit is { } n ? matching.Take(n).ToList() : matching, complete));
        });

        api.MapGet("/tasks/{id}", async (ManagementNode node, string id, CancellationToken ct) =>
        {
            // Asking an id nobody submitted would start (and remember) an empty entity: answer from the projection first.
            if (node.Tasks.Find(id) is null && await WaitSeeded(node.Tasks) && !await KnownAsync(node, id, ct))
                return ApiResults.NotFound($"no task '{id}'");
            var state = await node.Refs.Tasks.AskAsync<TaskState>(new GetTaskState(id), AskTimeout, $"task '{id}'", ct);
            return state.Status == TaskStatus.Unknown ? ApiResults.NotFound($"no task '{id}'") : ApiResults.Ok(state);
        });

        api.MapPost("/tasks", async (ManagementNode node, JsonElement body, CancellationToken ct) =>
        {
            // Each element is bound exactly as a dataset line is (unknown fields, repeated fields and
            // wrong types are errors naming the field); any such error rejects the whole body, so
            // nothing of a malformed submission is submitted. The domain's checks stay with each task.
            var elements = body.ValueKind == JsonValueKind.Array ? body.EnumerateArray().ToList() : [body];
            var specs = new List<TaskSpec>();
            var errors = new List<string>();
            for (var i = 0; i < elements.Count; i++)
            {
                var bound = TaskRecordBinder.Bind(elements[i], TaskRecordSource.ManagementApi);
                var where = body.ValueKind == JsonValueKind.Array ? $"[{i}] " : "";
                errors.AddRange(bound.Errors.Select(e => where + (e.Field.Length == 0 ? e.Message : e.ToString())));
                specs.AddRange(bound.Specs);
            }
            if (errors.Count > 0)
                return ApiResults.Error(StatusCodes.Status422UnprocessableEntity, "invalid_spec",
                    $"nothing submitted: {string.Join("; ", errors)}");
            if (specs.Count == 0) return ApiResults.BadRequest("no task specs in the body");
            var results = new SubmitResult[specs.Count];
            // Bounded concurrency: a 10,000-spec body must not become 10,000 simultaneous asks.
            await Parallel.ForEachAsync(Enumerable.Range(0, specs.Count), new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct }, async (i, token) =>
            {
                var spec = specs[i];
                var reply = await ClusterAsks.Naming(TaskGateway.SubmitAsync(node.Refs.Tasks, spec, AskTimeout, token), $"task '{spec.TaskId}'", AskTimeout);
                results[i] = reply switch
                {
                    SubmitAccepted a => new SubmitResult(a.TaskId, true, a.AlreadyKnown, TaskProjection.Lower(a.Status), []),
                    SubmitRejected r => new SubmitResult(r.TaskId, false, false, null, r.Errors.Select(e => e.ToString()).ToList()),
                    _ => new SubmitResult(spec.TaskId ?? "", false, false, null, [$"unexpected reply {reply.GetType().Name}"]),
                };
                if (reply is SubmitAccepted ok) node.Tasks.Submitted(spec, ok.Status);
            });
            var rejected = results.Count(r => !r.Accepted);
            return Results.Json(results, ManagementJson.Options, statusCode: rejected == results.Length ? StatusCodes.Status422UnprocessableEntity : StatusCodes.Status200OK);
        }).RequireToken(guard);

        api.MapPost("/tasks/{id}/cancel", async (ManagementNode node, string id, CancelRequest? body, CancellationToken ct) =>
        {
            if (node.Tasks.Find(id) is null && await WaitSeeded(node.Tasks) && !await KnownAsync(node, id, ct))
                return ApiResults.NotFound($"no task '{id}'");
            var reply = await node.Refs.Tasks.AskAsync<object>(new CancelTask(id, body?.Reason ?? "cancelled by operator"), AskTimeout, $"task '{id}'", ct);
            return reply switch
            {
                CancelAccepted => ApiResults.Ok(new ActionResult($"task '{id}' cancelled: its environment is released", [id])),
                CancelRejected r => ApiResults.Conflict($"task '{id}' cannot be cancelled: {r.Reason}"),
                _ => ApiResults.Error(StatusCodes.Status500InternalServerError, "unexpected", $"unexpected reply {reply.GetType().Name}"),
            };
        }).RequireToken(guard);

        api.MapPost("/tasks/watch", (ManagementNode node, WatchRequest? body, HttpContext http) =>
            body?.Ids is not { Count: > 0 } ids
                ? Task.FromResult(ApiResults.BadRequest("watch needs {\"ids\": [...]} with at least one task id"))
                : TaskWatch.RunAsync(node, ids, http));
    }

    internal static string StatusNames => string.Join(", ", Enum.GetNames<TaskStatus>().Skip(1).Select(n => n.ToLowerInvariant()));

    internal static bool TryParseStatus(string text, out TaskStatus status) =>
        Enum.TryParse(text, ignoreCase: true, out status) && status != TaskStatus.Unknown && !int.TryParse(text, out _);

    private static async Task<bool> WaitSeeded(TaskProjection projection)
    {
        try
        {
            await projection.Seeded.WaitAsync(SeedWait);
            return true;
        }
        catch (Exception e) when (e is TimeoutException || projection.Seeded.IsFaulted)
        {
            return false; // still reading, or the read failed: answer with what the topic has shown
        }
    }

    // The projection can lag behind a submission made through another node by a moment.
    private static async Task<bool> KnownAsync(ManagementNode node, string id, CancellationToken ct)
    {
        for (var i = 0; i < 10 && node.Tasks.Find(id) is null; i++) await Task.Delay(100, ct);
        return node.Tasks.Find(id) is not null;
    }
}
