using MegaFlow.Node.Bootstrap;
using System.CommandLine;
using MegaFlow.Hosting;
using MegaFlow.Cli;
using MegaFlow.Cli.CommandLine;
using MegaFlow.Management;
using MegaFlow.Node.Demo;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

using MegaFlow.ModelService.Hosting;

namespace MegaFlow.Node;

/// <summary>
/// The `megaflow` command tree: the node-local commands (`demo`, `node`, `tasks export`,
/// `tasks list --journal`), which need a node's settings, beside the ops palettes of
/// <see cref="OpsCli"/>, which talk HTTP only.
/// </summary>
public static class MegaFlowCommandLine
{
    private const string Configuration = """
        configuration (environment variables):
          MEGAFLOW_HOSTNAME, MEGAFLOW_PUBLIC_HOSTNAME, MEGAFLOW_PORT, MEGAFLOW_SEEDS, MEGAFLOW_ROLES,
          MEGAFLOW_PERSISTENCE (sqlite|postgres), MEGAFLOW_CONNECTION_STRING, MEGAFLOW_DATA_DIR,
          MEGAFLOW_PROVIDER (local|simulated|docker), MEGAFLOW_CONFIG (a HOCON file layered over the defaults),
          MEGAFLOW_DOCKER_ENDPOINT (unix:///var/run/docker.sock), MEGAFLOW_DOCKER_PREPULL (images, comma-separated),
          MEGAFLOW_MANAGEMENT (on|off), MEGAFLOW_MANAGEMENT_ADDRESS, MEGAFLOW_MANAGEMENT_PORT,
          MEGAFLOW_MANAGEMENT_TOKEN, MEGAFLOW_MANAGEMENT_READONLY, MEGAFLOW_LOG_FORMAT (text|json),
          MEGAFLOW_NODE (the CLI's default --node)

        """;

    private static readonly string[] Providers = ["local", "docker", "simulated"];

    /// <summary>Runs one command line of the executable.</summary>
    public static Task<int> RunAsync(IReadOnlyList<string> args, CliHost? host = null)
    {
        host ??= CliHost.FromConsole();
        return CommandTree.RunAsync(CreateRoot(host), args, host.Out, host.Error);
    }

    /// <summary>The whole tree: run commands first, then the palettes, with `tasks` holding both kinds.</summary>
    public static RootCommand CreateRoot(CliHost host)
    {
        host = host with { JournalList = (status, json) => Local(host, settings => TasksCommand.ListAsync(settings, status, json)) };
        var root = CommandTree.CreateRoot(
            "MegaFlow: agent tasks in their own environments on an Akka.NET cluster. Run a node or the demo, or operate a running cluster.",
            Configuration);
        root.Add(Demo(host));
        root.Add(TrainCommandLine(host));
        root.Add(NodeCommand(host));
        foreach (var command in OpsCli.Commands(host)) root.Add(command);
        root.Subcommands.Single(c => c.Name == "tasks").Add(Export(host));
        return root;
    }

    private static Command Demo(CliHost host)
    {
        var tasks = new Option<int>("--tasks")
        {
            HelpName = "N",
            Description = "how many sample tasks",
            DefaultValueFactory = _ => 240,
            CustomParser = r =>
            {
                var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
                if (int.TryParse(text, out var n) && n > 0) return n;
                r.AddError($"--tasks needs a positive number (got '{text}')");
                return 0;
            },
        };
        var fresh = new Option<bool>("--fresh") { Description = "start from an empty data folder" };
        var provider = new Option<string>("--provider")
        {
            HelpName = "local|docker|simulated",
            Description = "where environments run (default: MEGAFLOW_PROVIDER, else local processes; docker: containers)",
        };
        provider.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is { } p && !Providers.Contains(p))
                r.AddError($"--provider must be one of {string.Join(", ", Providers)} (got '{p}')");
        });
        var demo = new Command("demo", "run the built-in sample set on one embedded node; after Ctrl-C, run it again to resume")
        {
            tasks, fresh, provider,
        };
        demo.SetAction((p, _) => Local(host, settings =>
        {
            if (p.GetValue(provider) is { } chosen) settings = settings with { Provider = chosen };
            return DemoCommand.RunAsync(settings, p.GetValue(tasks), p.GetValue(fresh));
        }));
        return demo;
    }

    private static Command TrainCommandLine(CliHost host)
    {
        var spec = new Option<string>("--spec") { HelpName = "FILE", Description = "an experiment spec (JSON); default: the built-in experiment 'main' on builtin:touch-v1" };
        var steps = new Option<int?>("--steps") { HelpName = "N", Description = "trainer steps (overrides the spec's)" };
        var fresh = new Option<bool>("--fresh") { Description = "start from an empty data folder" };
        var train = new Command("train", "the main job: train the policy with GSPO on one embedded node with every role; after Ctrl-C, run it again to resume")
        {
            spec, steps, fresh,
        };
        train.SetAction((p, _) => Local(host, settings =>
        {
            var experiment = p.GetValue(spec) is { } file ? Train.TrainCommand.Read(file) : Train.TrainCommand.Default;
            if (p.GetValue(steps) is { } n) experiment = experiment with { Steps = n };
            var management = ManagementSettings.FromEnvironment(settings.DataDir, host.Env);
            return Train.TrainCommand.RunAsync(settings, experiment, p.GetValue(fresh), management.Enabled ? management : null, host.Error);
        }));
        return train;
    }

    private static Command NodeCommand(CliHost host)
    {
        var node = new Command("node",
            $"run a cluster node until SIGTERM (MEGAFLOW_* variables); management API and /metrics on port {ManagementSettings.DefaultPort}");
        node.SetAction((_, _) => Local(host, settings => RunNodeAsync(host, settings)));
        return node;
    }

    private static Command Export(CliHost host)
    {
        var output = new Argument<string>("OUT") { Description = "the JSONL file to write (OUT.jsonl)" };
        var export = new Command("export", "every finished task's result and trajectory location, plus a summary (local journal)") { output };
        export.SetAction((p, _) => Local(host, settings => TasksCommand.ExportAsync(settings, p.GetRequiredValue(output))));
        return export;
    }

    private static async Task<int> RunNodeAsync(CliHost host, NodeSettings settings)
    {
        ClusterPortGuard.EnsureFree(MegaFlowConfig.Build(settings));
        var management = ManagementSettings.FromEnvironment(settings.DataDir, host.Env);
        var jsonLogs = host.Env("MEGAFLOW_LOG_FORMAT")?.Trim().ToLowerInvariant() switch
        {
            null or "" or "text" => false,
            "json" => true,
            var other => throw new ArgumentException($"MEGAFLOW_LOG_FORMAT: unknown format '{other}' (expected text or json)"),
        };
        // The `model` role serves the policy over the OpenAI API on its own port (MEGAFLOW_MODEL_*).
        var model = settings.Roles.Contains("model") ? ModelServiceSettings.FromEnvironment(host.Env) : null;
        // Cluster Bootstrap instead of the static seed list (MEGAFLOW_BOOTSTRAP, MEGAFLOW_CONTACT_POINTS).
        var bootstrap = BootstrapSettings.FromEnvironment(settings, host.Env);
        using var node = NodeHost.Build(settings, LogLevel.Information, management, jsonLogs, model: model, bootstrap: bootstrap);
        try
        {
            await node.RunAsync();
        }
        catch (IOException e) when (e.Message.Contains("bind", StringComparison.OrdinalIgnoreCase))
        {
            // Kestrel starts before the actor system, so nothing else has started yet.
            host.Error.WriteLine($"megaflow: management API: {e.Message} (set MEGAFLOW_MANAGEMENT_PORT, or MEGAFLOW_MANAGEMENT=off)");
            return ExitCodes.Failed;
        }
        return ExitCodes.Ok;
    }

    /// <summary>
    /// Runs a node-local command with the node's settings. A bad setting (a MEGAFLOW_* variable, the
    /// HOCON it names) surfaces as an <see cref="ArgumentException"/> while the node starts; it is
    /// reported like a bad argument (one line naming it, exit code 2), never as a stack trace.
    /// </summary>
    private static async Task<int> Local(CliHost host, Func<NodeSettings, Task<int>> run)
    {
        try
        {
            return await run(NodeSettings.FromEnvironment(host.Env));
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
    }
}
