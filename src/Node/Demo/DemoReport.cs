using MegaFlow.Contracts.Tasks;
using MegaFlow.Contracts;
using MegaFlow.Domain.Tasks;
using Spectre.Console;

namespace MegaFlow.Node.Demo;

/// <summary>The demo's summary: outcomes per mode and the latencies that matter to users.</summary>
public static class DemoReport
{
    public static void Print(IReadOnlyList<TaskState> states, TimeSpan wall, int resumed)
    {
        // Metrics as rows and modes as columns: fits an 80-column terminal or CI log.
        var groups = states.GroupBy(s => s.Spec!.ExecutionMode).OrderBy(g => g.Key)
            .Select(g => (Name: g.Key.ToString().ToLowerInvariant(), States: (IReadOnlyList<TaskState>)g.ToList()))
            .Append((Name: "all", States: states))
            .ToList();
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]MegaFlow demo summary[/]");
        table.AddColumn("");
        foreach (var g in groups) table.AddColumn(new TableColumn($"[bold]{g.Name}[/]").RightAligned());

        void Row(string label, Func<IReadOnlyList<TaskState>, string> cell) =>
            table.AddRow([label, .. groups.Select(g => cell(g.States))]);

        Row("tasks", s => s.Count.ToString());
        Row("completed, tests pass", s => s.Count(x => x is { Status: TaskStatus.Completed, Score.Passed: true }).ToString());
        Row("completed, tests fail", s => s.Count(x => x is { Status: TaskStatus.Completed, Score.Passed: false }).ToString());
        Row("failed", s => s.Count(x => x.Status == TaskStatus.Failed).ToString());
        Row("timed out", s => s.Count(x => x.Status == TaskStatus.TimedOut).ToString());
        Row("cancelled", s => s.Count(x => x.Status == TaskStatus.Cancelled).ToString());
        Row("retried (infrastructure)", s => s.Count(x => x.Attempt > 1).ToString());
        Row("time to start p50", s => Ms(Percentile(StartTimes(s), 0.50)));
        Row("time to start p99", s => Ms(Percentile(StartTimes(s), 0.99)));
        Row("total time p50", s => Ms(Percentile(TotalTimes(s), 0.50)));
        Row("total time p99", s => Ms(Percentile(TotalTimes(s), 0.99)));
        AnsiConsole.Write(table);

        var rate = wall.TotalSeconds > 0 ? states.Count(s => s.Status.IsTerminal()) / wall.TotalSeconds : 0;
        AnsiConsole.MarkupLine($"wall time [bold]{wall.TotalSeconds:F1}s[/], throughput [bold]{rate:F1} tasks/s[/]" +
                               (resumed > 0 ? $" (resumed {resumed} known tasks; their times include the interruption)" : ""));
        AnsiConsole.MarkupLine("time to start = submitted -> agent running in a ready environment; total = submitted -> finished.");
    }

    private static List<double> StartTimes(IReadOnlyList<TaskState> states) =>
        states.Where(s => s.RunStartedAt is not null).Select(s => (s.RunStartedAt!.Value - s.SubmittedAt!.Value).TotalMilliseconds).ToList();

    private static List<double> TotalTimes(IReadOnlyList<TaskState> states) =>
        states.Where(s => s.FinishedAt is not null).Select(s => (s.FinishedAt!.Value - s.SubmittedAt!.Value).TotalMilliseconds).ToList();

    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToList();
        var rank = (int)Math.Ceiling(p * sorted.Count) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Count - 1)];
    }

    private static string Ms(double ms) => double.IsNaN(ms) ? "-" : ms < 1000 ? $"{ms:F0} ms" : $"{ms / 1000:F2} s";
}
