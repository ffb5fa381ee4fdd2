using Akka.Actor;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;

namespace MegaFlow.Actors.Scheduling;

/// <summary>For host programs and benchmarks that start a node and must not submit before it can run tasks.</summary>
public static class SchedulerReadiness
{
    /// <summary>
    /// Waits until the scheduler singleton answers and counts at least <paramref name="workers"/> worker
    /// nodes. Before that, submissions queue but nothing is admitted, which would skew any timing.
    /// </summary>
    public static async Task WaitForWorkersAsync(IActorRef scheduler, int workers, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                var s = await scheduler.Ask<SchedulerProtocol.SchedulerStatus>(SchedulerProtocol.GetSchedulerState.Instance, TimeSpan.FromSeconds(2));
                if (s.Nodes.Count >= workers) return;
            }
            catch (AskTimeoutException) when (DateTime.UtcNow < deadline)
            {
                // The singleton is still starting or handing over.
            }
            if (DateTime.UtcNow >= deadline) throw new TimeoutException($"the scheduler did not see {workers} worker node(s) within {timeout.TotalSeconds:F0} s");
            await Task.Delay(200);
        }
    }
}
