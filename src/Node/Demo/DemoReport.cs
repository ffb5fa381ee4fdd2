using MegaFlow.Domain.Tasks;
using Spectre.Console;

namespace MegaFlow.Node.Demo;

/// <summary>The demo's summary: outcomes per mode and the latencies that matter to users.</summary>
public static class DemoReport
{
    public static void Print(IReadOnlyList<TaskState> states, TimeSpan wall, int resumed)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]MegaFlow demo summary[/]");
        foreach (var column in new[] { "mode", "tasks", "passed", "unsolved", "failed", "timed out", "cancelled", "retried", "start p50", "start p99", "total p50", "total p99" })
            table.AddColumn(new TableColumn(column).RightAligned());

        foreach (var group in states.GroupBy(s => s.Spec!.ExecutionMode).OrderBy(g => g.Key))
            AddRow(table, group.Key.ToString().ToLowerInvariant(), group.ToList());
        AddRow(table, "all", states);
        AnsiConsole.Write(table);

        var rate = wall.TotalSeconds > 0 ? states.Count(s => s.Status.IsTerminal()) / wall.TotalSeconds : 0;
        AnsiConsole.MarkupLine($"wall time [bold]{wall.TotalSeconds:F1}s[/], throughput [bold]{rate:F1} tasks/s[/]" +
                               (resumed > 0 ? $" (this run resumed {resumed} known tasks; times include the interruption)" : ""));
        AnsiConsole.MarkupLine("start = submitted → environment ready and agent running; total = submitted → finished.");
    }

    private static void AddRow(Table table, string mode, IReadOnlyList<TaskState> states)
    {
        var start = states.Where(s => s.RunStartedAt is not null).Select(s => (s.RunStartedAt!.Value - s.SubmittedAt!.Value).TotalMilliseconds).ToList();
        var total = states.Where(s => s.FinishedAt is not null).Select(s => (s.FinishedAt!.Value - s.SubmittedAt!.Value).TotalMilliseconds).ToList();
        table.AddRow(
            mode,
            states.Count.ToString(),
            states.Count(s => s is { Status: TaskStatus.Completed, Score.Passed: true }).ToString(),
            states.Count(s => s is { Status: TaskStatus.Completed, Score.Passed: false }).ToString(),
            states.Count(s => s.Status == TaskStatus.Failed).ToString(),
            states.Count(s => s.Status == TaskStatus.TimedOut).ToString(),
            states.Count(s => s.Status == TaskStatus.Cancelled).ToString(),
            states.Count(s => s.Attempt > 1).ToString(),
            Ms(Percentile(start, 0.50)), Ms(Percentile(start, 0.99)),
            Ms(Percentile(total, 0.50)), Ms(Percentile(total, 0.99)));
    }

    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToList();
        var rank = (int)Math.Ceiling(p * sorted.Count) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Count - 1)];
    }

    private static string Ms(double ms) => double.IsNaN(ms) ? "-" : ms < 1000 ? $"{ms:F0} ms" : $"{ms / 1000:F2} s";
}
