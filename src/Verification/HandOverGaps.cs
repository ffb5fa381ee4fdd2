namespace MegaFlow.Verification;

/// <summary>
/// How long admissions stopped around the kill of the scheduler's node: from the last admission
/// before the kill to the first one after, by the scheduler's own journal timestamps. A kill with
/// nothing queued at that moment measures nothing (no admission was due), so it has no gap.
/// </summary>
public static class HandOverGaps
{
    public static IReadOnlyList<HandOverGap> Measure(RunVerification run, IEnumerable<DateTimeOffset> schedulerKills)
    {
        var admissions = run.SchedulerAdmissions.OrderBy(a => a.At).ToList();
        var gaps = new List<HandOverGap>();
        foreach (var kill in schedulerKills.Order())
        {
            var queued = run.QueueTimeline.LastOrDefault(q => q.At <= kill)?.QueueDepth ?? 0;
            var before = admissions.LastOrDefault(a => a.At <= kill);
            var after = admissions.FirstOrDefault(a => a.At > kill);
            var gap = queued > 0 && before is not null && after is not null ? after.At - before.At : (TimeSpan?)null;
            gaps.Add(new HandOverGap(kill, queued, before?.At, after?.At, gap));
        }
        return gaps;
    }
}

/// <param name="QueuedAtKill">Attempts waiting in the scheduler's queue when its node was killed.</param>
/// <param name="Gap">Last admission before the kill → first after; null when nothing was queued or no admission followed.</param>
public sealed record HandOverGap(DateTimeOffset KilledAt, int QueuedAtKill, DateTimeOffset? LastAdmissionBefore, DateTimeOffset? FirstAdmissionAfter, TimeSpan? Gap);
