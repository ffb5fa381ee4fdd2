using MegaFlow.Contracts;
using System.CommandLine;
using System.Text.Json;
using MegaFlow.Cli.CommandLine;
using MegaFlow.Datasets;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Contracts.Management;
using MegaFlow.Contracts.Results;
using Spectre.Console;
using static MegaFlow.Cli.Palettes.Render;

namespace MegaFlow.Cli.Palettes;

/// <summary>
/// `tasks submit | list | show | cancel | watch` through a node's management API; `tasks list --journal`
/// reads the local journal through the executable's <see cref="CliHost.JournalList"/>.
/// </summary>
internal static class TasksPalette
{
    /// <summary>Specs per POST: big files go in slices so one request never holds the whole file.</summary>
    private const int SubmitSlice = 500;

    public static Command Command(CliHost host)
    {
        var file = new Argument<string>("FILE") { Description = "a JSONL dataset, one task per line (docs/datasets.md)" };
        var skipInvalid = new Option<bool>("--skip-invalid") { Description = "submit the valid lines of a file with errors" };
        var watchAfter = new Option<bool>("--watch") { Description = "then follow the tasks to the end" };
        var format = new Option<string>("--format") { HelpName = "F", Description = "tasks (default: MegaFlow task records) or swe-bench (SWE-bench / Lite / Verified / SWE-Gym records as published)" };
        var testMap = new Option<string>("--test-map") { HelpName = "FILE", Description = "swe-bench: JSON of test commands by repository (and version) for records without test_cmd" };
        var imagePrefix = new Option<string>("--image-prefix") { HelpName = "P", Description = "swe-bench: registry prefix of the official images (default swebench/)" };
        var agent = new Option<string>("--agent") { HelpName = "KIND", Description = "swe-bench: model (default; scripted for records with setup) or scripted" };
        var submit = host.Api(new Command("submit", "validate a JSONL dataset (every bad line reported) and submit it") { file, skipInvalid, watchAfter, format, testMap, imagePrefix, agent },
            (c, p) => Submit(c, p.GetRequiredValue(file), p.GetValue(skipInvalid), p.GetValue(watchAfter),
                new SubmitFormat(p.GetValue(format), p.GetValue(testMap), p.GetValue(imagePrefix), p.GetValue(agent))));

        var show = new Argument<string>("TASK_ID") { Description = "the task's id" };
        var cancel = new Argument<string>("TASK_ID") { Description = "the task's id" };
        var reason = new Option<string>("--reason") { HelpName = "TEXT", Description = "recorded with the cancellation" };
        var watch = new Argument<string[]>("TASK_ID") { Description = "the tasks' ids", Arity = ArgumentArity.ZeroOrMore };
        var watchFile = new Option<string>("--file") { HelpName = "FILE", Description = "watch every task of a JSONL dataset" };
        return new Command("tasks", "submit, list, show, cancel and watch tasks")
        {
            submit,
            List(host),
            host.Api(new Command("show", "one task's full state: attempts, steps, score, model calls") { show }, (c, p) => Show(c, p.GetRequiredValue(show))),
            host.Api(new Command("cancel", "cancel a task; its environment is released") { cancel, reason },
                (c, p) => ClusterPalette.Act(c, $"api/tasks/{Uri.EscapeDataString(p.GetRequiredValue(cancel))}/cancel", new CancelRequest(p.GetValue(reason)))),
            host.Api(new Command("watch", "follow tasks live until each reaches a final state") { watch, watchFile },
                (c, p) => Watch(c, p.GetValue(watch) ?? [], p.GetValue(watchFile))),
        };
    }

    /// <summary>`tasks list`: from a node's projection, or with --journal from the local journal.</summary>
    private static Command List(CliHost host)
    {
        var status = new Option<string>("--status") { HelpName = "S", Description = "only tasks in this status" };
        var pool = new Option<string>("--pool") { HelpName = "P", Description = "only tasks of this pool" };
        var limit = new Option<string>("--limit") { HelpName = "N", Description = "at most N rows" };
        var journal = new Option<bool>("--journal") { Description = "read the local journal instead of a node (MEGAFLOW_DATA_DIR; works offline)" };
        var list = new Command("list", "counts by status and the tasks (from the node's projection)") { status, pool, limit, journal };
        ApiOptions.AddTo(list);
        list.SetAction((p, _) => p.GetValue(journal)
            ? ListJournal(host, list, p, p.GetValue(status))
            : host.RunApiAsync(p, (c, _) => List(c, p.GetValue(status), p.GetValue(pool), p.GetValue(limit))));
        return list;
    }

    private static Task<int> ListJournal(CliHost host, Command list, ParseResult p, string? status)
    {
        if (host.JournalList is null)
            throw new UsageException("tasks list: --journal reads a node's journal and needs its settings: run it with the megaflow executable");
        // The journal listing filters by status only, and talks to no node.
        if (list.Options.FirstOrDefault(o => (o.Name is "--pool" or "--limit" or ApiOptions.NodeOption or ApiOptions.TokenOption) && p.GetResult(o) is not null) is { } other)
            throw new UsageException($"tasks list: {other.Name} does not go with --journal (the journal listing takes --status and --json)");
        return host.JournalList(status, p.GetValue<bool>(ApiOptions.JsonOption));
    }

    /// <summary>How `tasks submit` reads its file: <c>--format</c> and the swe-bench options.</summary>
    private sealed record SubmitFormat(string? Format, string? TestMap, string? ImagePrefix, string? Agent)
    {
        public const string Tasks = "tasks";
        public const string SweBench = "swe-bench";

        public DatasetReadResult Read(string file, bool skipInvalid)
        {
            var format = Format ?? Tasks;
            if (format == Tasks)
            {
                if (new[] { ("--test-map", TestMap), ("--image-prefix", ImagePrefix), ("--agent", Agent) }.FirstOrDefault(o => o.Item2 is not null) is { Item2: not null } other)
                    throw new UsageException($"tasks submit: {other.Item1} goes with --format swe-bench (task records name their own image and agent)");
                return DatasetReader.Read(file, new DatasetOptions { SkipInvalidLines = skipInvalid });
            }
            if (format != SweBench)
                throw new UsageException($"tasks submit: unknown --format '{format}' (expected {Tasks} or {SweBench})");
            if (Agent is not null && !AgentKinds.All.Contains(Agent))
                throw new UsageException($"tasks submit: unknown --agent '{Agent}' (expected {string.Join(" or ", AgentKinds.All)})");
            if (TestMap is not null && !File.Exists(TestMap))
                throw new UsageException($"tasks submit: test map '{TestMap}' does not exist");
            SweBenchTestMap map;
            try
            {
                map = TestMap is null ? SweBenchTestMap.Empty : SweBenchTestMap.Load(TestMap);
            }
            catch (FormatException e)
            {
                throw new UsageException($"tasks submit: {e.Message}");
            }
            return SweBenchImport.Read(file, new SweBenchOptions
            {
                SkipInvalidLines = skipInvalid,
                TestCommands = map,
                ImagePrefix = ImagePrefix ?? SweBenchOptions.Default.ImagePrefix,
                Agent = Agent is null ? null : new AgentSpec { Kind = Agent },
            });
        }
    }

    private static async Task<int> Submit(CliContext c, string file, bool skipInvalid, bool watch, SubmitFormat format)
    {
        if (!File.Exists(file)) throw new UsageException($"tasks submit: file '{file}' does not exist");
        var read = format.Read(file, skipInvalid);
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
        if (c.Json) c.Out.WriteLine(JsonSerializer.Serialize(results, ManagementJson.Options));
        else c.Out.WriteLine($"submitted {results.Count(r => r.Accepted && !r.AlreadyKnown)} new tasks ({results.Count(r => r.AlreadyKnown)} already known, {rejected.Count} rejected) from {file}");
        var code = read.HasErrors || rejected.Count > 0 ? ExitCodes.Failed : ExitCodes.Ok;
        if (!watch) return code;
        var watchCode = await WatchIds(c, results.Where(r => r.Accepted).Select(r => r.TaskId).ToList());
        return Math.Max(code, watchCode);
    }

    private static async Task<int> List(CliContext c, string? status, string? pool, string? limit)
    {
        var query = new List<string>();
        if (status is not null)
        {
            if (!StatusNames.TryParseTask(status, out var s))
                throw new UsageException($"tasks list: {StatusNames.UnknownTask(status)}");
            query.Add("status=" + Uri.EscapeDataString(StatusNames.Format(s)));
        }
        if (pool is not null) query.Add("pool=" + Uri.EscapeDataString(pool));
        if (limit is not null)
        {
            if (!int.TryParse(limit, out var n) || n <= 0) throw new UsageException($"tasks list: --limit needs a positive number (got '{limit}')");
            query.Add("limit=" + n);
        }
        var (v, json) = await c.Client.GetAsync<TaskList>("api/tasks" + (query.Count > 0 ? "?" + string.Join("&", query) : ""));
        if (c.Json)
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
        if (status is not null || pool is not null || limit is not null)
        {
            var rows = Table("task", "status", "attempt", "mode", "pool", "node", "updated");
            foreach (var t in v.Tasks) rows.AddRow(E(t.TaskId), t.Status, t.Attempt.ToString(), t.Mode ?? "", E(t.Pool), E(t.Node), Time(t.UpdatedAt));
            c.Console.Write(rows);
            if (v.Tasks.Count < v.Matching) c.Console.WriteLine($"{v.Tasks.Count} of {v.Matching} shown");
        }
        return ExitCodes.Ok;
    }

    private static async Task<int> Show(CliContext c, string taskId)
    {
        var (_, json) = await c.Client.GetAsync<JsonElement>($"api/tasks/{Uri.EscapeDataString(taskId)}");
        if (c.Json)
        {
            c.PrintJson(json);
            return ExitCodes.Ok;
        }
        var s = JsonSerializer.Deserialize<TaskState>(json, ManagementJson.Options)!;
        c.Console.MarkupLine($"[bold]{E(s.TaskId)}[/]: {StatusNames.Format(s.Status)} (attempt {s.Attempt})");
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
        // Only a task whose attempt made model calls gets the model rows and tables: any other reads as it always did.
        if (s.ModelCalls.Count > 0)
        {
            var total = ModelUsage.Of(s.ModelCalls);
            t.AddRow("model", total.Describe());
            t.AddRow("weight versions", total.WeightVersions.Count == 0 ? "(not reported)" : total.VersionsText());
        }
        c.Console.Write(t);
        if (s.ModelCalls.Count > 0) ShowModelCalls(c, s);
        return ExitCodes.Ok;
    }

    /// <summary>
    /// Per round (the step of that round, when it has one: the model agent's final decision has
    /// none), the weight versions and tokens of its calls; then every call with its record's path in
    /// the artifact store.
    /// </summary>
    private static void ShowModelCalls(CliContext c, TaskState s)
    {
        var byRound = ModelUsage.ByRound(s.ModelCalls);
        var rounds = Table("round", "step", "exit", "model calls", "weight version", "tokens in", "tokens out", "latency ms, total");
        foreach (var round in s.Steps.Select(st => st.Round).Union(byRound.Keys).Order())
        {
            var step = s.Steps.LastOrDefault(st => st.Round == round);
            var u = byRound.GetValueOrDefault(round);
            rounds.AddRow(round.ToString(), step is null ? "(no step)" : E(Shorten(step.Command)), step?.ExitCode.ToString() ?? "",
                (u?.Calls ?? 0).ToString(), E(u?.VersionsText()), u?.PromptTokens.ToString() ?? "", u?.CompletionTokens.ToString() ?? "",
                u is null ? "" : (u.MeanLatencyMs * u.Calls).ToString("0"));
        }
        c.Console.Write(rounds);
        var calls = Table("round", "route", "model", "weight version", "tokens in", "tokens out", "latency ms", "status", "error", "record");
        foreach (var m in s.ModelCalls)
            calls.AddRow(m.Round.ToString(), E(m.Route), E(m.Model), m.WeightVersion?.ToString() ?? "", m.PromptTokens.ToString(), m.CompletionTokens.ToString(),
                m.LatencyMs.ToString("0"), m.Status.ToString(), E(m.Error), E(m.Path));
        c.Console.Write(calls);
    }

    // A step's command on one line and short enough for a table cell; the full text is in --json.
    private static string Shorten(string command)
    {
        var line = command.ReplaceLineEndings(" ");
        return line.Length <= 60 ? line : line[..59] + "…";
    }

    private static async Task<int> Watch(CliContext c, IEnumerable<string> taskIds, string? file)
    {
        var ids = taskIds.ToList();
        if (file is not null)
        {
            if (!File.Exists(file)) throw new UsageException($"tasks watch: file '{file}' does not exist");
            var read = DatasetReader.Read(file, new DatasetOptions { SkipInvalidLines = true });
            ids.AddRange(read.Specs.Select(s => s.TaskId!));
        }
        if (ids.Count == 0) throw new UsageException("tasks watch: give task ids or --file FILE");
        return await WatchIds(c, ids.Distinct().ToList());
    }

    /// <summary>Prints every status change as it happens, then a count per final status. Exit 0 once all are final.</summary>
    private static async Task<int> WatchIds(CliContext c, IReadOnlyList<string> ids)
    {
        var final = new Dictionary<string, string>();
        var unknown = new List<string>();
        var done = false;
        await foreach (var (evt, data) in c.Client.StreamAsync("api/tasks/watch", new WatchRequest(ids)))
        {
            if (c.Json && evt != "done") c.Out.WriteLine(data);
            switch (evt)
            {
                case "change":
                    var change = JsonSerializer.Deserialize<TaskChange>(data, ManagementJson.Options)!;
                    if (change.Terminal) final[change.TaskId] = change.Status;
                    if (!c.Json)
                        c.Out.WriteLine($"{change.At.ToLocalTime():HH:mm:ss} [{final.Count}/{ids.Count}] {change.TaskId} {change.Status}" +
                                        (change.Attempt > 1 ? $" (attempt {change.Attempt})" : "") + (change.Node is null ? "" : $" on {change.Node}"));
                    break;
                case "unknown":
                    var id = JsonDocument.Parse(data).RootElement.GetProperty("taskId").GetString()!;
                    unknown.Add(id);
                    if (!c.Json) c.Error.WriteLine($"no task '{id}'");
                    break;
                case "done":
                    done = true;
                    break;
            }
        }
        if (!done) throw new NodeUnreachableException($"the node at {c.Client.Node} closed the watch before every task finished");
        if (!c.Json)
        {
            var t = Table("final status", "tasks");
            foreach (var g in final.Values.GroupBy(s => s).OrderBy(g => g.Key)) t.AddRow(g.Key, g.Count().ToString());
            c.Console.Write(t);
        }
        return unknown.Count > 0 ? ExitCodes.Failed : ExitCodes.Ok;
    }
}
