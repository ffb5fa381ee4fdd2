using System.Text.Json;
using MegaFlow.Cli.CommandLine;
using MegaFlow.Datasets;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Contracts.Management;
using Spectre.Console;
using static MegaFlow.Cli.Palettes.Render;

namespace MegaFlow.Cli.Palettes;

/// <summary>`tasks submit | list | show | cancel | watch` through a node's management API.</summary>
internal static class TasksPalette
{
    /// <summary>Specs per POST: big files go in slices so one request never holds the whole file.</summary>
    private const int SubmitSlice = 500;

    public static IEnumerable<CommandSpec> Commands() =>
    [
        new("tasks", "submit", "validate a JSONL dataset (every bad line reported) and submit it", [new("FILE")],
            [new("skip-invalid", null, "submit the valid lines of a file with errors"), new("watch", null, "then follow the tasks to the end")], Submit),
        new("tasks", "list", "counts by status and the tasks (from the node's projection)", [],
            [new("status", "S", "only tasks in this status"), new("pool", "P", "only tasks of this pool"), new("limit", "N", "at most N rows"),
             new("journal", null, "read the local journal instead of a node (MEGAFLOW_DATA_DIR; works offline)")], List),
        new("tasks", "show", "one task's full state: attempts, steps, score", [new("TASK_ID")], [], Show),
        new("tasks", "cancel", "cancel a task; its environment is released", [new("TASK_ID")], [new("reason", "TEXT", "recorded with the cancellation")], Cancel),
        new("tasks", "watch", "follow tasks live until each reaches a final state", [new("TASK_ID", Required: false, Many: true)],
            [new("file", "FILE", "watch every task of a JSONL dataset")], Watch),
    ];

    private static async Task<int> Submit(CliContext c, ParsedCommand p)
    {
        var file = p.Arg("FILE");
        if (!File.Exists(file)) throw new UsageException($"tasks submit: file '{file}' does not exist");
        var read = DatasetReader.Read(file, new DatasetOptions { SkipInvalidLines = p.Flag("skip-invalid") });
        foreach (var e in read.Errors) c.Error.WriteLine($"{file}: {e}");
        if (read.Specs.Count == 0)
        {
            c.Error.WriteLine(read.HasErrors
                ? $"{read.ErrorCount} error(s) in {read.InvalidRecords} of {read.Records} records: nothing submitted (use --skip-invalid to submit the valid lines)"
                : "no tasks in the file");
            return read.HasErrors ? ExitCodes.Failed : ExitCodes.Ok;
        }
        var results = new List<SubmitResult>();
        foreach (var slice in read.Specs.Chunk(SubmitSlice))
        {
            try
            {
                results.AddRange((await c.Client.PostAsync<List<SubmitResult>>("api/tasks", slice)).Value);
            }
            catch (NodeErrorException e) when (e.Status == System.Net.HttpStatusCode.UnprocessableEntity)
            {
                // Every spec of the slice was rejected: the node's validation agrees with none of them.
                c.Error.WriteLine($"the node rejected the slice of {slice.Length} tasks: {e.Message}");
                return ExitCodes.Failed;
            }
        }
        var rejected = results.Where(r => !r.Accepted).ToList();
        foreach (var r in rejected) c.Error.WriteLine($"rejected {r.TaskId}: {string.Join("; ", r.Errors)}");
        if (p.Global.Json) c.Out.WriteLine(JsonSerializer.Serialize(results, ManagementJson.Options));
        else c.Out.WriteLine($"submitted {results.Count(r => r.Accepted && !r.AlreadyKnown)} new tasks ({results.Count(r => r.AlreadyKnown)} already known, {rejected.Count} rejected) from {file}");
        var code = read.HasErrors || rejected.Count > 0 ? ExitCodes.Failed : ExitCodes.Ok;
        if (!p.Flag("watch")) return code;
        var watchCode = await WatchIds(c, p, results.Where(r => r.Accepted).Select(r => r.TaskId).ToList());
        return Math.Max(code, watchCode);
    }

    private static async Task<int> List(CliContext c, ParsedCommand p)
    {
        var query = new List<string>();
        if (p.Option("status") is { } status)
        {
            if (!Enum.TryParse<TaskStatus>(status, true, out var s) || s == TaskStatus.Unknown || int.TryParse(status, out _))
                throw new UsageException($"tasks list: unknown status '{status}' (expected one of {string.Join(", ", Enum.GetNames<TaskStatus>().Skip(1).Select(n => n.ToLowerInvariant()))})");
            query.Add("status=" + Uri.EscapeDataString(status.ToLowerInvariant()));
        }
        if (p.Option("pool") is { } pool) query.Add("pool=" + Uri.EscapeDataString(pool));
        if (p.Option("limit") is { } limit)
        {
            if (!int.TryParse(limit, out var n) || n <= 0) throw new UsageException($"tasks list: --limit needs a positive number (got '{limit}')");
            query.Add("limit=" + n);
        }
        var (v, json) = await c.Client.GetAsync<TaskList>("api/tasks" + (query.Count > 0 ? "?" + string.Join("&", query) : ""));
        if (p.Global.Json)
        {
            c.PrintJson(json);
            return ExitCodes.Ok;
        }
        var counts = new Table().Border(TableBorder.Rounded).AddColumn("status").AddColumn(new TableColumn("tasks").RightAligned());
        foreach (var (s, n) in v.Counts) counts.AddRow(s, n.ToString());
        counts.AddRow("[bold]total[/]", $"[bold]{v.Total}[/]");
        c.Console.Write(counts);
        if (!v.Complete) c.Console.MarkupLine("[yellow]the node is still reading the journal: counts may be incomplete[/]");
        // Without a filter the rows would be every task: show them only when asked for a subset.
        if (p.Option("status") is not null || p.Option("pool") is not null || p.Option("limit") is not null)
        {
            var rows = Table("task", "status", "attempt", "mode", "pool", "node", "updated");
            foreach (var t in v.Tasks) rows.AddRow(E(t.TaskId), t.Status, t.Attempt.ToString(), t.Mode ?? "", E(t.Pool), E(t.Node), Time(t.UpdatedAt));
            c.Console.Write(rows);
            if (v.Tasks.Count < v.Matching) c.Console.WriteLine($"{v.Tasks.Count} of {v.Matching} shown");
        }
        return ExitCodes.Ok;
    }

    private static async Task<int> Show(CliContext c, ParsedCommand p)
    {
        var (_, json) = await c.Client.GetAsync<JsonElement>($"api/tasks/{Uri.EscapeDataString(p.Arg("TASK_ID"))}");
        if (p.Global.Json)
        {
            c.PrintJson(json);
            return ExitCodes.Ok;
        }
        var s = JsonSerializer.Deserialize<TaskState>(json, ManagementJson.Options)!;
        c.Console.MarkupLine($"[bold]{E(s.TaskId)}[/]: {s.Status.ToString().ToLowerInvariant()} (attempt {s.Attempt})");
        var t = new Table().Border(TableBorder.Rounded).AddColumn("").AddColumn("");
        t.AddRow("mode / pool", E($"{s.Spec?.Mode} / {s.Spec?.PoolKey}"));
        t.AddRow("image", E(s.Spec?.Image));
        t.AddRow("environment", E(s.Lease?.EnvironmentId));
        t.AddRow("submitted", Time(s.SubmittedAt));
        t.AddRow("admitted", Time(s.AdmittedAt));
        t.AddRow("running since", Time(s.RunStartedAt));
        t.AddRow("finished", Time(s.FinishedAt));
        t.AddRow("steps", s.Steps.Count.ToString());
        if (s.Score is { } score) t.AddRow("score", $"reward {score.Reward:0.##}, exit code {score.ExitCode}");
        if (s.FailureReason is { } why) t.AddRow("failure", E($"{s.FailureKind?.ToString().ToLowerInvariant()}: {why}"));
        c.Console.Write(t);
        return ExitCodes.Ok;
    }

    private static Task<int> Cancel(CliContext c, ParsedCommand p) =>
        ClusterPalette.Act(c, p, $"api/tasks/{Uri.EscapeDataString(p.Arg("TASK_ID"))}/cancel",
            new CancelRequest(p.Option("reason")));

    private static async Task<int> Watch(CliContext c, ParsedCommand p)
    {
        var ids = p.Many("TASK_ID").ToList();
        if (p.Option("file") is { } file)
        {
            if (!File.Exists(file)) throw new UsageException($"tasks watch: file '{file}' does not exist");
            var read = DatasetReader.Read(file, new DatasetOptions { SkipInvalidLines = true });
            ids.AddRange(read.Specs.Select(s => s.TaskId!));
        }
        if (ids.Count == 0) throw new UsageException("tasks watch: give task ids or --file FILE");
        return await WatchIds(c, p, ids.Distinct().ToList());
    }

    /// <summary>Prints every status change as it happens, then a count per final status. Exit 0 once all are final.</summary>
    private static async Task<int> WatchIds(CliContext c, ParsedCommand p, IReadOnlyList<string> ids)
    {
        var final = new Dictionary<string, string>();
        var unknown = new List<string>();
        var done = false;
        await foreach (var (evt, data) in c.Client.StreamAsync("api/tasks/watch", new WatchRequest(ids)))
        {
            if (p.Global.Json && evt != "done") c.Out.WriteLine(data);
            switch (evt)
            {
                case "change":
                    var change = JsonSerializer.Deserialize<TaskChange>(data, ManagementJson.Options)!;
                    if (change.Terminal) final[change.TaskId] = change.Status;
                    if (!p.Global.Json)
                        c.Out.WriteLine($"{change.At.ToLocalTime():HH:mm:ss} [{final.Count}/{ids.Count}] {change.TaskId} {change.Status}" +
                                        (change.Attempt > 1 ? $" (attempt {change.Attempt})" : "") + (change.Node is null ? "" : $" on {change.Node}"));
                    break;
                case "unknown":
                    var id = JsonDocument.Parse(data).RootElement.GetProperty("taskId").GetString()!;
                    unknown.Add(id);
                    if (!p.Global.Json) c.Error.WriteLine($"no task '{id}'");
                    break;
                case "done":
                    done = true;
                    break;
            }
        }
        if (!done) throw new NodeUnreachableException($"the node at {c.Client.Node} closed the watch before every task finished");
        if (!p.Global.Json)
        {
            var t = Table("final status", "tasks");
            foreach (var g in final.Values.GroupBy(s => s).OrderBy(g => g.Key)) t.AddRow(g.Key, g.Count().ToString());
            c.Console.Write(t);
        }
        return unknown.Count > 0 ? ExitCodes.Failed : ExitCodes.Ok;
    }
}
