using MegaFlow.Contracts;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using static MegaFlow.Contracts.Scheduling.SchedulerEvents;

namespace MegaFlow.Domain.Tests.Scheduling;

/// <summary>
/// Named quotas: a quota caps how many of its tasks hold a lease at once; admission stays FIFO within
/// a quota, and a full quota never holds up another quota's tasks queued behind it.
/// </summary>
public class QuotaTests
{
    private const ExecutionMode Eph = ExecutionMode.Ephemeral;
    private const ExecutionMode Pers = ExecutionMode.Persistent;

    private static SchedulerSettings TrainAndEval(int train = 2, int eval = 1) => new()
    {
        MaxRunning = 100, MaxStarting = 100, SlotsPerNode = 100, MaxPoolSize = 100,
        Quotas = new Dictionary<string, int> { ["train"] = train, ["eval"] = eval },
    };

    private static void Enqueue(SchedulerHarness h, string? quota, string pool, params string[] taskIds)
    {
        foreach (var id in taskIds)
            Assert.Equal(DecisionOutcome.Accepted, h.Enqueue(id, pool, Eph, quota: quota).Outcome);
    }

    [Fact]
    public void A_full_quota_does_not_hold_up_another_quotas_tasks_queued_behind_it()
    {
        var h = new SchedulerHarness(TrainAndEval(train: 2, eval: 1), "node-a");
        Enqueue(h, "train", "p", "t1", "t2", "t3", "t4", "t5");
        Enqueue(h, "eval", "p", "e1", "e2");

        Assert.Equal(["t1", "t2", "e1"], h.Plan());

        // An eval release admits the next eval task past the three train tasks still waiting.
        h.Release("e1");
        Assert.Equal(["e2"], h.Plan());
        Assert.Equal(["t3", "t4", "t5"], h.Queued("p"));

        // A train release admits the oldest train task: FIFO within the quota.
        h.Release("t2");
        Assert.Equal(["t3"], h.Plan());
        h.Release("t1");
        Assert.Equal(["t4"], h.Plan());
    }

    [Fact]
    public void A_quota_caps_its_tasks_across_pools()
    {
        var h = new SchedulerHarness(TrainAndEval(train: 2), "node-a");
        Enqueue(h, "train", "p", "t1");
        Enqueue(h, "train", "q", "t2");
        Enqueue(h, "train", "r", "t3");

        Assert.Equal(["t1", "t2"], h.Plan());
        Assert.Equal(2, h.State.RunningByQuota["train"]);

        h.Release("t1");
        Assert.Equal(["t3"], h.Plan());
    }

    [Fact]
    public void Tasks_without_a_quota_or_naming_one_not_configured_are_not_capped_by_any()
    {
        var h = new SchedulerHarness(TrainAndEval(train: 1), "node-a");
        Enqueue(h, "train", "p", "t1", "t2");
        Enqueue(h, null, "p", "n1", "n2");
        Enqueue(h, "nightly", "p", "u1", "u2");

        Assert.Equal(["t1", "n1", "n2", "u1", "u2"], h.Plan());
        Assert.Equal(["t2"], h.Queued("p"));
    }

    [Fact]
    public void The_other_semaphores_still_apply_to_a_quotas_tasks()
    {
        var h = new SchedulerHarness(TrainAndEval(train: 5) with { MaxRunning = 2 }, "node-a");
        Enqueue(h, "train", "p", "t1", "t2", "t3");

        Assert.Equal(["t1", "t2"], h.Plan());
    }

    [Fact]
    public void A_full_pool_still_blocks_its_own_lane_in_order()
    {
        var h = new SchedulerHarness(TrainAndEval(train: 5) with { PoolCaps = new Dictionary<string, int> { ["p"] = 1 } }, "node-a");
        Enqueue(h, "train", "p", "t1", "t2");
        Enqueue(h, "train", "q", "t3");

        Assert.Equal(["t1", "t3"], h.Plan());
        h.Release("t1");
        Assert.Equal(["t2"], h.Plan());
    }

    [Fact]
    public void A_retry_frees_the_earlier_attempts_quota_slot()
    {
        var h = new SchedulerHarness(TrainAndEval(train: 1), "node-a");
        Enqueue(h, "train", "p", "t1", "t2");
        Assert.Equal(["t1"], h.Plan());

        // The task's release of attempt 1 was lost; its enqueue of attempt 2 releases it.
        Assert.Equal(DecisionOutcome.Accepted, h.Enqueue("t1", "p", Eph, attempt: 2, quota: "train").Outcome);
        var admitted = h.PlanLeases();

        Assert.Equal(["t2"], admitted.Select(l => l.TaskId));
        Assert.Equal(1, h.State.RunningByQuota["train"]);
        Assert.Equal(["t1"], h.Queued("p"));
    }

    [Fact]
    public void Leases_carry_their_quota_and_release_it()
    {
        var h = new SchedulerHarness(TrainAndEval(), "node-a");
        h.Enqueue("w1", "p", Pers, quota: "eval");
        var lease = Assert.Single(h.PlanLeases());
        Assert.Equal("eval", lease.Quota);

        h.Release("w1", reusable: true);

        Assert.False(h.State.RunningByQuota.ContainsKey("eval"));
        Assert.Single(h.Idle("p")); // the warm environment is the pool's, whatever the quota was
    }

    [Fact]
    public void A_snapshot_and_the_journal_both_restore_the_quota_counts_and_lanes()
    {
        var h = new SchedulerHarness(TrainAndEval(train: 2, eval: 1), "node-a");
        Enqueue(h, "train", "p", "t1", "t2", "t3", "t4");
        Enqueue(h, "eval", "p", "e1", "e2");
        h.Plan();
        h.Release("t1");

        // A new singleton incarnation recovers from either and must admit exactly what the old one would.
        foreach (var restored in new[] { SchedulerState.FromSnapshot(h.State.ToSnapshot()), SchedulerLogic.Replay(h.Journal) })
        {
            Assert.Equal(SchedulerInvariants.Describe(h.State), SchedulerInvariants.Describe(restored));
            Assert.Equal(1, restored.RunningByQuota["train"]);
            Assert.Equal(1, restored.RunningByQuota["eval"]);
            Assert.Equal(["t3"], h.PreviewAdmissions(restored).Select(a => a.Lease.TaskId));
        }
    }

    [Fact]
    public void A_journal_from_before_quotas_replays_with_every_task_outside_any_quota()
    {
        var events = new ISchedulerEvent[]
        {
            new NodeJoined("node-a"),
            new Enqueued("old-1", 1, "p", Eph, 1, SchedulerHarness.T0, "img"),
            new Enqueued("old-2", 1, "p", Eph, 2, SchedulerHarness.T0, "img"),
        };
        var s = SchedulerLogic.Replay(events);

        var h = new SchedulerHarness(TrainAndEval(train: 1));
        Assert.Equal(["old-1", "old-2"], h.PreviewAdmissions(s).Select(a => a.Lease.TaskId));
        Assert.Empty(s.RunningByQuota);
    }

    [Fact]
    public void Quota_settings_with_bad_names_or_non_positive_caps_are_reported_by_key()
    {
        var problems = new SchedulerSettings
        {
            Quotas = new Dictionary<string, int> { ["train"] = 0, ["eval"] = -2, ["Bad_Name"] = 3, ["ok"] = 4 },
        }.Problems();

        Assert.Equal(3, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("quotas.train must be positive", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("quotas.eval must be positive", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("quotas.Bad_Name:", StringComparison.Ordinal));
    }

    [Fact]
    public void A_quota_cap_is_unlimited_for_no_quota_and_an_unconfigured_one()
    {
        var s = TrainAndEval(train: 6, eval: 2);
        Assert.Equal(6, s.QuotaCap("train"));
        Assert.Equal(2, s.QuotaCap("eval"));
        Assert.Equal(int.MaxValue, s.QuotaCap(null));
        Assert.Equal(int.MaxValue, s.QuotaCap("nightly"));
    }
}
