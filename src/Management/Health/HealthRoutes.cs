using MegaFlow.Contracts.Management;
using MegaFlow.Management.Http;
using MegaFlow.Management.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MegaFlow.Management.Health;

/// <summary>/alive (liveness checks), /ready (readiness checks: Up, and a worker's shard regions registered) and /metrics.</summary>
public static class HealthRoutes
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/alive", async (ManagementNode node, HealthCheckService health, CancellationToken ct) =>
        {
            // A node still starting is alive (restarting it would not help); after that, the liveness checks.
            if (!node.ActorsStarted) return ApiResults.Ok(new { status = "starting" });
            var report = await health.CheckHealthAsync(r => r.Tags.Contains(NodeHealthChecks.LivenessTag), ct);
            return report.Status == HealthStatus.Healthy
                ? ApiResults.Ok(new { status = "alive" })
                : ApiResults.Error(StatusCodes.Status503ServiceUnavailable, "not_alive", string.Join("; ", Problems(report)));
        });

        app.MapGet("/ready", async (ManagementNode node, HealthCheckService health, CancellationToken ct) =>
        {
            var r = await CheckAsync(node, health, ct);
            return Results.Json(r, ManagementJson.Options, statusCode: r.Ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });

        app.MapGet("/metrics", async (ManagementNode node) =>
            Results.Text(await MetricsReport.RenderAsync(node), MetricsReport.ContentType));
    }

    /// <summary>The readiness checks (<see cref="NodeHealthChecks"/>), with the member's address, status and roles.</summary>
    public static async Task<Readiness> CheckAsync(ManagementNode node, HealthCheckService health, CancellationToken ct)
    {
        if (!node.ActorsStarted) return new Readiness(false, "", null, [], ["the node's actors have not started yet"]);
        var report = await health.CheckHealthAsync(r => r.Tags.Contains(NodeHealthChecks.ReadyTag), ct);
        var cluster = Akka.Cluster.Cluster.Get(node.System);
        var problems = Problems(report);
        // No readiness check registered is a wiring mistake, not readiness.
        if (report.Entries.Count == 0) problems.Add("no readiness checks are registered");
        return new Readiness(problems.Count == 0, cluster.SelfAddress.ToString(), cluster.SelfMember.Status.ToString().ToLowerInvariant(),
            cluster.SelfRoles.OrderBy(r => r).ToList(), problems);
    }

    private static List<string> Problems(HealthReport report) =>
        report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy)
            .SelectMany(e => (e.Value.Description ?? e.Value.Exception?.Message ?? e.Key).Split("; "))
            .ToList();
}
