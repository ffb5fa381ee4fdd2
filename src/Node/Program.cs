using MegaFlow.Hosting;
using MegaFlow.Cli;
using MegaFlow.Management;
using MegaFlow.Node;
using MegaFlow.Node.Demo;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

var usage = $"""
    usage: megaflow <command> [options]

    run:
      demo [--tasks N] [--fresh] [--provider local|docker]
                                   run the built-in sample set on one embedded node (SQLite, local
                                   processes; --provider docker or MEGAFLOW_PROVIDER=docker: containers)
      node                         run a cluster node until SIGTERM (configured by MEGAFLOW_* variables);
                                   serves the management API and /metrics on MEGAFLOW_MANAGEMENT_PORT (default {ManagementSettings.DefaultPort})
      tasks export OUT.jsonl       every finished task's result and trajectory location, plus a summary (local journal)
      help                         show this text

    operate a running cluster (through a node's management API):
    {OpsCli.Usage}
    configuration (environment variables):
      MEGAFLOW_HOSTNAME, MEGAFLOW_PUBLIC_HOSTNAME, MEGAFLOW_PORT, MEGAFLOW_SEEDS, MEGAFLOW_ROLES,
      MEGAFLOW_PERSISTENCE (sqlite|postgres), MEGAFLOW_CONNECTION_STRING, MEGAFLOW_DATA_DIR,
      MEGAFLOW_PROVIDER (local|simulated|docker), MEGAFLOW_CONFIG (a HOCON file layered over the defaults),
      MEGAFLOW_DOCKER_ENDPOINT (unix:///var/run/docker.sock), MEGAFLOW_DOCKER_PREPULL (images, comma-separated),
      MEGAFLOW_MANAGEMENT (on|off), MEGAFLOW_MANAGEMENT_ADDRESS, MEGAFLOW_MANAGEMENT_PORT,
      MEGAFLOW_MANAGEMENT_TOKEN, MEGAFLOW_MANAGEMENT_READONLY, MEGAFLOW_LOG_FORMAT (text|json),
      MEGAFLOW_NODE (the CLI's default --node)
    """;

try
{
    var command = args.Length > 0 ? args[0] : "help";
    // The operator's palettes talk HTTP to a node and need no node settings; `tasks list --journal`
    // and `tasks export` read the local journal and stay below.
    if (OpsCli.Handles(args) && !(command == "tasks" && args.Length >= 2 && (args[1] == "export" || (args[1] == "list" && args.Contains("--journal")))))
        return await OpsCli.RunAsync(args);
    var settings = NodeSettings.FromEnvironment();
    switch (command)
    {
        case "demo":
            var tasks = 240;
            var fresh = false;
            for (var i = 1; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--tasks" when i + 1 < args.Length && int.TryParse(args[i + 1], out var n) && n > 0:
                        tasks = n;
                        i++;
                        break;
                    case "--fresh":
                        fresh = true;
                        break;
                    case "--provider" when i + 1 < args.Length && args[i + 1] is "local" or "docker" or "simulated":
                        settings = settings with { Provider = args[++i] };
                        break;
                    default:
                        return Fail($"demo: bad argument '{args[i]}' (--tasks needs a positive number, --provider local, docker or simulated)");
                }
            }
            return await DemoCommand.RunAsync(settings, tasks, fresh);
        case "node":
            if (args.Length > 1) return Fail($"node: unexpected argument '{args[1]}' (configure nodes with MEGAFLOW_* variables)");
            var management = ManagementSettings.FromEnvironment(settings.DataDir);
            var jsonLogs = Environment.GetEnvironmentVariable("MEGAFLOW_LOG_FORMAT")?.Trim().ToLowerInvariant() switch
            {
                null or "" or "text" => false,
                "json" => true,
                var other => throw new ArgumentException($"MEGAFLOW_LOG_FORMAT: unknown format '{other}' (expected text or json)"),
            };
            using (var host = NodeHost.Build(settings, LogLevel.Information, management, jsonLogs))
            {
                try
                {
                    await host.RunAsync();
                }
                catch (IOException e) when (e.Message.Contains("bind", StringComparison.OrdinalIgnoreCase))
                {
                    // Kestrel starts before the actor system, so nothing else has started yet.
                    Console.Error.WriteLine($"megaflow: management API: {e.Message} (set MEGAFLOW_MANAGEMENT_PORT, or MEGAFLOW_MANAGEMENT=off)");
                    return 1;
                }
            }
            return 0;
        case "tasks" when args.Length == 3 && args[1] == "export":
            return await TasksCommand.ExportAsync(settings, args[2]);
        case "tasks":
            if (args.Length < 2 || args[1] != "list") return Fail("tasks export: expected 'tasks export OUT.jsonl'");
            string? status = null;
            var json = false;
            for (var i = 2; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--status" when i + 1 < args.Length:
                        status = args[++i];
                        break;
                    case "--json":
                        json = true;
                        break;
                    case "--journal":
                        break;
                    default:
                        return Fail($"tasks list: bad argument '{args[i]}'");
                }
            }
            return await TasksCommand.ListAsync(settings, status, json);
        case "help" or "--help" or "-h":
            Console.WriteLine(usage);
            return 0;
        default:
            return Fail($"unknown command '{command}'");
    }
}
catch (ArgumentException e)
{
    return Fail(e.Message);
}

int Fail(string message)
{
    Console.Error.WriteLine($"megaflow: {message}");
    Console.Error.WriteLine(usage);
    return 2;
}
