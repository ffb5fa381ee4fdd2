using Akka.Actor;
using MegaFlow.Protocol;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using MegaFlow.Contracts.Management;
using MegaFlow.Management.Http;
using MegaFlow.Management.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace MegaFlow.Management.Health;

/// <summary>/alive (the process answers), /ready (Up and its roles' actors started) and /metrics.</summary>
public static class HealthRoutes
{
    private static readonly TimeSpan CoordinatorTimeout = TimeSpan.FromSeconds(2);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/alive", () => ApiResults.Ok(new { status = "alive" }));

        app.MapGet("/ready", async (ManagementNode node) =>
        {
            var r = await CheckAsync(node);
            return Results.Json(r, ManagementJson.Options, statusCode: r.Ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });

        app.MapGet("/metrics", async (ManagementNode node) =>
            Results.Text(await MetricsReport.RenderAsync(node), MetricsReport.ContentType));
    }

    public static async Task<Readiness> CheckAsync(ManagementNode node)
    {
        if (!node.ActorsStarted) return new Readiness(false, "", null, [], ["the node's actors have not started yet"]);
        var system = node.System;
        var cluster = Akka.Cluster.Cluster.Get(system);
        var problems = new List<string>();
        var status = cluster.SelfMember.Status;
        if (status != MemberStatus.Up) problems.Add($"member status is {status.ToString().ToLowerInvariant()}, not up");
        var roles = cluster.SelfRoles.OrderBy(r => r).ToList();
        var mf = system.Settings.Config.GetConfig("megaflow");
        var types = ClusterSharding.Get(system).ShardTypeNames;
        if (roles.Contains(mf.GetString("worker-role", "worker")))
        {
            // A worker serves tasks and environments only once both shard regions exist.
            foreach (var type in new[] { EntityTypes.Task, EntityTypes.Environment })
            {
                if (!types.Contains(type))
                {
                    problems.Add($"the '{type}' shard region has not started");
                    continue;
                }
                // Ready once the coordinator lists this node's region: a region that has not
                // registered yet answers at once with an empty set, and until it registers,
                // messages to its shards just wait.
                try
                {
                    var regions = await ClusterSharding.Get(system).ShardRegion(type).Ask<CurrentRegions>(GetCurrentRegions.Instance, CoordinatorTimeout);
                    if (!regions.Regions.Any(a => a.HasLocalScope || a.Equals(cluster.SelfAddress)))
                        problems.Add($"the '{type}' shard region has not registered with its coordinator yet");
                }
                catch (AskTimeoutException)
                {
                    problems.Add($"the '{type}' shard coordinator has not answered yet");
                }
            }
        }
        if (system.WhenTerminated.IsCompleted) problems.Add("the actor system has terminated");
        return new Readiness(problems.Count == 0, cluster.SelfAddress.ToString(), status.ToString().ToLowerInvariant(), roles, problems);
    }
}
