using System.Text.Json;
using Akka.Actor;
using MegaFlow.Actors.Hosting;
using MegaFlow.Actors.Tasks;
using Spectre.Console;

namespace MegaFlow.Node;

/// <summary>
/// `megaflow tasks list [--status S] [--json]`: the task list by status, read from the journal the
/// node's settings point at (works while the cluster runs, or offline after it stopped).
/// </summary>
public static class TasksCommand
{
    public static async Task<int> ListAsync(NodeSettings settings, string? statusText, bool json)
    {
        TaskStatus? status = null;
        if (statusText is not null)
        {
            if (!Enum.TryParse<TaskStatus>(statusText, ignoreCase: true, out var parsed) || parsed == TaskStatus.Unknown)
                throw new ArgumentException($"tasks list: unknown status '{statusText}' (expected one of {string.Join(", ", Enum.GetNames<TaskStatus>().Skip(1)).ToLowerInvariant()})");
            status = parsed;
        }
        // A local (non-cluster) system is enough to read the journal.
        var local = settings with { ExtraHocon = (settings.ExtraHocon ?? "") + "\nakka.actor.provider = local\nakka.loglevel = ERROR" };
        using var system = ActorSystem.Create("megaflow-cli", MegaFlowConfig.Setup(local));
        try
        {
            var listing = await TaskQueries.ListAsync(system, status);
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    counts = listing.Counts.ToDictionary(kv => kv.Key.ToString().ToLowerInvariant(), kv => kv.Value),
                    tasks = listing.Tasks,
                }, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
                return 0;
            }
            var counts = new Table().Border(TableBorder.Rounded).AddColumn("status").AddColumn(new TableColumn("tasks").RightAligned());
            foreach (var (s, n) in listing.Counts.OrderBy(kv => kv.Key))
                counts.AddRow(s.ToString().ToLowerInvariant(), n.ToString());
            counts.AddRow("[bold]total[/]", $"[bold]{listing.Total}[/]");
            AnsiConsole.Write(counts);
            if (status is not null)
            {
                var rows = new Table().Border(TableBorder.Simple).AddColumns("task", "status", "attempt", "mode", "pool", "reward");
                foreach (var t in listing.Tasks)
                    rows.AddRow(Markup.Escape(t.TaskId), t.Status.ToString().ToLowerInvariant(), t.Attempt.ToString(), t.Mode ?? "", Markup.Escape(t.Pool ?? ""), t.Reward?.ToString("0.##") ?? "");
                AnsiConsole.Write(rows);
            }
            return 0;
        }
        finally
        {
            await system.Terminate();
        }
    }
}
