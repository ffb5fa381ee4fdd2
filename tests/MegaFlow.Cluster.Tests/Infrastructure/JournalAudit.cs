using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using MegaFlow.Verification;

namespace MegaFlow.Cluster.Tests.Infrastructure;

/// <summary>
/// Checks the run's guarantees from the journal's events alone (<see cref="JournalVerifier"/>):
/// exactly one terminal state per task, no attempt admitted twice, and no semaphore above its cap
/// at any point of the scheduler's history.
/// </summary>
public static class JournalAudit
{
    public static async Task<AuditResult> RunAsync(JournalReader journal, IReadOnlyCollection<string> taskIds, SchedulerSettings caps)
    {
        var run = JournalVerifier.Verify(await journal.ReadAllAsync(), taskIds, caps);
        Assert.True(run.Lost.Count == 0, "tasks with no terminal event in the journal (expected exactly 1): " + string.Join(", ", run.Lost));
        Assert.True(run.MoreThanOneTerminal.Count == 0, "tasks with more than one terminal event (expected exactly 1): " + string.Join(", ", run.MoreThanOneTerminal));
        Assert.True(run.AdmittedTwice.Count == 0, "attempts admitted twice: " + string.Join(", ", run.AdmittedTwice));
        Assert.True(run.AdmittedWhileHeld.Count == 0, "scheduler admissions while a lease was held: " + string.Join(", ", run.AdmittedWhileHeld));
        Assert.True(run.OverCap.Count == 0, "semaphores over their caps: " + string.Join("; ", run.OverCap.Take(20)));
        return new AuditResult(run.TaskAdmissions, run.SchedulerEvents, run.Peaks);
    }
}

public sealed record AuditResult(IReadOnlyList<TaskEvents.Admitted> TaskAdmissions, int SchedulerEvents, Peaks Peaks);
