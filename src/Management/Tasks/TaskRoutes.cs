using System.Text.Json;
using MegaFlow.Protocol.Tasks;
using Akka.Actor;
using MegaFlow.Contracts;
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


/// <summary>Tasks: list and filter (from the node's task read model), show (asks the task), submit, cancel, watch.</summary>
public static class TaskRoutes
{
    public static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How long a listing waits for the read model's first journal read before answering with what it has.</summary>
    private static readonly TimeSpan CatchUpWait = TimeSpan.FromSeconds(20);

    /// <summary>How long show and cancel wait for the read model to see a task before answering "no task".</summary>
    private static readonly TimeSpan KnownWait = TimeSpan.FromSeconds(3);

    public static void Map(RouteGroupBuilder api, MutationGuard guard)
    {
        // Paging (offset, limit), search (q: part of the id) and order (newest: latest submitted first)
        // let the dashboard show one page of 100,000 tasks: only that page's rows are built and sent.
        api.MapGet("/tasks", async (ManagementNode node, string? status, string? pool, int? limit, int? offset, string? q, bool? newest, CancellationToken ct) =>
        {
            TaskStatus? filter = null;
            if (status is not null)
            {
                if (!StatusNames.TryParseTask(status, out var parsed)) return ApiResults.BadRequest(StatusNames.UnknownTask(status));
                filter = parsed;
            }
            if (limit is <= 0) return ApiResults.BadRequest($"limit must be positive (got {limit})");
            if (offset is < 0) return ApiResults.BadRequest($"offset must not be negative (got {offset})");
            var listing = await ListAsync(node, ct);
            var counts = listing.Counts.OrderBy(kv => kv.Key).ToDictionary(kv => StatusNames.Format(kv.Key), kv => kv.Value);
            var search = string.IsNullOrWhiteSpace(q) ? null : q.Trim();
            var matching = listing.Tasks
                .Where(r => filter is null || r.Status == filter)
                .Where(r => pool is null || r.Pool == pool)
                .Where(r => search is null || r.TaskId.Contains(search, StringComparison.OrdinalIgnoreCase));
            // The listing comes ordered by submission; "newest" only reverses it.
            var ordered = newest == true
                ? matching.Reverse().ToList()
                : matching.OrderBy(r => r.UpdatedAt ?? DateTimeOffset.MinValue).ThenBy(r => r.TaskId, StringComparer.Ordinal).ToList();
            var page = ordered.Skip(offset ?? 0).Take(limit ?? int.MaxValue)
                .Select(r => new TaskRow(r.TaskId, StatusNames.Format(r.Status), r.Attempt, r.Node, r.UpdatedAt, r.Pool, r.Mode,
                    r.SubmittedAt, r.Reward, r.FailureKind?.ToString().ToLowerInvariant()))
                .ToList();
            return ApiResults.Ok(new TaskList(counts, listing.Total, ordered.Count, page, listing.Complete));
        });

        api.MapGet("/tasks/{id}", async (ManagementNode node, string id, CancellationToken ct) =>
        {
            // Asking an id nobody submitted would start (and remember) an empty entity: ask the read model first.
            if (!await KnownAsync(node, id, ct))
                return ApiResults.NotFound($"no task '{id}'");
            var state = await node.Refs.Tasks.AskAsync<TaskState>(new GetTaskState(id), AskTimeout, $"task '{id}'", ct);
            return state.Status == TaskStatus.Unknown ? ApiResults.NotFound($"no task '{id}'") : ApiResults.Ok(TaskDetail.ToJson(state));
        });

        // A step's full output, by the location its step names: only locations the task's own steps
        // name are read, so the route cannot be used to read anything else of the store.
        api.MapGet("/tasks/{id}/artifact", async (ManagementNode node, string id, string? location, CancellationToken ct) =>
        {
            if (string.IsNullOrWhiteSpace(location)) return ApiResults.BadRequest("artifact needs ?location= (a step's artifactPath)");
            if (!await KnownAsync(node, id, ct)) return ApiResults.NotFound($"no task '{id}'");
            var state = await node.Refs.Tasks.AskAsync<TaskState>(new GetTaskState(id), AskTimeout, $"task '{id}'", ct);
            if (!state.Steps.Any(s => s.ArtifactPath == location))
                return ApiResults.NotFound($"task '{id}' has no step with the artifact '{location}'");
            if (node.Artifacts is not { } store) return ApiResults.NotFound("this node has no artifact store");
            var bytes = await store.ReadLocationAsync(location, ct);
            return bytes is null
                ? ApiResults.NotFound($"artifact '{location}' is not in this node's store (a local folder holds only its own node's artifacts)")
                : Results.Bytes(bytes, "text/plain; charset=utf-8");
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
                    SubmitAccepted a => new SubmitResult(a.TaskId, true, a.AlreadyKnown, StatusNames.Format(a.Status), []),
                    SubmitRejected r => new SubmitResult(r.TaskId, false, false, null, r.Errors.Select(e => e.ToString()).ToList()),
                    _ => new SubmitResult(spec.TaskId ?? "", false, false, null, [$"unexpected reply {reply.GetType().Name}"]),
                };
            });
            var rejected = results.Count(r => !r.Accepted);
            return Results.Json(results, ManagementJson.Options, statusCode: rejected == results.Length ? StatusCodes.Status422UnprocessableEntity : StatusCodes.Status200OK);
        }).RequireToken(guard);

        api.MapPost("/tasks/{id}/cancel", async (ManagementNode node, string id, CancelRequest? body, CancellationToken ct) =>
        {
            if (!await KnownAsync(node, id, ct))
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

    /// <summary>
    /// The read model's listing, once it has read the journal; a node still reading it after
    /// <see cref="CatchUpWait"/> answers with what it has (the listing says it is not complete).
    /// </summary>
    private static async Task<TaskListing> ListAsync(ManagementNode node, CancellationToken ct)
    {
        try
        {
            return await node.TaskReadModel.Ask<TaskListing>(new ListTasks(null), CatchUpWait, ct);
        }
        catch (AskTimeoutException)
        {
            return await node.TaskReadModel.AskAsync<TaskListing>(new ListTasks(null, WaitForCatchUp: false), AskTimeout, "the task read model", ct);
        }
    }

    // The read model sees a submission made through another node after the journal's poll interval.
    private static async Task<bool> KnownAsync(ManagementNode node, string id, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + KnownWait;
        while (true)
        {
            var changes = await node.TaskReadModel.AskAsync<TaskChanges>(new ReadTaskChanges([id], 0, Subscribe: false), AskTimeout, "the task read model", ct);
            if (changes.Tasks.Count > 0) return true;
            if (DateTime.UtcNow >= deadline) return false;
            await Task.Delay(200, ct);
        }
    }
}
