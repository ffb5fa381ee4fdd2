using MegaFlow.Actors.Hosting;
using MegaFlow.Node;
using MegaFlow.Node.Demo;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

const string Usage = """
    usage: megaflow <command> [options]

    commands:
      demo [--tasks N] [--fresh] [--provider local|docker]
                                   run the built-in sample set on one embedded node (SQLite, local
                                   processes; --provider docker or MEGAFLOW_PROVIDER=docker: containers)
      node                         run a cluster node until SIGTERM (configured by MEGAFLOW_* variables)
      tasks list [--status S] [--json]
                                   tasks by status, read from the journal
      tasks submit FILE [--skip-invalid] [--watch]
                                   validate a JSONL dataset and submit it to the cluster at MEGAFLOW_SEEDS
      tasks export OUT.jsonl       every finished task's result and trajectory location, plus a summary
      help                         show this text

    configuration (environment variables):
      MEGAFLOW_HOSTNAME, MEGAFLOW_PUBLIC_HOSTNAME, MEGAFLOW_PORT, MEGAFLOW_SEEDS, MEGAFLOW_ROLES,
      MEGAFLOW_PERSISTENCE (sqlite|postgres), MEGAFLOW_CONNECTION_STRING, MEGAFLOW_DATA_DIR,
      MEGAFLOW_PROVIDER (local|simulated|docker), MEGAFLOW_CONFIG (a HOCON file layered over the defaults),
      MEGAFLOW_DOCKER_ENDPOINT (unix:///var/run/docker.sock), MEGAFLOW_DOCKER_PREPULL (images, comma-separated)
    """;

try
{
    var command = args.Length > 0 ? args[0] : "help";
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
            using (var host = NodeHost.Build(settings, LogLevel.Information))
                await host.RunAsync();
            return 0;
        case "tasks" when args.Length >= 3 && args[1] == "submit":
            var skipInvalid = args.Skip(3).Contains("--skip-invalid");
            var watch = args.Skip(3).Contains("--watch");
            if (args.Skip(3).FirstOrDefault(a => a is not "--skip-invalid" and not "--watch") is { } badArg)
                return Fail($"tasks submit: bad argument '{badArg}'");
            return await TasksCommand.SubmitAsync(settings, args[2], skipInvalid, watch);
        case "tasks" when args.Length == 3 && args[1] == "export":
            return await TasksCommand.ExportAsync(settings, args[2]);
        case "tasks":
            if (args.Length < 2 || args[1] != "list") return Fail("tasks: expected 'tasks list', 'tasks submit FILE' or 'tasks export OUT.jsonl'");
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
                    default:
                        return Fail($"tasks list: bad argument '{args[i]}'");
                }
            }
            return await TasksCommand.ListAsync(settings, status, json);
        case "help" or "--help" or "-h":
            Console.WriteLine(Usage);
            return 0;
        default:
            return Fail($"unknown command '{command}'");
    }
}
catch (ArgumentException e)
{
    return Fail(e.Message);
}

static int Fail(string message)
{
    Console.Error.WriteLine($"megaflow: {message}");
    Console.Error.WriteLine(Usage);
    return 2;
}
