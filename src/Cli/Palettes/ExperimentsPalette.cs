using System.CommandLine;
using System.Globalization;
using MegaFlow.Cli.CommandLine;
using MegaFlow.Contracts.Management;
using MegaFlow.Contracts.Training;
using Spectre.Console;
using static MegaFlow.Cli.Palettes.Render;

namespace MegaFlow.Cli.Palettes;

/// <summary>`experiments list | show | start | pause | resume`: RL experiments on the trainer singleton.</summary>
internal static class ExperimentsPalette
{
    public static Command Command(CliHost host)
    {
        var showId = new Argument<string>("ID") { Description = "the experiment's id" };
        var pauseId = new Argument<string>("ID") { Description = "the experiment's id" };
        var resumeId = new Argument<string>("ID") { Description = "the experiment's id" };
        var spec = new Option<string>("--spec") { HelpName = "FILE", Description = "the experiment spec (JSON, camelCase fields of ExperimentSpec)", Required = true };
        return new Command("experiments", "RL experiments on the trainer: steps, rewards, evaluations")
        {
            host.Api(new Command("list", "every experiment: status, steps done, weights, latest reward and held-out pass@1"), (c, _) => List(c)),
            host.Api(new Command("show", "one experiment: a row per trainer step and per evaluation") { showId }, (c, p) => Show(c, p.GetRequiredValue(showId))),
            host.Api(new Command("start", "start an experiment from a spec file (checked here first: errors name the fields)") { spec },
                (c, p) => Start(c, p.GetRequiredValue(spec))),
            host.Api(new Command("pause", "stop the trainer taking trajectories (workers keep them in their journal)") { pauseId },
                (c, p) => Pause(c, p.GetRequiredValue(pauseId), true)),
            host.Api(new Command("resume", "let the trainer take trajectories again") { resumeId }, (c, p) => Pause(c, p.GetRequiredValue(resumeId), false)),
        };
    }

    private static async Task<int> List(CliContext c)
    {
        var (list, json) = await c.Client.GetAsync<List<ExperimentReport>>("api/training/experiments");
        if (c.Json)
        {
            c.PrintJson(json);
            return ExitCodes.Ok;
        }
        var t = Table("experiment", "status", "dataset", "steps", "weights", "reward (last step)", "held-out pass@1", "intake");
        foreach (var x in list)
        {
            var last = x.Steps.Count > 0 ? x.Steps[^1] : null;
            var eval = x.Evaluations.Count > 0 ? x.Evaluations[^1] : null;
            t.AddRow(E(x.Id), E(x.Status), E(x.Spec.Dataset), $"{x.Steps.Count} / {x.Spec.Steps}", $"v{x.Version}",
                last is null ? "" : last.MeanReward.ToString("F3", CultureInfo.InvariantCulture),
                eval is null ? "" : $"{eval.Pass1.ToString("F3", CultureInfo.InvariantCulture)} (after step {eval.AfterStep})",
                x.IntakePaused ? "paused" : "");
        }
        c.Console.Write(t);
        c.Console.WriteLine(list.Count == 0 ? "no experiments yet" : $"{list.Count} experiment(s)");
        return ExitCodes.Ok;
    }

    private static async Task<int> Show(CliContext c, string id)
    {
        var (report, json) = await c.Client.GetAsync<ExperimentReport>($"api/training/experiments/{Uri.EscapeDataString(id)}");
        if (c.Json)
        {
            c.PrintJson(json);
            return ExitCodes.Ok;
        }
        c.Console.WriteLine($"{report.Id}: {report.Status}, {report.Steps.Count} of {report.Spec.Steps} steps on {report.Spec.Dataset}, " +
                            $"weights v{report.StartVersion} → v{report.Version}, {report.PendingTrajectories} trajectories pending" +
                            (report.IntakePaused ? ", intake paused" : ""));
        ExperimentTables.Write(c.Console, report);
        return report.Status == ExperimentStatuses.Failed ? ExitCodes.Failed : ExitCodes.Ok;
    }

    private static async Task<int> Start(CliContext c, string file)
    {
        // Checked before anything is sent, by the same reader and validator the node uses.
        var read = ExperimentSpecJson.Read(file);
        if (!read.Ok)
            throw new UsageException($"experiments start: {file}: {string.Join("; ", read.Errors)}");
        var (answer, json) = await c.Client.PostAsync<ExperimentStartAnswer>("api/training/experiments", read.Spec);
        if (c.Json) c.PrintJson(json);
        else c.Console.WriteLine($"{answer.Message} (megaflow experiments show {answer.Id})");
        return ExitCodes.Ok;
    }

    private static async Task<int> Pause(CliContext c, string id, bool paused)
    {
        var (report, json) = await c.Client.PostAsync<ExperimentReport>($"api/training/experiments/{Uri.EscapeDataString(id)}/{(paused ? "pause" : "resume")}", null);
        if (c.Json) c.PrintJson(json);
        else c.Console.WriteLine($"experiment '{report.Id}': intake {(report.IntakePaused ? "paused" : "running")}, {report.PendingTrajectories} trajectories pending");
        return ExitCodes.Ok;
    }
}
