namespace MegaFlow.Chaos;

/// <summary>One kill -9 and its restart.</summary>
/// <param name="Scheduler">The node hosted the scheduler singleton when it was killed.</param>
/// <param name="UnfinishedTasks">Tasks without a terminal event at the kill (the last progress sample).</param>
/// <param name="WholeAfter">From the restart until every node saw all members Up again; null if that did not happen in time.</param>
public sealed record KillRecord(int Round, string Node, DateTimeOffset At, bool Scheduler, TimeSpan RestartAfter, int UnfinishedTasks, TimeSpan? WholeAfter);

/// <summary>The PostgreSQL server's outage: from its stop having completed to its start having completed.</summary>
public sealed record OutageRecord(DateTimeOffset StoppedAt, DateTimeOffset StartedAt, int UnfinishedTasks);

/// <summary>
/// The faults of a run, one at a time so the survivors always keep a majority: rounds of kill -9 of a
/// node (some of them the scheduler's node, the rest another node), each restarted after a random
/// delay and waited for until the cluster is whole; and optionally a PostgreSQL outage halfway
/// through. Stops between rounds once <c>stop</c> is cancelled (every task finished).
/// </summary>
public sealed class FaultSchedule(ChaosCluster cluster, ChaosOptions options, PostgresServer postgres, Func<int> unfinished, Action<string> log)
{
    private readonly Random _random = new(options.Seed);

    public List<KillRecord> Kills { get; } = [];
    public OutageRecord? Outage { get; private set; }
    public List<string> Notes { get; } = [];

    public async Task RunAsync(CancellationToken stop)
    {
        var rounds = options.Kills;
        var schedulerRounds = Enumerable.Range(0, rounds).OrderBy(_ => _random.Next()).Take(options.SchedulerKills).ToHashSet();
        var outageBefore = options.PostgresOutage > TimeSpan.Zero ? rounds / 2 : -1;
        if (!await Pause(options.FirstFaultAfter, stop)) return;
        for (var round = 0; round <= rounds; round++)
        {
            if (round == outageBefore)
            {
                await OutageAsync();
                if (!await Pause(options.Interval, stop)) return;
            }
            if (round == rounds || stop.IsCancellationRequested) return;
            if (!await cluster.WaitWholeAsync(TimeSpan.FromMinutes(2)))
            {
                Notes.Add($"round {round + 1}: the cluster was not whole within 2 min; the schedule stopped (killing another node could take the majority)");
                log(Notes[^1]);
                return;
            }
            var scheduler = await cluster.SchedulerNodeAsync();
            ChaosNode target;
            if (schedulerRounds.Contains(round))
            {
                if (scheduler is null)
                {
                    Notes.Add($"round {round + 1}: no node answered which member hosts the scheduler; killed a random node instead");
                    target = cluster.Nodes[_random.Next(cluster.Nodes.Count)];
                }
                else target = scheduler;
            }
            else
            {
                var others = cluster.Nodes.Where(n => n != scheduler).ToList();
                target = others[_random.Next(others.Count)];
            }
            var restartAfter = options.RestartMin + (options.RestartMax - options.RestartMin) * _random.NextDouble();
            var at = DateTimeOffset.UtcNow;
            var open = unfinished();
            target.Kill();
            log($"round {round + 1}/{rounds}: kill -9 {target.Name}{(target == scheduler ? " (scheduler)" : "")}, {open} tasks unfinished; restart in {restartAfter.TotalSeconds:F1} s");
            await Task.Delay(restartAfter);
            target.Start();
            var restarted = DateTimeOffset.UtcNow;
            var whole = await cluster.WaitWholeAsync(TimeSpan.FromMinutes(2));
            var wholeAfter = whole ? DateTimeOffset.UtcNow - restarted : (TimeSpan?)null;
            Kills.Add(new KillRecord(round + 1, target.Name, at, target == scheduler, restartAfter, open, wholeAfter));
            log(whole ? $"round {round + 1}/{rounds}: cluster whole again {wholeAfter!.Value.TotalSeconds:F1} s after the restart" : $"round {round + 1}/{rounds}: cluster not whole 2 min after the restart");
            if (!await Pause(options.Interval, stop)) return;
        }
    }

    private async Task OutageAsync()
    {
        var open = unfinished();
        log($"PostgreSQL: stopping for {options.PostgresOutage.TotalSeconds:F0} s ({open} tasks unfinished)");
        await postgres.StopAsync();
        var stopped = DateTimeOffset.UtcNow;
        await Task.Delay(options.PostgresOutage);
        await postgres.StartAsync();
        Outage = new OutageRecord(stopped, DateTimeOffset.UtcNow, open);
        log("PostgreSQL: started again");
    }

    private static async Task<bool> Pause(TimeSpan delay, CancellationToken stop)
    {
        try
        {
            await Task.Delay(delay, stop);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
