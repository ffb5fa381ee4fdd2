using MegaFlow.Contracts;
using System.Diagnostics;
using MegaFlow.Protocol;
using Akka.Actor;
using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Environments;
using MegaFlow.Contracts.Management;
using MegaFlow.Management.Http;
using MegaFlow.Management.Sharding;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using static MegaFlow.Contracts.Environments.EnvironmentProtocol;

namespace MegaFlow.Management.Environments;

/// <summary>
/// Environments: the live environment entities of every region (destroyed and lost ones passivate,
/// so "live" is exactly what still holds a folder or container), each asked for its state.
/// </summary>
public static class EnvironmentRoutes
{
    /// <summary>One environment the route cannot answer without (show, destroy).</summary>
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan DestroyWait = TimeSpan.FromSeconds(30);

    /// <summary>A listing's regions, each: the coordinator, then every region at once.</summary>
    private static readonly TimeSpan ListRegionTimeout = TimeSpan.FromSeconds(3);

    /// <summary>A listing's entity: a healthy one answers from memory in milliseconds, so a few seconds means stuck.</summary>
    private static readonly TimeSpan ListEntityTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The whole listing, regions included: well within the CLI's 60 s and a proxy's usual 30 s.</summary>
    private static readonly TimeSpan ListDeadline = TimeSpan.FromSeconds(10);

    private const int ListParallelism = 64;

    public static void Map(RouteGroupBuilder api, MutationGuard guard)
    {
        api.MapGet("/environments", async (ManagementNode node, string? status, CancellationToken ct) =>
        {
            EnvironmentStatus? filter = null;
            if (status is not null)
            {
                if (!StatusNames.TryParseEnvironment(status, out var parsed))
                    return ApiResults.BadRequest(StatusNames.UnknownEnvironment(status));
                filter = parsed;
            }
            var started = Stopwatch.GetTimestamp();
            var (live, failed) = await LiveAsync(node, ListRegionTimeout, ct);
            // Rows for those that answered and the others named: one stuck or crash-looping entity
            // must not turn the whole listing into a timeout.
            var asked = await ClusterAsks.EachAsync(live,
                (e, timeout, token) => node.Refs.Environments.Ask<EnvironmentState>(new GetEnvironmentState(e.Id), timeout, token),
                ListEntityTimeout, ListDeadline - Stopwatch.GetElapsedTime(started), ListParallelism, ct);
            return ApiResults.Ok(new EnvironmentList(
                asked.Answered.Select(a => Row(a.Answer, a.Item.Address))
                    .Where(r => filter is null || r.Status == StatusNames.Format(filter.Value))
                    .OrderBy(r => r.EnvironmentId, StringComparer.Ordinal).ToList(),
                failed,
                asked.Unanswered.Select(u => new UnansweredEnvironment(u.Item.Id, EnvironmentIdsNode(u.Item.Id, u.Item.Address), u.Reason))
                    .OrderBy(u => u.EnvironmentId, StringComparer.Ordinal).ToList()));
        });

        api.MapGet("/environments/{id}", async (ManagementNode node, string id, CancellationToken ct) =>
        {
            // Only live entities are asked: asking an unknown id would create (and remember) an empty one.
            var (live, _) = await LiveAsync(node, null, ct);
            if (!live.Any(e => e.Id == id)) return ApiResults.NotFound($"no live environment '{id}' (destroyed and lost environments are not kept running)");
            return ApiResults.Ok(await StateAsync(node, id, ct));
        });

        api.MapPost("/environments/{id}/destroy", async (ManagementNode node, string id, bool? force, CancellationToken ct) =>
        {
            var (live, _) = await LiveAsync(node, null, ct);
            if (!live.Any(e => e.Id == id)) return ApiResults.NotFound($"no live environment '{id}'");
            var state = await StateAsync(node, id, ct);
            if (state.IsGone) return ApiResults.Conflict($"environment '{id}' is already {StatusNames.Format(state.Status)}");
            if (state.Status == EnvironmentStatus.Leased && force != true)
                return ApiResults.Conflict($"environment '{id}' is leased to task '{state.LeasedTo}': cancel the task, or force (the task then retries on a fresh environment)");
            try
            {
                await node.Refs.Environments.Ask<DestroyDone>(new Destroy(id, "destroyed by operator"), DestroyWait, ct);
                return ApiResults.Ok(new ActionResult($"environment '{id}' destroyed", [id]));
            }
            catch (AskTimeoutException)
            {
                return Results.Json(new ActionResult($"environment '{id}' is being destroyed (not finished within {DestroyWait.TotalSeconds:0} s)", [id]),
                    ManagementJson.Options, statusCode: StatusCodes.Status202Accepted);
            }
        }).RequireToken(guard);
    }

    private static Task<EnvironmentState> StateAsync(ManagementNode node, string id, CancellationToken ct) =>
        node.Refs.Environments.AskAsync<EnvironmentState>(new GetEnvironmentState(id), AskTimeout, $"environment '{id}'", ct);

    private static async Task<(IReadOnlyList<(string Id, string Address)> Live, IReadOnlyList<string> Failed)> LiveAsync(ManagementNode node, TimeSpan? timeout, CancellationToken ct)
    {
        var (states, failed) = await ShardingRoutes.RegionStatesAsync(node, EntityTypes.Environment, timeout, ct);
        return (states.SelectMany(s => s.State.Shards.SelectMany(sh => sh.EntityIds.Select(e => (e, s.Address)))).ToList(), failed);
    }

    private static EnvironmentRow Row(EnvironmentState s, string address) => new(
        s.EnvironmentId,
        StatusNames.Format(s.Status),
        EnvironmentIdsNode(s.EnvironmentId, address),
        s.Spec?.Pool,
        s.Spec?.Mode.ToString().ToLowerInvariant(),
        s.Spec?.Image,
        s.LeasedTo,
        s.Leases,
        s.ReadyAt,
        Problem(s));

    private static string? Problem(EnvironmentState s) =>
        s.Faults > 0 ? $"{s.Faults} of {EnvironmentLogic.MaxFaults} health checks failed, retrying: {s.LastFault}"
        : s.Destroying ? "being destroyed"
        : s.DestroyWhenSettled is not null ? $"to be destroyed: {s.DestroyWhenSettled}"
        : null;

    private static string EnvironmentIdsNode(string id, string address) =>
        Contracts.Scheduling.EnvironmentIds.NodeOf(id) is { Length: > 0 } n ? n : address;
}
