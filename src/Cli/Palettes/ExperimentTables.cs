using System.Globalization;
using MegaFlow.Contracts.Training;
using Spectre.Console;

namespace MegaFlow.Cli.Palettes;

/// <summary>
/// An experiment as tables: one row per trainer step (versions, reward, counts, timings) and one per
/// held-out evaluation. The one rendering shared by `megaflow train` and `megaflow experiments show`.
/// </summary>
public static class ExperimentTables
{
    public static void Write(IAnsiConsole console, ExperimentReport r)
    {
        var steps = new Table().Border(TableBorder.Rounded).Title($"[bold]experiment {Markup.Escape(r.Id)}: {Markup.Escape(r.Status)}[/]");
        foreach (var column in new[] { "step", "sampled v", "→ v", "reward", "pass@1", "tokens", "trained", "stale", "infra", "rollout s", "wait s", "train s", "sync s" })
            steps.AddColumn(new TableColumn(column).RightAligned());
        foreach (var s in r.Steps)
            steps.AddRow(s.Step.ToString(CultureInfo.InvariantCulture), SampledVersions(s), s.Version.ToString(CultureInfo.InvariantCulture), F(s.MeanReward, "F3"), F(s.Pass1, "F3"),
                s.Tokens.ToString(CultureInfo.InvariantCulture), s.Trained.ToString(CultureInfo.InvariantCulture), s.Stale.ToString(CultureInfo.InvariantCulture),
                s.InfraExcluded.ToString(CultureInfo.InvariantCulture), F(s.RolloutSeconds, "F1"), F(s.WaitSeconds, "F1"), F(s.TrainSeconds, "F1"), F(s.SyncSeconds, "F2"));
        console.Write(steps);
        if (r.Evaluations.Count > 0)
        {
            var evals = new Table().Border(TableBorder.Rounded).Title("[bold]held-out evaluation[/]");
            foreach (var column in new[] { "after step", "weights", "problems", "samples", "pass@1", "pass@k", "k", "infra" })
                evals.AddColumn(new TableColumn(column).RightAligned());
            foreach (var e in r.Evaluations)
                evals.AddRow(e.AfterStep.ToString(CultureInfo.InvariantCulture), $"v{e.Version}", e.Problems.ToString(CultureInfo.InvariantCulture),
                    e.Samples.ToString(CultureInfo.InvariantCulture), F(e.Pass1, "F3"), F(e.PassK, "F3"), e.K.ToString(CultureInfo.InvariantCulture),
                    e.InfraExcluded.ToString(CultureInfo.InvariantCulture));
            console.Write(evals);
        }
        if (r.Error is not null) console.MarkupLine($"[red]error[/]: {Markup.Escape(r.Error)}");
    }

    /// <summary>The weight versions a step's trajectories were sampled with: "v3" or "v2-3".</summary>
    public static string SampledVersions(StepReport s) =>
        s.SampledVersionMin == s.SampledVersionMax ? $"v{s.SampledVersionMin}" : $"v{s.SampledVersionMin}-{s.SampledVersionMax}";

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
