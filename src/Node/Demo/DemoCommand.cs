using MegaFlow.Protocol;
using Akka.Hosting;
using System.Diagnostics;
using MegaFlow.Protocol.Tasks;
using MegaFlow.Contracts;
using Akka.Actor;
using MegaFlow.Hosting;
using MegaFlow.Actors.Scheduling;
using MegaFlow.Actors.Tasks;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Spectre.Console;
using static MegaFlow.Contracts.Tasks.TaskProtocol;

namespace MegaFlow.Node.Demo;

/// <summary>
/// `megaflow demo`: one node with every role, SQLite and the local-process provider, running the
/// built-in sample set to completion with a progress bar and a summary table. Interrupted and started
/// again, it resubmits the same ids (idempotent), the journal restores the unfinished tasks, and it
/// waits until every task has finished.
/// </summary>
public static class DemoCommand
{
    public static async Task<int> RunAsync(NodeSettings settings, int taskCount, bool fresh)
    {
        if (fresh && Directory.Exists(settings.DataDir))
            Directory.Delete(settings.DataDir, recursive: true);
        var specs = SampleTasks.Create(taskCount, settings.Provider == "docker" ? SampleTasks.DockerImage : null);
        AnsiConsole.MarkupLine($"[bold]MegaFlow demo[/]: {specs.Count} tasks ({specs.Count(s => s.ExecutionMode == ExecutionMode.Ephemeral)} ephemeral, " +
                               $"{specs.Count(s => s.ExecutionMode == ExecutionMode.Persistent)} persistent), data in [blue]{Markup.Escape(Path.GetFullPath(settings.DataDir))}[/]");

        // Only errors from the node: the progress bar and the summary are the output.
        using var host = NodeHost.Build(settings, Microsoft.Extensions.Logging.LogLevel.Error);
        await host.StartAsync();
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        var stopping = lifetime.ApplicationStopping;
        var system = host.Services.GetRequiredService<ActorSystem>();
        var refs = MegaFlowProxies.Refs(host.Services.GetRequiredService<ActorRegistry>());
        var clock = Stopwatch.StartNew();

        try
        {
            var finished = new HashSet<string>();
            var ids = specs.Select(s => s.TaskId!).ToHashSet();
            var resumed = 0;

            await RunWithProgress("submitting", specs.Count, stopping, async report =>
            {
                var done = 0;
                await Parallel.ForEachAsync(specs, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = stopping }, async (spec, ct) =>
                {
                    var reply = await TaskGateway.SubmitAsync(refs.Tasks, spec, TimeSpan.FromSeconds(60), ct);
                    switch (reply)
                    {
                        case SubmitRejected r:
                            throw new InvalidOperationException(r.ToString());
                        case SubmitAccepted { AlreadyKnown: true } a:
                            lock (finished)
                            {
                                resumed++;
                                if (a.Status.IsTerminal()) finished.Add(a.TaskId);
                            }
                            break;
                    }
                    report(Interlocked.Increment(ref done));
                });
            });
            if (resumed > 0)
                AnsiConsole.MarkupLine($"resumed from the journal: {resumed} tasks already known, {finished.Count} of them finished");

            await RunWithProgress("running", specs.Count, stopping, async report =>
            {
                report(finished.Count);
                // The node's task read model: each task's final state once, however late the watch starts.
                await foreach (var item in TaskWatchFeed.WatchAsync(system, ids.Except(finished), localFirst: true, stopping))
                    if (item.Row is { } r && r.Status.IsTerminal() && finished.Add(r.TaskId))
                        report(finished.Count);
            });
            var wall = clock.Elapsed;

            var states = new List<TaskState>();
            foreach (var chunk in specs.Chunk(64))
                states.AddRange(await Task.WhenAll(chunk.Select(s => refs.Tasks.Ask<TaskState>(new GetTaskState(s.TaskId!), TimeSpan.FromSeconds(30)))).WaitAsync(stopping));
            DemoReport.Print(states, wall, resumed);
            // The job is over: its warm pools would otherwise outlive it (folders, or running containers).
            // Cancellable: a Ctrl-C here must not wait out the asks' timeouts while the node shuts down.
            var drained = await WarmPools.DrainAsync(refs.Scheduler, refs.Environments, TimeSpan.FromMinutes(2), stopping);
            AnsiConsole.MarkupLine($"removed {drained.Count} warm environments of the persistent pools");
            return states.All(s => s.Status.IsTerminal()) ? 0 : 1;
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            AnsiConsole.MarkupLine("[yellow]interrupted[/]: unfinished tasks are safe in the journal; run the same command again to resume.");
            return 130;
        }
        finally
        {
            await host.StopAsync(TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>A live bar on a terminal; a line every few seconds when output is redirected (CI, logs).</summary>
    private static async Task RunWithProgress(string label, int total, CancellationToken ct, Func<Action<int>, Task> work)
    {
        if (AnsiConsole.Profile.Capabilities.Interactive)
        {
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async ctx =>
                {
                    var bar = ctx.AddTask(label, maxValue: total);
                    await work(n => bar.Value = n);
                });
            return;
        }
        var last = Stopwatch.StartNew();
        var current = 0;
        var first = true;
        await work(n =>
        {
            current = n;
            // The first report is always printed, so a reader (or a test) sees the phase begin.
            if (!first && last.Elapsed < TimeSpan.FromSeconds(2) && n < total) return;
            first = false;
            last.Restart();
            Console.WriteLine($"{label}: {n}/{total} ({100.0 * n / total:F0}%)");
        });
        if (current < total) Console.WriteLine($"{label}: {current}/{total}");
    }
}
