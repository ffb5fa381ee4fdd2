using System.Globalization;
using System.Text;
using System.Text.Json;
using MegaFlow.Cli.Palettes;
using MegaFlow.Contracts.Training;
using MegaFlow.Domain.Training;
using Spectre.Console;

namespace MegaFlow.Node.Train;

/// <summary>The end of a training run: a table per step, the evaluations, and the reward curve as an SVG beside the results.</summary>
public static class TrainReport
{
    public static void Print(ExperimentReport r)
    {
        // Redirected output (CI, a log file) would be cut to 80 columns, wrapping every number.
        if (!AnsiConsole.Profile.Capabilities.Interactive) AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 150);
        ExperimentTables.Write(AnsiConsole.Console, r);
    }

    private static string Versions(StepReport s) => ExperimentTables.SampledVersions(s);

    /// <summary>Writes results.json, steps.md and reward.svg into <paramref name="folder"/>; returns the SVG's path.</summary>
    public static string Save(ExperimentReport r, string folder)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "results.json"), JsonSerializer.Serialize(r, new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true }));
        var md = new StringBuilder("| step | sampled v | → v | reward | pass@1 | tokens | trained | stale | infra | rollout s | wait s | train s | sync s |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        foreach (var s in r.Steps)
            md.AppendLine(CultureInfo.InvariantCulture, $"| {s.Step} | {Versions(s)} | v{s.Version} | {s.MeanReward:F3} | {s.Pass1:F3} | {s.Tokens} | {s.Trained} | {s.Stale} | {s.InfraExcluded} | {s.RolloutSeconds:F1} | {s.WaitSeconds:F1} | {s.TrainSeconds:F1} | {s.SyncSeconds:F2} |");
        if (r.Evaluations.Count > 0)
        {
            md.Append("\n| evaluation after step | weights | pass@1 | pass@k | k |\n|---|---|---|---|---|\n");
            foreach (var e in r.Evaluations)
                md.AppendLine(CultureInfo.InvariantCulture, $"| {e.AfterStep} | v{e.Version} | {e.Pass1:F3} | {e.PassK:F3} | {e.K} |");
        }
        File.WriteAllText(Path.Combine(folder, "steps.md"), md.ToString());
        var svg = Path.Combine(folder, "reward.svg");
        File.WriteAllText(svg, RewardCurve(r));
        return svg;
    }

    /// <summary>
    /// Mean rollout reward per step (line), held-out pass@1 (dots), the uniform-random policy's expected
    /// reward and the optimum (dashed): a picture of whether the policy learns.
    /// </summary>
    public static string RewardCurve(ExperimentReport r)
    {
        const int width = 640, height = 360, left = 56, right = 20, top = 40, bottom = 48;
        var steps = Math.Max(1, r.Spec.Steps);
        double X(double step) => left + step / steps * (width - left - right);
        double Y(double reward) => top + (1 - Math.Clamp(reward, 0, 1)) * (height - top - bottom);
        string P(double v) => v.ToString("F1", CultureInfo.InvariantCulture);
        var svg = new StringBuilder();
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">""");
        svg.AppendLine("""<rect width="100%" height="100%" fill="white"/>""");
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{left}" y="22" font-size="15" font-weight="bold">{Escape(r.Id)}: mean reward per step ({Escape(r.Spec.Dataset ?? "")})</text>""");
        for (var tick = 0; tick <= 4; tick++)
        {
            var y = Y(tick / 4.0);
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<line x1="{left}" x2="{width - right}" y1="{P(y)}" y2="{P(y)}" stroke="#e5e5e5"/><text x="{left - 8}" y="{P(y + 4)}" text-anchor="end">{tick / 4.0:F2}</text>""");
        }
        var every = Math.Max(1, steps / 10);
        for (var step = 0; step <= steps; step += every)
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{P(X(step))}" y="{height - bottom + 18}" text-anchor="middle">{step}</text>""");
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{(left + width - right) / 2}" y="{height - 10}" text-anchor="middle">trainer step (weights version = start + trained steps)</text>""");
        void Reference(double value, string label, string color)
        {
            var y = Y(value);
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<line x1="{left}" x2="{width - right}" y1="{P(y)}" y2="{P(y)}" stroke="{color}" stroke-dasharray="6 4"/><text x="{width - right - 4}" y="{P(y - 5)}" text-anchor="end" fill="{color}">{label}</text>""");
        }
        Reference(TouchSuite.Optimum, "optimum 1.0", "#2a7d2a");
        Reference(TouchSuite.UniformRandomReward, "uniform random 0.4375", "#999999");
        if (r.Steps.Count > 0)
        {
            var points = string.Join(' ', r.Steps.Select(s => $"{P(X(s.Step + 0.5))},{P(Y(s.MeanReward))}"));
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<polyline points="{points}" fill="none" stroke="#1f5fbf" stroke-width="2.5"/>""");
            foreach (var s in r.Steps)
                svg.AppendLine(CultureInfo.InvariantCulture, $"""<circle cx="{P(X(s.Step + 0.5))}" cy="{P(Y(s.MeanReward))}" r="3" fill="#1f5fbf"><title>step {s.Step}: reward {s.MeanReward:F3}, v{s.Version}</title></circle>""");
        }
        foreach (var e in r.Evaluations)
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<rect x="{P(X(e.AfterStep) - 4)}" y="{P(Y(e.Pass1) - 4)}" width="8" height="8" fill="#d9822b"><title>held-out pass@1 {e.Pass1:F3} after step {e.AfterStep}</title></rect>""");
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<line x1="{left + 8}" x2="{left + 28}" y1="{top + 8}" y2="{top + 8}" stroke="#1f5fbf" stroke-width="2.5"/><text x="{left + 34}" y="{top + 12}">rollout mean reward</text>""");
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<rect x="{left + 170}" y="{top + 4}" width="8" height="8" fill="#d9822b"/><text x="{left + 184}" y="{top + 12}">held-out pass@1</text>""");
        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    private static string Escape(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
