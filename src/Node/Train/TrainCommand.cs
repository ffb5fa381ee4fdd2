using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Hosting;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Contracts.Training;
using MegaFlow.Hosting;
using MegaFlow.Management;
using MegaFlow.Hosting.Persistence;
using MegaFlow.ModelService.Hosting;
using MegaFlow.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Spectre.Console;
using static MegaFlow.Contracts.Training.TrainerProtocol;

namespace MegaFlow.Node.Train;

/// <summary>
/// `megaflow train`: the main job. One embedded node with every role (scheduler, worker, model,
/// trainer), SQLite and local-process environments in ./data, running an experiment on the built-in
/// suite end to end: rollouts through the model service and the gateway, trajectories streamed to the
/// trainer, GSPO steps, weight versions served to the next rollouts. A live progress line while it
/// runs; at the end a table per step and the reward curve (SVG) beside the results. Interrupted and
/// started again it resumes from the trainer's journal.
/// </summary>
public static class TrainCommand
{
    /// <summary>The main job's experiment: sized to finish in a few minutes on 2 cores.</summary>
    public static ExperimentSpec Default { get; } = new()
    {
        Id = "main",
        Dataset = BuiltInSuites.Touch,
        TasksPerStep = 6,
        Replicas = 8,
        Steps = 8,
        // Large minibatches: a step's time is the GRU's sequential passes over the prompts, nearly
        // independent of how many sequences share a pass.
        MinibatchSize = 64,
        Epochs = 2,
        LearningRate = 2e-3,
        MaxRounds = 3,
        Staleness = 0,
        EvalTasks = 8,
        EvalReplicas = 4,
        EvalEvery = 4,
    };

    /// <summary>Reads a spec file (validated later, after --steps); a malformed one throws <see cref="ArgumentException"/> naming the field.</summary>
    public static ExperimentSpec Read(string path)
    {
        var bound = ExperimentSpecJson.BindFile(path);
        return bound.Spec ?? throw new ArgumentException($"{path}: {string.Join("; ", bound.Errors)}");
    }

    /// <param name="management">The management API and dashboard while it trains (null: none, MEGAFLOW_MANAGEMENT=off).</param>
    public static async Task<int> RunAsync(NodeSettings settings, ExperimentSpec spec, bool fresh, ManagementSettings? management, TextWriter error)
    {
        // Checked before anything starts: a bad spec leaves no data folder, journal or task behind.
        var errors = ExperimentSpecValidator.Validate(spec);
        if (errors.Count > 0)
        {
            foreach (var e in errors) error.WriteLine($"megaflow train: {e.Field}: {e.Message}");
            return 2;
        }
        if (fresh && Directory.Exists(settings.DataDir))
            Directory.Delete(settings.DataDir, recursive: true);
        var port = FreePort();
        settings = settings with
        {
            Roles = ["scheduler", "worker", "model", "trainer"],
            // The node's model service on a free port; model agents (through the gateway) and the trainer's weight hand-over use it.
            ExtraHocon = (settings.ExtraHocon ?? "") + $"\nmegaflow.agents.model-endpoint = \"http://127.0.0.1:{port}/v1\"\n",
        };
        AnsiConsole.MarkupLine($"[bold]MegaFlow train[/]: experiment [blue]{spec.Id}[/] on {spec.Dataset}: {spec.Steps} steps of {spec.TasksPerStep} problems × {spec.Replicas} replicas, " +
                               $"staleness {spec.Staleness}, data in [blue]{Markup.Escape(Path.GetFullPath(settings.DataDir))}[/]");
        // The node's own log stays quiet under the progress line; MEGAFLOW_TRAIN_LOG=info shows it (the trainer's step lines among it).
        using var host = NodeHost.Build(settings, Environment.GetEnvironmentVariable("MEGAFLOW_TRAIN_LOG") == "info" ? Microsoft.Extensions.Logging.LogLevel.Information : Microsoft.Extensions.Logging.LogLevel.Error,
            management: management, model: new ModelServiceSettings { Port = port, Name = "megaflow-policy" });
        try
        {
            await host.StartAsync();
        }
        catch (IOException e) when (management is not null && e.Message.Contains("bind", StringComparison.OrdinalIgnoreCase))
        {
            error.WriteLine($"megaflow train: dashboard: {e.Message} (set MEGAFLOW_MANAGEMENT_PORT, or MEGAFLOW_MANAGEMENT=off)");
            return 1;
        }
        // The reward curve live, while it trains: the node's dashboard (read-only without the token).
        if (management is not null)
            AnsiConsole.MarkupLine($"dashboard: [blue]http://{management.Address}:{management.Port}/dashboard/#/training[/]");
        var stopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        var trainer = host.Services.GetRequiredService<ActorRegistry>().Get<ActorKeys.Trainer>();
        try
        {
            switch (await trainer.Ask<object>(new StartExperiment(spec), TimeSpan.FromMinutes(2), stopping))
            {
                case ExperimentRejected r:
                    foreach (var e in r.Errors) error.WriteLine($"megaflow train: {e.Field}: {e.Message}");
                    return 2;
                case ExperimentAccepted { AlreadyKnown: true }:
                    AnsiConsole.MarkupLine("resumed from the trainer's journal");
                    break;
            }
            var report = await FollowAsync(trainer, spec.Id!, stopping);
            AnsiConsole.WriteLine();
            TrainReport.Print(report);
            var svg = TrainReport.Save(report, Path.Combine(settings.DataDir, "experiments", report.Id));
            var last = report.Steps.TakeLast(2).Select(s => s.MeanReward).DefaultIfEmpty(0).Average();
            AnsiConsole.MarkupLine($"first step's reward [bold]{report.Steps.FirstOrDefault()?.MeanReward ?? 0:F3}[/] (uniform random policy: 0.4375), " +
                                   $"last two steps' [bold]{last:F3}[/] (optimum 1.0); reward curve: [blue]{Markup.Escape(Path.GetFullPath(svg))}[/]");
            return report.Status == ExperimentStatuses.Completed ? 0 : 1;
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            AnsiConsole.MarkupLine("[yellow]interrupted[/]: the trainer's journal and the tasks are safe; run the same command again to resume.");
            return 130;
        }
        finally
        {
            await host.StopAsync(TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>A progress line while the experiment runs (on change, or every 10 s); its final report.</summary>
    private static async Task<ExperimentReport> FollowAsync(IActorRef trainer, string id, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var lastLine = "";
        var lastPrinted = TimeSpan.Zero;
        while (true)
        {
            var report = await trainer.Ask<ExperimentReport>(new GetExperiment(id), TimeSpan.FromSeconds(30), ct);
            var step = report.Steps.LastOrDefault();
            var eval = report.Evaluations.LastOrDefault();
            var line = $"step {report.Steps.Count}/{report.Spec.Steps} · weights v{report.Version} · " +
                       $"reward {(step is null ? "-" : step.MeanReward.ToString("F3"))} · waiting trajectories {report.PendingTrajectories}" +
                       (eval is null ? "" : $" · held-out pass@1 {eval.Pass1:F3} (after step {eval.AfterStep})");
            if (line != lastLine || clock.Elapsed - lastPrinted > TimeSpan.FromSeconds(10))
            {
                Console.WriteLine($"[{clock.Elapsed:mm\\:ss}] {line}");
                lastLine = line;
                lastPrinted = clock.Elapsed;
            }
            if (report.Status != ExperimentStatuses.Running) return report;
            await Task.Delay(TimeSpan.FromSeconds(1), ct);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
