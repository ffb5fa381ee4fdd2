using System.Net;
using MegaFlow.Contracts.Management;
using System.Security.Cryptography;
using MegaFlow.Management.Cluster;
using MegaFlow.Management.Dashboard;
using MegaFlow.Management.Environments;
using MegaFlow.Management.Health;
using MegaFlow.Management.Http;
using MegaFlow.Management.Scheduling;
using MegaFlow.Management.Sharding;
using MegaFlow.Management.Tasks;
using MegaFlow.Management.Training;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MegaFlow.Management;

/// <summary>Hosts the management API in the node's generic host (same DI, logging and lifetime as Akka).</summary>
public static class ManagementHosting
{
    /// <summary>
    /// Adds Kestrel and the routes to the node's host. Returns the <see cref="ManagementNode"/> the
    /// node host must hand its ActorSystem to once the actors have started.
    /// </summary>
    public static ManagementNode AddMegaFlowManagement(this IHostBuilder host, ManagementSettings settings)
    {
        var node = new ManagementNode(settings);
        host.ConfigureServices(s => s.AddSingleton(node));
        if (!settings.Enabled) return node;
        var token = settings.Token ?? KeptOrGeneratedToken(settings.TokenFile);
        host.ConfigureWebHost(web => web
            .UseKestrel(k =>
            {
                if (settings.Address is "*" or "0.0.0.0") k.ListenAnyIP(settings.Port);
                else k.Listen(IPAddress.Parse(settings.Address), settings.Port);
            })
            .ConfigureServices(s =>
            {
                s.AddRouting();
                // The health check service; the checks themselves are registered with Akka.Hosting
                // (NodeHealthChecks.WithMegaFlowHealthChecks), which hands them to this service.
                s.AddHealthChecks();
                s.AddDashboard();
                s.ConfigureHttpJsonOptions(o => ManagementJson.Configure(o.SerializerOptions));
            })
            .Configure(app =>
            {
                var log = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("MegaFlow.Management");
                app.UseExceptionHandler(new ExceptionHandlerOptions
                {
                    ExceptionHandler = http => WriteError(http, log),
                    // The middleware would log every exception it handles as "unhandled", with its
                    // stack trace; WriteError logs the expected ones (timeouts, starting) as one line.
                    SuppressDiagnosticsCallback = c => RouteFailures.Classify(c.Exception).Expected,
                });
                app.UseRouting();
                app.Use(MutationGuard.CheckBeforeEndpoint);
                app.UseEndpoints(endpoints =>
                {
                    var guard = new MutationGuard(settings, token);
                    HealthRoutes.Map(endpoints);
                    var api = endpoints.MapGroup("/api");
                    ClusterRoutes.Map(api, guard);
                    ShardingRoutes.Map(api);
                    SchedulerRoutes.Map(api);
                    TaskRoutes.Map(api, guard);
                    EnvironmentRoutes.Map(api, guard);
                    TrainingRoutes.Map(api, guard);
                    DashboardRoutes.Map(endpoints);
                    endpoints.MapFallback((HttpContext http) =>
                        ApiResults.NotFound($"no route {http.Request.Method} {http.Request.Path} (see the README's Operations section)"));
                });
                var lifetime = app.ApplicationServices.GetRequiredService<IHostApplicationLifetime>();
                lifetime.ApplicationStarted.Register(() => log.LogInformation(
                    "management API listening on http://{Address}:{Port}{ReadOnly}", settings.Address, settings.Port, settings.ReadOnly ? " (read-only)" : ""));
            }));
        return node;
    }

    // Every failure becomes a JSON error naming its cause. An expected one (a timeout, the node
    // starting) is one warning line; only a real fault's stack trace goes to the log, never to the caller.
    private static async Task WriteError(HttpContext http, ILogger log)
    {
        var error = http.Features.Get<IExceptionHandlerFeature>()?.Error;
        var failure = RouteFailures.Classify(error);
        if (failure.Expected)
            log.LogWarning("{Method} {Path}: {Status} {Code}: {Message}", http.Request.Method, http.Request.Path, failure.Status, failure.Code, failure.Message);
        else
            log.LogError(error, "management request {Method} {Path} failed", http.Request.Method, http.Request.Path);
        http.Response.StatusCode = failure.Status;
        await http.Response.WriteAsJsonAsync(new Contracts.Management.ApiError(failure.Message, failure.Code), ManagementJson.Options);
    }

    /// <summary>
    /// The token a previous start of this node generated, if its file is there, readable and holds one;
    /// otherwise a new random one, written there. Reusing it keeps scripts and operators holding the
    /// token working across restarts; a node without a data directory gets a fresh one each start.
    /// </summary>
    private static string KeptOrGeneratedToken(string? file)
    {
        if (file is not null && Kept(file) is { } kept) return kept;
        return GenerateToken(file);
    }

    private static string? Kept(string file)
    {
        try
        {
            if (!File.Exists(file)) return null;
            var text = File.ReadAllText(file).Trim();
            // Anything but one word is not a token this node wrote (an emptied or hand-edited file): replaced.
            if (text.Length == 0 || text.Any(char.IsWhiteSpace)) return null;
            // A copy made with the umask's mode, or loosened since, is narrowed again to its owner.
            if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(file) & ~(UnixFileMode.UserRead | UnixFileMode.UserWrite)) != 0)
                File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            return text;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // unreadable, or its mode cannot be narrowed: replaced (GenerateToken fails loudly if it cannot write either)
        }
    }

    /// <summary>A random token, written where the CLI on this machine looks for it (owner-only permissions).</summary>
    private static string GenerateToken(string? file)
    {
        var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
        if (file is null) return token;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        // Created owner-only from the first byte (not chmod-ed after writing, which leaves a moment
        // in which the umask's mode lets others read the token); an existing file is narrowed too.
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            if (File.Exists(file)) File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        using (var writer = new StreamWriter(file, options))
            writer.Write(token + "\n");
        return token;
    }
}
