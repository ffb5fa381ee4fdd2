using Akka.Actor;
using MegaFlow.Protocol;
using Akka.Hosting;
using MegaFlow.Hosting;
using MegaFlow.Hosting.Persistence;
using MegaFlow.Environments;
using MegaFlow.Management;
using MegaFlow.Management.Health;
using MegaFlow.Management.Metrics;
using MegaFlow.ModelService.Hosting;
using MegaFlow.Node.Bootstrap;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MegaFlow.Node;

/// <summary>
/// The generic host around a node: Akka.Hosting owns the ActorSystem, so SIGTERM/Ctrl-C run
/// coordinated shutdown (leave the cluster, hand off shards and the singleton) and the process exits 0.
/// </summary>
public static class NodeHost
{
    /// <param name="management">The management API's settings; null runs no API (the demo).</param>
    /// <param name="jsonLogs">One JSON object per log line (MEGAFLOW_LOG_FORMAT=json), for log shippers.</param>
    /// <param name="provider">The environment provider, instead of the one the configuration names (tests).</param>
    /// <param name="logging">More logging configuration after the node's own (tests capture the log with it).</param>
    /// <param name="model">The model API's settings (nodes with the `model` role); null serves no model.</param>
    /// <param name="bootstrap">Cluster Bootstrap instead of static seeds (MEGAFLOW_BOOTSTRAP); null joins through the seeds.</param>
    public static IHost Build(NodeSettings settings, LogLevel logLevel = LogLevel.Warning, ManagementSettings? management = null, bool jsonLogs = false,
        IEnvironmentProvider? provider = null, Action<ILoggingBuilder>? logging = null, ModelServiceSettings? model = null,
        BootstrapSettings? bootstrap = null)
    {
        // Configuration is MEGAFLOW_* variables and HOCON, read once. By default a host would watch the
        // working folder, recursively, for appsettings.json changes: with the default data folder
        // (./data) below it, every journal write and artifact file would wake a watcher thread, and
        // every task's artifact folder would take an inotify watch until the kernel's limit is reached.
        var hostBuilder = Host.CreateDefaultBuilder(["--hostBuilder:reloadConfigOnChange=false"])
            .ConfigureLogging(l =>
            {
                l.ClearProviders().SetMinimumLevel(logLevel);
                if (jsonLogs) l.AddJsonConsole(o => o.UseUtcTimestamp = true);
                else l.AddSimpleConsole(o => o.SingleLine = true);
                // Kestrel and routing are chatty at Information; their warnings still show.
                l.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
                // "Hosting failed to start" repeats, with its stack trace, the exception the caller gets
                // and reports in one line (a management port in use: `megaflow node` names the variable).
                l.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
                logging?.Invoke(l);
            });
        var managementNode = management is null ? null : hostBuilder.AddMegaFlowManagement(management);
        if (model is not null)
        {
            var mf = MegaFlowConfig.Build(settings).GetConfig("megaflow");
            hostBuilder.AddMegaFlowModelService(model, MegaFlowNode.CreateArtifactStore(mf, mf.GetString("data-dir")));
        }
        return hostBuilder
            .ConfigureServices(services =>
            {
                services.AddSingleton(settings);
                services.AddAkka(settings.SystemName, (builder, _) =>
                {
                    // Tables first (one node at a time), before any persistent actor starts.
                    SchemaInitializer.Ensure(settings);
                    builder.WithMegaFlowNode(settings, new NodeComponents(provider));
                    if (bootstrap is null) builder.WithClusterJoin(settings);
                    else builder.WithClusterBootstrap(bootstrap);
                    if (managementNode is not null)
                        builder.AddHocon(PersistedEventCounter.Hocon, HoconAddMode.Prepend).WithMegaFlowHealthChecks();
                    // Akka's log goes through Microsoft.Extensions.Logging, so one level and format rule both.
                    builder.ConfigureLoggers(l =>
                    {
                        l.LogLevel = logLevel switch
                        {
                            <= LogLevel.Debug => Akka.Event.LogLevel.DebugLevel,
                            LogLevel.Information => Akka.Event.LogLevel.InfoLevel,
                            LogLevel.Warning => Akka.Event.LogLevel.WarningLevel,
                            _ => Akka.Event.LogLevel.ErrorLevel,
                        };
                        l.ClearLoggers();
                        l.AddLoggerFactory();
                    });
                    if (managementNode is not null)
                        builder.AddStartup((system, registry) =>
                        {
                            // The dashboard links a step to its full output: the store the node's environments write to.
                            var mf = system.Settings.Config.GetConfig("megaflow");
                            var artifacts = MegaFlowNode.CreateArtifactStore(mf, mf.GetString("data-dir", "./data"));
                            if (artifacts is IDisposable owned) system.RegisterOnTermination(owned.Dispose);
                            managementNode.OnActorsStarted(system, MegaFlowProxies.Refs(registry), artifacts);
                        });
                });
            })
            .Build();
    }
}
