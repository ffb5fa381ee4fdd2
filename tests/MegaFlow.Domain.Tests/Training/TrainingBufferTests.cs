using MegaFlow.Contracts.Tasks;
using MegaFlow.Contracts.Training;
using MegaFlow.Domain.Training;

namespace MegaFlow.Domain.Tests.Training;

public sealed class TrainingBufferTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static Trajectory T(string group, int replica, long position, long? version = 5, FailureKind? failure = null, int attempt = 1) =>
        new($"{group}#r{replica}", attempt, group, replica, failure is null ? "completed" : "failed", failure is null ? replica % 2 : null, failure,
            [new TrajectoryTurn(1, version, [1, 2], [3], [-0.5], 200)], position);

    private static TrainingBuffer Buffer(int replicas = 4, int staleness = 1) => new(new TrainingBufferSettings(replicas, TimeSpan.FromSeconds(30), staleness));

    [Fact]
    public void A_group_is_ready_when_all_replicas_are_in_and_infrastructure_failures_are_set_apart()
    {
        var b = Buffer();
        Assert.Equal(Offered.Pending, b.Offer(T("g", 0, 1), 5, T0));
        b.Offer(T("g", 1, 2), 5, T0);
        b.Offer(T("g", 2, 3, failure: FailureKind.Infrastructure), 5, T0);
        Assert.Empty(b.TakeReady(T0));
        b.Offer(T("g", 3, 4), 5, T0);

        var ready = Assert.Single(b.TakeReady(T0));
        Assert.True(ready.Complete);
        Assert.Equal(["g#r0", "g#r1", "g#r3"], ready.Trainable.Select(t => t.TaskId));
        Assert.Equal("g#r2", Assert.Single(ready.InfrastructureFailures).TaskId);
        Assert.Equal(0, b.Pending);
    }

    [Fact]
    public void An_incomplete_group_is_trained_with_those_present_once_its_deadline_passes()
    {
        var b = Buffer();
        b.Offer(T("g", 0, 1), 5, T0);
        b.Offer(T("g", 1, 2), 5, T0.AddSeconds(10));
        Assert.Equal(T0.AddSeconds(30), b.NextDeadline);
        Assert.Empty(b.TakeReady(T0.AddSeconds(29)));
        var ready = Assert.Single(b.TakeReady(T0.AddSeconds(30)));
        Assert.False(ready.Complete);
        Assert.Equal(2, ready.Trainable.Count);
        Assert.Null(b.NextDeadline);
    }

    [Fact]
    public void Re_deliveries_of_pending_or_consumed_trajectories_are_duplicates()
    {
        var b = Buffer();
        b.Offer(T("g", 0, 1), 5, T0);
        Assert.Equal(Offered.Duplicate, b.Offer(T("g", 0, 1), 5, T0));
        b.MarkConsumed(["h#r0/1"], 0);
        Assert.Equal(Offered.Duplicate, b.Offer(T("h", 0, 7), 5, T0));
        // A retried attempt is another trajectory.
        Assert.Equal(Offered.Pending, b.Offer(T("h", 0, 8, attempt: 2), 5, T0));
    }

    [Theory]
    [InlineData(0, 5L, 5L, Offered.Pending)]
    [InlineData(0, 4L, 5L, Offered.Stale)]
    [InlineData(2, 3L, 5L, Offered.Pending)]
    [InlineData(2, 2L, 5L, Offered.Stale)]
    [InlineData(2, null, 5L, Offered.Stale)]
    public void A_trajectory_sampled_with_a_version_older_than_current_minus_S_is_stale_and_consumed(int staleness, long? sampled, long current, Offered expected)
    {
        var b = Buffer(staleness: staleness);
        var t = T("g", 0, 1, version: sampled);
        Assert.Equal(expected, b.Offer(t, current, T0));
        Assert.Equal(expected == Offered.Stale, b.Consumed.Contains(t.Id));
    }

    [Fact]
    public void The_watermark_stays_below_the_lowest_pending_trajectory()
    {
        var b = Buffer(replicas: 2);
        b.Offer(T("a", 0, 10), 5, T0);
        b.Offer(T("b", 0, 11), 5, T0);
        b.Offer(T("b", 1, 12), 5, T0);
        Assert.Equal(9, b.Watermark);
        var ready = Assert.Single(b.TakeReady(T0));
        b.MarkConsumed(ready.Trainable.Select(t => t.Id), b.Watermark);
        Assert.Equal(9, b.Watermark); // a#r0 still pending
        b.Offer(T("a", 1, 13), 5, T0);
        b.MarkConsumed(Assert.Single(b.TakeReady(T0)).Trainable.Select(t => t.Id), b.Watermark);
        Assert.Equal(13, b.Watermark);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(42)]
    public void Through_restarts_and_re_deliveries_every_trajectory_is_taken_exactly_once(int seed)
    {
        // 30 groups of 4 in journal order, a few replicas lost to infrastructure. The trainer restarts
        // at random points, keeping only what it persisted (consumed ids and the watermark), and the
        // journal re-delivers from the watermark.
        var random = new Random(seed);
        var journal = Enumerable.Range(0, 120)
            .Select(i => T($"g{i / 4:D2}", i % 4, i + 1, failure: random.Next(10) == 0 ? FailureKind.Infrastructure : null))
            .OrderBy(_ => random.Next(3)).Select((t, i) => t with { Position = i + 1 }).ToList();
        var persisted = (Ids: new List<string>(), Watermark: 0L);
        var taken = new List<string>();
        var buffer = Buffer();
        var position = 0L;
        while (position < journal.Count || buffer.Pending > 0)
        {
            if (random.Next(15) == 0)
            {
                // Restart: a new buffer from what was persisted, delivery from the watermark.
                buffer = Buffer();
                buffer.MarkConsumed(persisted.Ids, persisted.Watermark);
                position = persisted.Watermark;
            }
            if (position < journal.Count) buffer.Offer(journal[(int)position++], 5, T0);
            var now = position >= journal.Count ? T0.AddMinutes(1) : T0; // the end of the journal: deadlines pass
            foreach (var group in buffer.TakeReady(now))
            {
                var ids = group.Trainable.Concat(group.InfrastructureFailures).Select(t => t.Id).ToList();
                taken.AddRange(ids);
                buffer.MarkConsumed(ids, 0);
                persisted = ([.. persisted.Ids, .. ids], buffer.Watermark);
            }
        }
        Assert.Equal(journal.Select(t => t.Id).Order(), taken.Order());
    }
}
