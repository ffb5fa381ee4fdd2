using Akka.Actor;
using MegaFlow.Hosting;
using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Environments;
using MegaFlow.Verification;
using static MegaFlow.Contracts.Environments.EnvironmentProtocol;
using static MegaFlow.Contracts.Scheduling.SchedulerProtocol;

namespace MegaFlow.Chaos;

/// <summary>
/// The end of a job, as the demo ends one (WarmPools.DrainAsync): warm pools are emptied and their
/// idle environments destroyed; then the harness waits a bounded time for every environment entity
/// to be Destroyed or Lost. Idle warm environments are meant to outlive their tasks, so without this
/// step every persistent pool would count as a leak; environments still leased, provisioning or
/// resetting are not touched — they are what the verifier reports.
/// </summary>
/// <remarks>
/// The management API has no route for draining pools, so the harness joins the cluster for this step
/// as a member with the <c>client</c> role (no shards, like a host program using MegaFlow.Client)
/// and talks to the scheduler's singleton proxy and the environment region's proxy.
/// </remarks>
public static class PoolDrain
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    public static async Task<DrainOutcome> RunAsync(IReadOnlyList<string> seeds, JournalReader journal, TimeSpan timeout, Action<string> log)
    {
        var started = DateTimeOffset.UtcNow;
        var deadline = started + timeout;
        var destroyed = new HashSet<string>(StringComparer.Ordinal);
        string? problem = null;
        var settings = new NodeSettings
        {
            Port = 0,
            Seeds = seeds,
            Roles = ["client"],
            ExtraHocon = "akka.loglevel = ERROR\nakka.coordinated-shutdown.run-by-clr-shutdown-hook = off",
        };
        var member = await RunningNode.StartAsync(settings);
        var system = member.System;
        try
        {
            var refs = member.Refs;
            var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Akka.Cluster.Cluster.Get(system).RegisterOnMemberUp(() => up.TrySetResult());
            await up.Task.WaitAsync(TimeSpan.FromSeconds(60));
            while (true)
            {
                IReadOnlyList<string> drained = [];
                try
                {
                    drained = (await refs.Scheduler.Ask<PoolsDrained>(DrainPools.Instance, AskTimeout)).EnvironmentIds;
                }
                catch (AskTimeoutException)
                {
                    problem = "the scheduler did not answer DrainPools within 10 s";
                }
                var states = JournalVerifier.EnvironmentStates(await journal.ReadAllAsync(JournalReader.EnvironmentPrefix)).Values.ToList();
                var idle = states.Where(s => s.Status == EnvironmentStatus.Ready).Select(s => s.EnvironmentId).Concat(drained)
                    .Where(id => !destroyed.Contains(id)).Distinct().ToList();
                if (idle.Count > 0) log($"drain: destroying {idle.Count} idle warm environment(s)");
                await Task.WhenAll(idle.Select(async id =>
                {
                    try
                    {
                        await refs.Environments.Ask<DestroyDone>(new Destroy(id, "chaos harness: pools drained after the run"), AskTimeout);
                        lock (destroyed) destroyed.Add(id);
                    }
                    catch (AskTimeoutException)
                    {
                        // Retried on the next pass; still alive at the deadline, it is reported.
                    }
                }));
                var live = await journal.CountLiveEnvironmentsAsync();
                if (live == 0 || DateTimeOffset.UtcNow >= deadline)
                    return new DrainOutcome(destroyed.Count, live, DateTimeOffset.UtcNow - started, problem);
                await Task.Delay(TimeSpan.FromSeconds(2));
            }
        }
        catch (TimeoutException)
        {
            return new DrainOutcome(destroyed.Count, await journal.CountLiveEnvironmentsAsync(), DateTimeOffset.UtcNow - started,
                "the harness's client member did not join the cluster within 60 s; pools were not drained");
        }
        finally
        {
            // Leave, so the nodes do not wait out the failure detector for a member that is simply gone.
            var leave = CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClusterLeavingReason.Instance);
            if (await Task.WhenAny(leave, Task.Delay(TimeSpan.FromSeconds(20))) != leave) await system.Terminate();
            await member.DisposeAsync();
        }
    }
}

/// <param name="LiveAfter">Environment entities neither Destroyed nor Lost when the drain ended.</param>
public sealed record DrainOutcome(int IdleDestroyed, int LiveAfter, TimeSpan Took, string? Problem);
