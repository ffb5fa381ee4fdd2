using Akka.Actor;
using MegaFlow.Actors.Hosting;
using MegaFlow.Domain.Environments;
using MegaFlow.Management.Contracts;
using MegaFlow.Management.Http;
using MegaFlow.Management.Sharding;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using static MegaFlow.Domain.Environments.EnvironmentProtocol;

namespace MegaFlow.Management.Environments;

/// <summary>
/// Environments: the live environment entities of every region (destroyed and lost ones passivate,
/// so "live" is exactly what still holds a folder or container), each asked for its state.
/// </summary>
public static class EnvironmentRoutes
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DestroyWait = TimeSpan.FromSeconds(30);

    public static void Map(RouteGroupBuilder api, MutationGuard guard)
    {
        api.MapGet("/environments", async (ManagementNode node, string? status, CancellationToken ct) =>
        {
            EnvironmentStatus? filter = null;
            if (status is not null)
            {
                if (!Enum.TryParse<EnvironmentStatus>(status, true, out var parsed) || int.TryParse(status, out _))
                    return ApiResults.BadRequest($"unknown environment status '{status}' (expected one of {string.Join(", ", Enum.GetNames<EnvironmentStatus>().Skip(1).Select(n => n.ToLowerInvariant()))})");
                filter = parsed;
            }
            var (live, failed) = await LiveAsync(node);
            var rows = new List<EnvironmentRow>();
            await Parallel.ForEachAsync(live, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (e, token) =>
            {
                var state = await node.Refs.Environments.Ask<EnvironmentState>(new GetEnvironmentState(e.Id), AskTimeout, token);
                lock (rows) rows.Add(Row(state, e.Address));
            });
            return ApiResults.Ok(new EnvironmentList(
                rows.Where(r => filter is null || r.Status == filter.Value.ToString().ToLowerInvariant()).OrderBy(r => r.EnvironmentId, StringComparer.Ordinal).ToList(),
                failed));
        });

        api.MapGet("/environments/{id}", async (ManagementNode node, string id, CancellationToken ct) =>
        {
            // Only live entities are asked: asking an unknown id would create (and remember) an empty one.
            var (live, _) = await LiveAsync(node);
            if (!live.Any(e => e.Id == id)) return ApiResults.NotFound($"no live environment '{id}' (destroyed and lost environments are not kept running)");
            return ApiResults.Ok(await node.Refs.Environments.Ask<EnvironmentState>(new GetEnvironmentState(id), AskTimeout, ct));
        });

        api.MapPost("/environments/{id}/destroy", async (ManagementNode node, string id, bool? force, CancellationToken ct) =>
        {
            var (live, _) = await LiveAsync(node);
            if (!live.Any(e => e.Id == id)) return ApiResults.NotFound($"no live environment '{id}'");
            var state = await node.Refs.Environments.Ask<EnvironmentState>(new GetEnvironmentState(id), AskTimeout, ct);
            if (state.IsGone) return ApiResults.Conflict($"environment '{id}' is already {state.Status.ToString().ToLowerInvariant()}");
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

    private static async Task<(IReadOnlyList<(string Id, string Address)> Live, IReadOnlyList<string> Failed)> LiveAsync(ManagementNode node)
    {
        var (states, failed) = await ShardingRoutes.RegionStatesAsync(node, MegaFlowNode.EnvironmentTypeName);
        return (states.SelectMany(s => s.State.Shards.SelectMany(sh => sh.EntityIds.Select(e => (e, s.Address)))).ToList(), failed);
    }

    private static EnvironmentRow Row(EnvironmentState s, string address) => new(
        s.EnvironmentId,
        s.Status.ToString().ToLowerInvariant(),
        EnvironmentIdsNode(s.EnvironmentId, address),
        s.Spec?.Pool,
        s.Spec?.Mode.ToString().ToLowerInvariant(),
        s.Spec?.Image,
        s.LeasedTo,
        s.Leases,
        s.ReadyAt);

    private static string EnvironmentIdsNode(string id, string address) =>
        Domain.Scheduling.EnvironmentIds.NodeOf(id) is { Length: > 0 } n ? n : address;
}
