using System.Globalization;
using System.Text;
using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Environments;
using MegaFlow.Verification;

namespace MegaFlow.Chaos;

/// <summary>One node's process and log over the whole run.</summary>
/// <param name="Restarts">Starts after the first (the schedule's restarts and any after a crash).</param>
/// <param name="UnexpectedExits">Exit codes of exits the harness did not cause.</param>
public sealed record NodeSummary(
    string Name, string Address, int Restarts, int Kills, IReadOnlyList<int> UnexpectedExits,
    long LogLines, long LogBytes, long ErrorLines, IReadOnlyList<(string Source, int Lines)> TopErrorSources, (string? Source, int Lines) WorstActor,
    string LogPath, bool LogTruncated);

/// <summary>A guarantee the run checks, and whether it held.</summary>
public sealed record Invariant(string Name, bool Held, string Detail);

/// <summary>Everything one run (chaos or baseline) measured.</summary>
/// <param name="Wall">Submission start → last terminal event; null when tasks were left unfinished.</param>
/// <param name="ContainersLeft">Docker only: containers with this run's cluster label after the drain.</param>
/// <param name="FoldersLeft">Scratch folders left under the nodes' data directories (local provider).</param>
public sealed record RunResult(
    string Label, ChaosOptions Options, int Submitted, RunVerification Verification, IReadOnlyList<KillRecord> Kills, OutageRecord? Outage,
    IReadOnlyList<NodeSummary> Nodes, int? ContainersLeft, int FoldersLeft, TimeSpan? Wall, bool AllFinished, DrainOutcome Drain,
    IReadOnlyList<HandOverGap> Gaps, IReadOnlyList<string> Notes, string WorkDir)
{
    public IReadOnlyList<Invariant> Invariants
    {
        get
        {
            var v = Verification;
            var list = new List<Invariant>
            {
                new("no task lost (every task has a terminal event)", v.Lost.Count == 0, Names(v.Lost)),
                new("no task with more than one terminal event", v.MoreThanOneTerminal.Count == 0, Names(v.MoreThanOneTerminal)),
                new("no attempt admitted twice", v.AdmittedTwice.Count + v.AdmittedWhileHeld.Count == 0, Names([.. v.AdmittedTwice, .. v.AdmittedWhileHeld])),
                new("no semaphore over its cap", v.OverCap.Count == 0, Names(v.OverCap)),
                new("no environment leased to a finished attempt", v.Environments.LeasedToFinished.Count == 0, Names(v.Environments.LeasedToFinished.Select(Describe).ToList())),
                new("no live environment after the drain", v.Environments.Live.Count == 0, Names(v.Environments.Live.Select(Describe).ToList())),
            };
            if (ContainersLeft is { } c) list.Add(new("no container left (Docker)", c == 0, $"{c} container(s) labelled {DockerEngine.ClusterLabel} of this run"));
            if (Options.MaxActorErrorLines is { } maxActor)
            {
                var worst = WorstActor;
                list.Add(new($"no actor logs more than {maxActor} error lines", worst.Lines <= maxActor, worst.Source is null ? "" : $"{worst.Lines}: {worst.Source}"));
            }
            if (Options.MaxLogBytes is { } maxLog)
                list.Add(new($"node logs under {maxLog >> 20} MiB", LogBytes <= maxLog, $"{Mib(LogBytes)}"));
            var schedulerKills = Kills.Count(k => k.Scheduler);
            list.Add(new("the fault schedule ran in full while tasks were running",
                Kills.Count == Options.Kills && schedulerKills >= Options.SchedulerKills && Kills.All(k => k.UnfinishedTasks > 0)
                && (Options.PostgresOutage == TimeSpan.Zero || Outage is { UnfinishedTasks: > 0 }),
                $"{Kills.Count}/{Options.Kills} kills ({schedulerKills}/{Options.SchedulerKills} on the scheduler's node), {Kills.Count(k => k.UnfinishedTasks > 0)} with tasks unfinished" +
                (Options.PostgresOutage > TimeSpan.Zero ? $"; outage {(Outage is null ? "not done" : $"with {Outage.UnfinishedTasks} tasks unfinished")}" : "") +
                (Notes.Count > 0 ? "; " + string.Join("; ", Notes) : "")));
            return list;
        }
    }

    public bool Passed => Invariants.All(i => i.Held);
    public long LogBytes => Nodes.Sum(n => n.LogBytes);
    public long ErrorLines => Nodes.Sum(n => n.ErrorLines);
    public (string? Source, int Lines) WorstActor => Nodes.Select(n => n.WorstActor).OrderByDescending(s => s.Lines).FirstOrDefault();

    internal static string Describe(LiveEnvironment e) =>
        $"{e.EnvironmentId} {e.Status.ToString().ToLowerInvariant()}{(e.LeasedTo is null ? "" : $" to {e.LeasedTo}#{e.LeasedAttempt}{(e.AttemptEnded ? " (ended)" : "")}")}";

    private static string Names(IReadOnlyList<string> items) =>
        items.Count == 0 ? "" : $"{items.Count}: {string.Join(", ", items.Take(5))}{(items.Count > 5 ? ", …" : "")}";

    internal static string Mib(long bytes) => $"{bytes / 1048576.0:F1} MiB";
}

/// <summary>The chaos run, and the fault-free run beside it when asked for.</summary>
public sealed record ChaosResult(ChaosOptions Options, RunResult Chaos, RunResult? Baseline)
{
    public bool Passed => Chaos.Passed;

    /// <summary>The summary table (valid Markdown).</summary>
    public string Table()
    {
        var headers = Baseline is null ? new[] { "metric", "chaos" } : ["metric", "chaos", "baseline (no faults)"];
        var rows = new List<string[]>();
        void Row(string metric, Func<RunResult, string> value) =>
            rows.Add(Baseline is null ? [metric, value(Chaos)] : [metric, value(Chaos), value(Baseline)]);

        Row("nodes / tasks / provider", r => $"{r.Options.Nodes} / {r.Submitted} / {r.Options.Provider}");
        Row("tasks lost (no terminal event)", r => N(r.Verification.Lost.Count));
        Row("tasks with more than one terminal event", r => N(r.Verification.MoreThanOneTerminal.Count));
        Row("attempts admitted twice", r => N(r.Verification.AdmittedTwice.Count + r.Verification.AdmittedWhileHeld.Count));
        Row("semaphore cap violations", r => N(r.Verification.OverCap.Count));
        Row("completed / failed / timed out (in setup) / cancelled", r =>
        {
            var o = r.Verification.Outcomes;
            return $"{o.Completed} / {o.Failed} / {o.TimedOut} ({o.TimedOutInSetup}) / {o.Cancelled}";
        });
        Row("infra retries (attempts failed as infrastructure)", r => N(r.Verification.InfrastructureFailures));
        Row("retry delay p50 / max (attempt failed → requeued)", r => Spread(r.Verification.RetryDelays));
        Row("environments created / destroyed / lost", r => $"{r.Verification.Environments.Total} / {r.Verification.Environments.Destroyed} / {r.Verification.Environments.Lost}");
        Row("environments live after drain", r => LiveByStatus(r.Verification.Environments.Live));
        Row("environments leased to finished attempts", r => N(r.Verification.Environments.LeasedToFinished.Count));
        Row("containers left (Docker) / env folders left", r => $"{(r.ContainersLeft is { } c ? N(c) : "n/a")} / {N(r.FoldersLeft)}");
        Row("wall time (submit → last terminal)", r => r.Wall is { } w ? $"{w.TotalSeconds:F1} s" : "unfinished at deadline");
        Row("kills (on the scheduler's node)", r => $"{r.Kills.Count} ({r.Kills.Count(k => k.Scheduler)})");
        Row("PostgreSQL outage", r => r.Outage is { } o ? $"{(o.StartedAt - o.StoppedAt).TotalSeconds:F0} s" : "none");
        Row("restarts per node", r => string.Join(", ", r.Nodes.Select(n => $"{n.Name} {n.Restarts}")));
        Row("node exits the harness did not cause", r => N(r.Nodes.Sum(n => n.UnexpectedExits.Count)));
        Row("error lines in node logs", r => N(r.ErrorLines));
        Row("node log size", r => RunResult.Mib(r.LogBytes));
        Row("most error lines from one actor", r => N(r.WorstActor.Lines));
        Row("scheduler hand-over gap p50 / max", r => Gaps(r.Gaps));
        Row("peak running / starting leases", r => $"{r.Verification.Peaks.Running} / {r.Verification.Peaks.Starting}");
        Row("invariants", r => r.Passed ? "all held" : $"{r.Invariants.Count(i => !i.Held)} failed");

        var widths = headers.Select((h, i) => rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        var sb = new StringBuilder();
        void Line(IReadOnlyList<string> cells) => sb.Append("| ").AppendJoin(" | ", cells.Select((c, i) => c.PadRight(widths[i]))).AppendLine(" |");
        Line(headers);
        sb.Append('|').AppendJoin('|', widths.Select(w => new string('-', w + 2))).AppendLine("|");
        foreach (var r in rows) Line(r);
        return sb.ToString();
    }

    /// <summary>The table, then every invariant, the kill timeline, the nodes and the findings in full (Markdown).</summary>
    public string Markdown()
    {
        var sb = new StringBuilder();
        var c = Chaos;
        sb.AppendLine($"# Chaos run {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm}Z").AppendLine();
        sb.AppendLine($"{Environment.ProcessorCount} cores, load average {LoadAverage()}; seed {Options.Seed}; " +
                      $"{Options.Nodes} nodes (scheduler,worker), {Options.Tasks} tasks, {Options.Kills} kills ({Options.SchedulerKills} of the scheduler's node), " +
                      $"restart after {Options.RestartMin.TotalSeconds:0}-{Options.RestartMax.TotalSeconds:0} s, provider {Options.Provider}" +
                      (Options.PostgresOutage > TimeSpan.Zero ? $", PostgreSQL outage {Options.PostgresOutage.TotalSeconds:0} s" : "") + ".").AppendLine();
        sb.Append(Table()).AppendLine();
        sb.AppendLine("## Invariants").AppendLine();
        foreach (var i in c.Invariants) sb.AppendLine($"- {(i.Held ? "✓" : "✗")} {i.Name}{(i.Detail.Length > 0 ? $" — {i.Detail}" : "")}");
        sb.AppendLine().AppendLine("## Faults").AppendLine();
        sb.AppendLine("| round | node | killed at | scheduler | restarted after | tasks unfinished | whole again after restart |");
        sb.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var k in c.Kills)
            sb.AppendLine($"| {k.Round} | {k.Node} | {k.At:HH:mm:ss.f} | {(k.Scheduler ? "yes" : "")} | {k.RestartAfter.TotalSeconds:F1} s | {k.UnfinishedTasks} | {(k.WholeAfter is { } w ? $"{w.TotalSeconds:F1} s" : "not within 2 min")} |");
        if (c.Outage is { } o) sb.AppendLine().AppendLine($"PostgreSQL stopped {o.StoppedAt:HH:mm:ss.f}, started {o.StartedAt:HH:mm:ss.f} ({o.UnfinishedTasks} tasks unfinished at the stop).");
        if (c.Gaps.Count > 0)
        {
            sb.AppendLine().AppendLine("Scheduler hand-overs (last admission before the kill → first after):").AppendLine();
            foreach (var g in c.Gaps)
                sb.AppendLine($"- killed {g.KilledAt:HH:mm:ss.f} with {g.QueuedAtKill} queued: " +
                              (g.Gap is { } gap ? $"{gap.TotalSeconds:F1} s (last admission {g.LastAdmissionBefore:HH:mm:ss.f}, next scheduler's first {g.FirstAdmissionAfter:HH:mm:ss.f})" : g.Note));
        }
        if (c.Verification.InfrastructureReasons.Count > 0)
        {
            sb.AppendLine().AppendLine("Attempts failed as infrastructure, by reason:").AppendLine();
            foreach (var r in c.Verification.InfrastructureReasons) sb.AppendLine($"- {r.Count}× {r.Reason}");
        }
        sb.AppendLine().AppendLine("## Nodes").AppendLine();
        sb.AppendLine("| node | address | restarts | exits not caused by the harness | log lines | log size | error lines | most error lines from |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var n in c.Nodes)
            sb.AppendLine($"| {n.Name} | {n.Address} | {n.Restarts} | {(n.UnexpectedExits.Count == 0 ? "0" : string.Join(", ", n.UnexpectedExits.Select(x => $"exit {x}")))} | {N(n.LogLines)} | {RunResult.Mib(n.LogBytes)}{(n.LogTruncated ? " (file capped)" : "")} | {N(n.ErrorLines)} | " +
                          $"{string.Join("<br>", n.TopErrorSources.Select(s => $"{s.Lines}× `{s.Source}`"))} |");
        sb.AppendLine().AppendLine("## Findings").AppendLine();
        var v = c.Verification;
        List("Lost tasks", v.Lost);
        List("Tasks with more than one terminal event", v.MoreThanOneTerminal);
        List("Attempts admitted twice", [.. v.AdmittedTwice, .. v.AdmittedWhileHeld]);
        List("Semaphore cap violations", v.OverCap);
        List("Live environments after the drain", v.Environments.Live.Select(RunResult.Describe).ToList());
        List("Notes", c.Notes);
        sb.AppendLine($"Drain: {c.Drain.IdleDestroyed} idle warm environments destroyed; {c.Drain.LiveAfter} live after {c.Drain.Took.TotalSeconds:F1} s{(c.Drain.Problem is null ? "" : $" ({c.Drain.Problem})")}.");
        sb.AppendLine().AppendLine($"Run folder: `{c.WorkDir}` (kept only with --keep or when an invariant failed).");
        return sb.ToString();

        void List(string title, IReadOnlyList<string> items)
        {
            if (items.Count == 0) return;
            sb.AppendLine($"{title} ({items.Count}):").AppendLine();
            foreach (var i in items.Take(30)) sb.AppendLine($"- {i}");
            if (items.Count > 30) sb.AppendLine($"- … {items.Count - 30} more");
            sb.AppendLine();
        }
    }

    private static string LiveByStatus(IReadOnlyList<LiveEnvironment> live) =>
        live.Count == 0 ? "0" : $"{live.Count} ({string.Join(", ", live.GroupBy(l => l.Status).OrderBy(g => g.Key).Select(g => $"{g.Key.ToString().ToLowerInvariant()} {g.Count()}"))})";

    private static string Gaps(IReadOnlyList<HandOverGap> gaps)
    {
        var measured = gaps.Where(g => g.Gap is not null).Select(g => g.Gap!.Value.TotalSeconds).Order().ToList();
        if (gaps.Count == 0) return "n/a (no scheduler kill)";
        var text = measured.Count == 0 ? "none measured" : $"{measured[(measured.Count - 1) / 2]:F1} s / {measured[^1]:F1} s (n={measured.Count})";
        var unmeasured = gaps.Where(g => g.Gap is null).GroupBy(g => g.Note).Select(g => $"{g.Count()} {g.Key}");
        return string.Join("; ", unmeasured.Prepend(text));
    }

    private static string Spread(IReadOnlyList<TimeSpan> sorted) =>
        sorted.Count == 0 ? "n/a" : $"{sorted[(sorted.Count - 1) / 2].TotalSeconds:F1} s / {sorted[^1].TotalSeconds:F1} s (n={sorted.Count})";

    private static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static string LoadAverage()
    {
        try
        {
            return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
    }
}
