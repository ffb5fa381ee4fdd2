using MegaFlow.Domain.Scheduling;
using MegaFlow.Domain.Tasks;

namespace MegaFlow.Cluster.Tests.Infrastructure;

/// <summary>
/// Checks the run's guarantees from the journal's events alone: exactly one terminal state per task,
/// no attempt admitted twice, and no semaphore above its cap at any point of the scheduler's history.
/// </summary>
public static class JournalAudit
{
    public static async Task<AuditResult> RunAsync(JournalReader journal, IReadOnlyCollection<string> taskIds, SchedulerSettings caps)
    {
        var all = await journal.ReadAllAsync();

        var terminalByTask = all.Where(e => e.Event is TaskEvents.Completed or TaskEvents.Failed or TaskEvents.TimedOut or TaskEvents.Cancelled)
            .GroupBy(e => ((TaskEvents.ITaskEvent)e.Event).TaskId)
            .ToDictionary(g => g.Key, g => g.Count());
        foreach (var id in taskIds)
            Assert.True(terminalByTask.GetValueOrDefault(id) == 1, $"task {id} has {terminalByTask.GetValueOrDefault(id)} terminal events in the journal (expected exactly 1)");

        var taskAdmissions = all.Select(e => e.Event).OfType<TaskEvents.Admitted>().ToList();
        var twiceByTask = taskAdmissions.GroupBy(a => (a.TaskId, a.Attempt)).Where(g => g.Count() > 1).ToList();
        Assert.True(twiceByTask.Count == 0, "attempts admitted twice (task journal): " + string.Join(", ", twiceByTask.Select(g => g.Key)));

        var schedulerEvents = all.Where(e => e.PersistenceId == "megaflow-scheduler").OrderBy(e => e.SequenceNr)
            .Select(e => (SchedulerEvents.ISchedulerEvent)e.Event).ToList();
        var state = SchedulerState.Empty;
        var admittedAttempts = new HashSet<(string, int)>();
        var peak = new Peaks();
        foreach (var e in schedulerEvents)
        {
            if (e is SchedulerEvents.Admitted a)
            {
                Assert.True(admittedAttempts.Add((a.Lease.TaskId, a.Lease.Attempt)), $"scheduler admitted {a.Lease.TaskId} attempt {a.Lease.Attempt} twice");
                Assert.False(state.Leases.ContainsKey(a.Lease.TaskId), $"scheduler admitted {a.Lease.TaskId} while it still held a lease");
            }
            state = SchedulerLogic.Apply(state, e);
            var leases = state.Leases.Values.ToList();
            peak.Observe(leases);
            Assert.True(leases.Count <= caps.MaxRunning, $"running {leases.Count} > cap {caps.MaxRunning}");
            Assert.True(leases.Count(l => l.Starting) <= caps.MaxStarting, $"starting {leases.Count(l => l.Starting)} > cap {caps.MaxStarting}");
            foreach (var g in leases.GroupBy(l => l.Node))
                Assert.True(g.Count() <= caps.SlotsPerNode, $"node {g.Key} holds {g.Count()} leases > {caps.SlotsPerNode} slots");
            foreach (var g in leases.GroupBy(l => l.Pool))
                Assert.True(g.Count() <= caps.PoolCap(g.Key), $"pool {g.Key} holds {g.Count()} leases > cap");
        }
        return new AuditResult(taskAdmissions, schedulerEvents.Count, peak);
    }
}

public sealed class Peaks
{
    public int Running { get; private set; }
    public int Starting { get; private set; }

    public void Observe(IReadOnlyList<SchedulerLease> leases)
    {
        Running = Math.Max(Running, leases.Count);
        Starting = Math.Max(Starting, leases.Count(l => l.Starting));
    }
}

public sealed record AuditResult(IReadOnlyList<TaskEvents.Admitted> TaskAdmissions, int SchedulerEvents, Peaks Peaks);
