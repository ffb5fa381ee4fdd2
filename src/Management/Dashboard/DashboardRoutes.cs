using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MegaFlow.Management.Http;

namespace MegaFlow.Management.Dashboard;

/// <summary>
/// The web dashboard: its files under /dashboard/ and one live stream, /api/dashboard/live. Every
/// page reads the same JSON routes the CLI reads (/api/cluster, /api/tasks, …); the stream adds only
/// what those cannot give, a sample pushed every few seconds and the queue depth's history.
/// </summary>
/// <remarks>
/// Read-only without a token like the rest of the API: mutations from the dashboard (cancel,
/// destroy) go to the guarded routes with the token the operator typed into the page.
/// </remarks>
public static class DashboardRoutes
{
    public const string Root = "/dashboard/";

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/", () => Results.Redirect(Root));
        // Also matches "/dashboard" (routing ignores a trailing slash): sent to "/dashboard/" once.
        endpoints.MapGet("/dashboard/{**path}", (string? path, HttpContext http) =>
        {
            if (http.Request.Path.Value == "/dashboard") return Results.Redirect(Root);
            var file = string.IsNullOrEmpty(path) ? "index.html" : path;
            if (DashboardAssets.Find(file) is not { } asset) return ApiResults.NotFound($"no dashboard file '{file}'");
            // Always revalidated: after an upgrade of the node, the page must not mix old and new modules.
            http.Response.Headers.CacheControl = "no-cache";
            return Results.Bytes(asset.Content, asset.ContentType);
        });

        endpoints.MapGet("/api/dashboard/live", async (HttpContext http, DashboardFeed feed, IHostApplicationLifetime lifetime) =>
        {
            http.Response.ContentType = "text/event-stream";
            http.Response.Headers.CacheControl = "no-cache";
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping);
            var (reader, unsubscribe) = feed.Subscribe(lifetime.ApplicationStopping);
            try
            {
                // Tell the browser how soon to reconnect after the node restarts.
                await http.Response.WriteAsync("retry: 3000\n\n", Encoding.UTF8, stop.Token);
                await foreach (var text in reader.ReadAllAsync(stop.Token))
                {
                    await http.Response.WriteAsync(text, Encoding.UTF8, stop.Token);
                    await http.Response.Body.FlushAsync(stop.Token);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // The page closed, or the node is stopping.
            }
            finally
            {
                unsubscribe();
            }
        });
    }

    /// <summary>The feed the live route serves, one per node.</summary>
    public static IServiceCollection AddDashboard(this IServiceCollection services) =>
        services.AddSingleton(sp => new DashboardFeed(sp.GetRequiredService<ManagementNode>()));
}
