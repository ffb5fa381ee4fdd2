namespace MegaFlow.Verification;

/// <summary>
/// How long admissions stopped when the scheduler's node was killed: from the last admission of the
/// scheduler incarnation that died to the first admission of the next one, by the scheduler's own
/// journal timestamps. Incarnations are told apart by the journal's writer id; an admission persisted
/// just after the kill was sent still belongs to the dying incarnation, so "last before the kill →
/// first after" alone would measure that straggler, not the hand-over. A kill with nothing queued at
/// that moment measures nothing (no admission was due), so it has no gap.
/// </summary>
public static class HandOverGaps
{
    /// <summary>An incarnation that still admits this long after the kill was not on the killed node.</summary>
    public static readonly TimeSpan Straggle = TimeSpan.FromSeconds(5);

    public static IReadOnlyList<HandOverGap> Measure(RunVerification run, IEnumerable<DateTimeOffset> schedulerKills)
    {
        var admissions = run.SchedulerAdmissions.OrderBy(a => a.At).ToList();
        var gaps = new List<HandOverGap>();
        foreach (var kill in schedulerKills.Order())
        {
            var queued = run.QueueTimeline.LastOrDefault(q => q.At <= kill)?.QueueDepth ?? 0;
            var before = admissions.LastOrDefault(a => a.At <= kill);
            SchedulerAdmission? last = before, first;
            if (before?.Writer is { } dying)
            {
                last = admissions.Last(a => a.Writer == dying);
                first = admissions.FirstOrDefault(a => a.Writer != dying && a.At >= last.At);
                if (last.At > kill + Straggle)
                {
                    gaps.Add(new HandOverGap(kill, queued, before.At, null, null, "the scheduler kept admitting: the killed node was not hosting it"));
                    continue;
                }
            }
            else first = admissions.FirstOrDefault(a => a.At > kill);
            var gap = queued > 0 && last is not null && first is not null ? first.At - last.At : (TimeSpan?)null;
            var note = queued == 0 ? "nothing queued" : first is null ? "no admission followed" : null;
            gaps.Add(new HandOverGap(kill, queued, last?.At, first?.At, gap, note));
        }
        return gaps;
    }
}

/// <param name="QueuedAtKill">Attempts waiting in the scheduler's queue when its node was killed.</param>
/// <param name="LastAdmissionBefore">The dying incarnation's last admission (it may land just after the kill).</param>
/// <param name="FirstAdmissionAfter">The next incarnation's first admission.</param>
/// <param name="Gap">Their distance; null when nothing was queued, no admission followed, or the scheduler was elsewhere.</param>
public sealed record HandOverGap(DateTimeOffset KilledAt, int QueuedAtKill, DateTimeOffset? LastAdmissionBefore, DateTimeOffset? FirstAdmissionAfter, TimeSpan? Gap, string? Note = null);
