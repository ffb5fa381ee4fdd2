using System.Text.Json;
using Akka.Actor;
using MegaFlow.Hosting;
using MegaFlow.Hosting.Persistence;
using MegaFlow.Actors.Tasks.ReadModel;
using MegaFlow.Contracts;
using MegaFlow.Client;
using MegaFlow.Datasets;
using MegaFlow.Contracts.Results;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using Spectre.Console;

namespace MegaFlow.Node;

/// <summary>
/// `megaflow tasks list --journal [--status S] [--json]` and `tasks export`: read the journal the
/// node's settings point at (works while the cluster runs, or offline after it stopped). The other
/// task commands go through a node's management API (MegaFlow.Cli).
/// </summary>
public static class TasksCommand
{
    public static async Task<int> ListAsync(NodeSettings settings, string? statusText, bool json)
    {
        TaskStatus? status = null;
        if (statusText is not null)
        {
            if (!StatusNames.TryParseTask(statusText, out var parsed))
                throw new ArgumentException($"tasks list: {StatusNames.UnknownTask(statusText)}");
            status = parsed;
        }
        using var system = await JournalReaderSystemAsync(settings);
        try
        {
            // The read model's own fold and listing, run over the journal to its end.
            var listing = TaskJournal.Listing(await TaskJournal.FoldAsync(system), status);
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    counts = listing.Counts.ToDictionary(kv => StatusNames.Format(kv.Key), kv => kv.Value),
                    tasks = listing.Tasks,
                }, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
                return 0;
            }
            var counts = new Table().Border(TableBorder.Rounded).AddColumn("status").AddColumn(new TableColumn("tasks").RightAligned());
            foreach (var (s, n) in listing.Counts.OrderBy(kv => kv.Key))
                counts.AddRow(StatusNames.Format(s), n.ToString());
            counts.AddRow("[bold]total[/]", $"[bold]{listing.Total}[/]");
            AnsiConsole.Write(counts);
            if (status is not null)
            {
                var rows = new Table().Border(TableBorder.Simple).AddColumns("task", "status", "attempt", "mode", "pool", "reward");
                foreach (var t in listing.Tasks)
                    rows.AddRow(Markup.Escape(t.TaskId), StatusNames.Format(t.Status), t.Attempt.ToString(), t.Mode ?? "", Markup.Escape(t.Pool ?? ""), t.Reward?.ToString("0.##") ?? "");
                AnsiConsole.Write(rows);
            }
            return 0;
        }
        finally
        {
            await system.Terminate();
        }
    }

    /// <summary>
    /// `megaflow tasks export OUT.jsonl`: every finished task's result and trajectory location, one JSON
    /// object per line, read from the journal; then a summary per dataset and group.
    /// </summary>
    public static async Task<int> ExportAsync(NodeSettings settings, string output)
    {
        // Opened before the journal is read: a path that cannot be written fails at once, in one line.
        StreamWriter writer;
        try
        {
            writer = new StreamWriter(output);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"megaflow: tasks export: cannot write '{output}': {e.Message}");
            return 1;
        }
        using var system = await JournalReaderSystemAsync(settings);
        try
        {
            var states = (await TaskJournal.FoldAsync(system, keepOutputs: true)).States;
            var finished = states.Where(s => s.Status.IsTerminal()).OrderBy(s => s.SubmittedAt).ToList();
            await using (writer)
            {
                foreach (var s in finished)
                    await writer.WriteLineAsync(TaskExportLine.Of(s).ToJson());
            }
            Console.WriteLine($"exported {finished.Count} finished tasks to {output}");
            foreach (var table in Summary(finished)) AnsiConsole.Write(table);
            return 0;
        }
        finally
        {
            await system.Terminate();
        }
    }

    /// <summary>
    /// The export's summary: a row per dataset, then its replica groups; with model calls in any of
    /// the tasks, a second table of their count, tokens and latency (a table of its own: the two as one
    /// are too wide for an 80-column terminal). Without model calls it is the one table it always was.
    /// </summary>
    public static IReadOnlyList<Table> Summary(IReadOnlyCollection<TaskState> finished, int k = 4)
    {
        var datasets = GroupStats.ByDataset(finished, k);
        var rows = datasets.Select(d => (Stat: d, Label: $"[bold]{Markup.Escape(d.Key)}[/]"))
            .Concat(GroupStats.ByGroup(finished, k).Where(g => g.Tasks > 1).Select(g => (Stat: g, Label: "  " + Markup.Escape(g.Key))))
            .ToList();
        var results = new Table().Border(TableBorder.Rounded).AddColumns("dataset / group", "tasks", "passed", "infra", "mean reward", "pass@1", "pass@k");
        foreach (var (g, label) in rows)
            results.AddRow(label, g.Tasks.ToString(), g.Passed.ToString(), g.InfraFailed.ToString(), g.MeanReward.ToString("0.00"), g.PassAt1.ToString("0.00"), g.PassAtK.ToString("0.00"));
        if (!datasets.Any(d => d.Model.Calls > 0)) return [results];
        var model = new Table { Title = new TableTitle("model calls (latency in ms)") }.Border(TableBorder.Rounded)
            .AddColumns("dataset / group", "calls", "tokens in", "tokens out", "mean", "p50", "p99");
        foreach (var (g, label) in rows)
            model.AddRow(label, g.Model.Calls.ToString(), g.Model.PromptTokens.ToString(), g.Model.CompletionTokens.ToString(),
                g.Model.MeanLatencyMs.ToString("0"), g.Model.P50LatencyMs.ToString("0"), g.Model.P99LatencyMs.ToString("0"));
        return [results, model];
    }

    // A local (non-cluster) ActorSystem on the node's journal: enough to read it, joins nothing.
    private static async Task<ActorSystem> JournalReaderSystemAsync(NodeSettings settings)
    {
        // A journal from an earlier version gets what this one reads (its row events' tags).
        await SchemaInitializer.UpgradeAsync(settings, TimeSpan.FromMinutes(1));
        return ActorSystem.Create("megaflow-cli", MegaFlowConfig.Setup(settings with
        {
            ExtraHocon = (settings.ExtraHocon ?? "") + "\nakka.actor.provider = local\nakka.loglevel = ERROR",
        }));
    }
}
