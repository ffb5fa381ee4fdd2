using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain;
using MegaFlow.Contracts;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using static MegaFlow.Contracts.Scheduling.SchedulerEvents;

namespace MegaFlow.Domain.Tests.Scheduling;

public class SchedulerLogicTests
{
    private const ExecutionMode Eph = ExecutionMode.Ephemeral;
    private const ExecutionMode Pers = ExecutionMode.Persistent;

    /// <summary>Roomy defaults, so each test tightens only the cap it is about.</summary>
    private static SchedulerSettings Roomy => new()
    {
        MaxRunning = 100, MaxStarting = 100, SlotsPerNode = 100, MaxPoolSize = 100,
    };

    private static SchedulerHarness Harness(SchedulerSettings? settings = null, params string[] nodes) =>
        new(settings ?? Roomy, nodes.Length == 0 ? ["node-a"] : nodes);

    private static void Enqueue(SchedulerHarness h, string pool, ExecutionMode mode, params string[] taskIds)
    {
        foreach (var id in taskIds)
            Assert.Equal(DecisionOutcome.Accepted, h.Enqueue(id, pool, mode).Outcome);
    }

    // ---- FIFO ------------------------------------------------------------------------------

    [Fact]
    public void Without_nodes_nothing_is_admitted()
    {
        var h = new SchedulerHarness(Roomy);
        Enqueue(h, "p", Eph, "t1", "t2");
        Enqueue(h, "q", Pers, "t3");

        Assert.Empty(h.Plan());
        Assert.Equal(3, h.State.QueueDepth);

        h.Do(s => SchedulerLogic.NodeUp(s, "node-a"));
        Assert.Equal(["t1", "t2", "t3"], h.Plan());
    }

    [Fact]
    public void Nothing_is_admitted_onto_an_unreachable_node_until_it_is_reachable_again()
    {
        // A killed node is unreachable for a while before it is removed: admissions onto it would fail at once.
        var h = Harness(Roomy, "node-a", "node-b");
        h.State = SchedulerLogic.SetReachable(h.State, "node-a", reachable: false);
        Enqueue(h, "p", Eph, "t1", "t2", "t3");

        Assert.Equal(["t1", "t2", "t3"], h.Plan());
        Assert.All(["t1", "t2", "t3"], id => Assert.Equal("node-b", h.Lease(id).Node));

        h.State = SchedulerLogic.SetReachable(h.State, "node-a", reachable: true);
        Enqueue(h, "p", Eph, "t4");
        Assert.Equal(["t4"], h.Plan());
        Assert.Equal("node-a", h.Lease("t4").Node);
    }

    [Fact]
    public void With_every_node_unreachable_the_queue_waits()
    {
        var h = Harness(Roomy, "node-a");
        h.State = SchedulerLogic.SetReachable(h.State, "node-a", reachable: false);
        Enqueue(h, "p", Pers, "t1");
        Assert.Empty(h.Plan());
        Assert.Equal(1, h.State.QueueDepth);
    }

    [Fact]
    public void Tasks_are_admitted_in_submission_order_as_capacity_frees()
    {
        var h = Harness(Roomy with { MaxRunning = 2 });
        Enqueue(h, "p", Eph, "t1", "t2", "t3", "t4", "t5");

        Assert.Equal(["t1", "t2"], h.Plan());
        Assert.Empty(h.Plan());

        h.Release("t2");
        Assert.Equal(["t3"], h.Plan());
        h.Release("t1");
        h.Release("t3");
        Assert.Equal(["t4", "t5"], h.Plan());
        Assert.Equal(0, h.State.QueueDepth);
    }

    [Fact]
    public void Submission_order_holds_across_pools()
    {
        var h = Harness(Roomy with { MaxRunning = 3 });
        h.Enqueue("a1", "a");
        h.Enqueue("b1", "b");
        h.Enqueue("a2", "a");
        h.Enqueue("b2", "b");

        Assert.Equal(["a1", "b1", "a2"], h.Plan());
        Assert.Equal(["b2"], h.Queued("b"));
    }

    [Fact]
    public void A_capped_pool_does_not_block_other_pools()
    {
        var h = Harness(Roomy with { PoolCaps = new Dictionary<string, int> { ["a"] = 1 } });
        Enqueue(h, "a", Eph, "a1", "a2", "a3");
        Enqueue(h, "b", Eph, "b1", "b2");

        Assert.Equal(["a1", "b1", "b2"], h.Plan());
        Assert.Equal(["a2", "a3"], h.Queued("a"));

        h.Release("a1");
        Assert.Equal(["a2"], h.Plan());
    }

    [Fact]
    public void Nothing_behind_a_blocked_head_overtakes_it_in_the_same_pool()
    {
        // The persistent head cannot get a warm environment (pool full); the ephemeral task behind
        // it could start, but must wait its turn.
        var h = Harness(Roomy with { MaxPoolSize = 1 });
        h.Enqueue("p1", "py", Pers);
        h.Enqueue("p2", "py", Pers);
        h.Enqueue("e3", "py", Eph);
        h.Enqueue("o4", "other", Eph);

        Assert.Equal(["p1", "o4"], h.Plan());
        Assert.Equal(["p2", "e3"], h.Queued("py"));

        h.Release("p1", reusable: true);
        Assert.Equal(["p2", "e3"], h.Plan());
        Assert.True(h.Lease("p2").Reused);
    }

    [Fact]
    public void A_globally_blocked_head_lets_a_warm_reuse_in_another_pool_proceed()
    {
        var h = Harness(Roomy with { MaxStarting = 1 });
        h.Enqueue("w", "warm", Pers);
        h.Plan();
        h.Started("w");
        h.Release("w", reusable: true);

        h.Enqueue("s1", "cold", Eph);
        h.Enqueue("s2", "cold", Eph);
        h.Enqueue("w2", "warm", Pers);

        // s1 takes the only start permit; s2 cannot start; w2 needs no permit.
        Assert.Equal(["s1", "w2"], h.Plan());
        Assert.Equal(["s2"], h.Queued("cold"));
    }

    // ---- caps --------------------------------------------------------------------------------

    [Fact]
    public void Max_running_bounds_the_leases_across_all_pools_and_nodes()
    {
        var h = Harness(Roomy with { MaxRunning = 3 }, "node-a", "node-b");
        Enqueue(h, "a", Eph, "a1", "a2");
        Enqueue(h, "b", Pers, "b1", "b2");

        Assert.Equal(3, h.Plan().Count);
        Assert.Equal(3, h.State.Running);
        Assert.Equal(1, h.State.QueueDepth);
    }

    [Fact]
    public void Max_starting_bounds_environments_being_started_and_a_finished_start_frees_a_permit()
    {
        var h = Harness(Roomy with { MaxStarting = 2 });
        Enqueue(h, "p", Eph, "t1", "t2", "t3", "t4");

        Assert.Equal(["t1", "t2"], h.Plan());
        Assert.Equal(2, h.State.Starting);
        Assert.Empty(h.Plan());

        Assert.Equal(DecisionOutcome.Accepted, h.Started("t1").Outcome);
        Assert.Equal(1, h.State.Starting);
        Assert.False(h.Lease("t1").Starting);
        Assert.Equal(["t3"], h.Plan());

        // The start permit is freed once: a repeated report changes nothing.
        Assert.Equal(DecisionOutcome.Duplicate, h.Started("t1").Outcome);
        Assert.Empty(h.Plan());
        Assert.Equal(3, h.State.Running);
    }

    [Fact]
    public void Releasing_a_lease_that_is_still_starting_frees_its_start_permit()
    {
        var h = Harness(Roomy with { MaxStarting = 1 });
        Enqueue(h, "p", Eph, "t1", "t2");
        h.Plan();

        h.Release("t1");

        Assert.Equal(0, h.State.Starting);
        Assert.Equal(["t2"], h.Plan());
    }

    [Fact]
    public void The_per_pool_cap_applies_to_named_pools_and_the_default_to_the_rest()
    {
        var h = Harness(Roomy with { DefaultPoolCap = 2, PoolCaps = new Dictionary<string, int> { ["big"] = 3 } });
        Enqueue(h, "big", Eph, "b1", "b2", "b3", "b4");
        Enqueue(h, "small", Eph, "s1", "s2", "s3");

        h.Plan();

        Assert.Equal(3, h.State.RunningByPool["big"]);
        Assert.Equal(2, h.State.RunningByPool["small"]);
        Assert.Equal(["b4"], h.Queued("big"));
        Assert.Equal(["s3"], h.Queued("small"));
    }

    [Fact]
    public void Slots_per_node_bound_leases_per_node_and_a_joining_node_adds_capacity()
    {
        var h = Harness(Roomy with { SlotsPerNode = 2 }, "node-a", "node-b");
        Enqueue(h, "p", Eph, "t1", "t2", "t3", "t4", "t5");

        Assert.Equal(4, h.Plan().Count);
        Assert.Equal(2, h.State.RunningByNode["node-a"]);
        Assert.Equal(2, h.State.RunningByNode["node-b"]);

        h.Do(s => SchedulerLogic.NodeUp(s, "node-c"));
        var admitted = Assert.Single(h.PlanLeases());
        Assert.Equal(("t5", "node-c"), (admitted.TaskId, admitted.Node));
        Assert.EndsWith("@node-c", admitted.EnvironmentId);
    }

    [Fact]
    public void New_environments_go_to_the_least_loaded_node()
    {
        var h = Harness(Roomy, "node-a", "node-b", "node-c");
        Enqueue(h, "p", Eph, "t1", "t2", "t3", "t4");

        var nodes = h.PlanLeases().Select(l => l.Node).ToList();

        Assert.Equal(["node-a", "node-b", "node-c", "node-a"], nodes);
    }

    [Fact]
    public void Max_pool_size_bounds_warm_environments_per_pool_leased_or_idle()
    {
        var h = Harness(Roomy with { MaxPoolSize = 2 });
        Enqueue(h, "py", Pers, "p1", "p2", "p3");

        Assert.Equal(["p1", "p2"], h.Plan());
        Assert.Equal(2, h.PoolSize("py"));

        // An idle warm environment still counts; it is reused rather than a third started.
        h.Release("p1", reusable: true);
        Assert.Equal(2, h.PoolSize("py"));
        var p3 = Assert.Single(h.PlanLeases());
        Assert.True(p3.Reused);
        Assert.Equal(2, h.PoolSize("py"));
    }

    [Fact]
    public void Ephemeral_tasks_do_not_count_against_the_pool_size()
    {
        var h = Harness(Roomy with { MaxPoolSize = 1 });
        Enqueue(h, "py", Eph, "e1", "e2", "e3");

        Assert.Equal(3, h.Plan().Count);
        Assert.Equal(0, h.PoolSize("py"));
    }

    // ---- warm environments ----------------------------------------------------------------

    [Fact]
    public void A_reusable_release_turns_the_environment_idle_and_the_next_persistent_task_reuses_it_without_a_start_permit()
    {
        var h = Harness(Roomy with { MaxStarting = 1 }, "node-a", "node-b");
        h.Enqueue("p1", "py", Pers);
        var first = Assert.Single(h.PlanLeases());
        Assert.True(first.Starting);
        Assert.False(first.Reused);
        h.Started("p1");
        h.Release("p1", reusable: true);
        Assert.Equal([new WarmEnvironment(first.EnvironmentId, first.Node, "py")], h.Idle("py"));

        // Occupy the only start permit, so reuse is the only way in.
        h.Enqueue("e1", "other", Eph);
        h.Enqueue("p2", "py", Pers);
        Assert.Equal(["e1", "p2"], h.Plan());

        var second = h.Lease("p2");
        Assert.True(second.Reused);
        Assert.False(second.Starting);
        Assert.Equal(first.EnvironmentId, second.EnvironmentId);
        Assert.Equal(first.Node, second.Node);
        Assert.Equal(1, h.State.Starting);
        Assert.Empty(h.Idle("py"));
        Assert.Equal(1, h.PoolSize("py"));
    }

    [Fact]
    public void Draining_retires_every_idle_environment_of_every_pool_and_leaves_leased_ones_alone()
    {
        var h = Harness(Roomy);
        h.Enqueue("p1", "py", Pers);
        h.Enqueue("p2", "rust", Pers);
        h.Enqueue("p3", "py", Pers);
        h.Plan();
        h.Release("p1", reusable: true);
        h.Release("p2", reusable: true);
        var leased = h.Lease("p3").EnvironmentId;

        var d = h.Do(SchedulerLogic.DrainPools);

        Assert.Equal(2, d.Events.Count);
        Assert.All(d.Events, e => Assert.IsType<SchedulerEvents.EnvironmentRetired>(e));
        Assert.Empty(h.Idle("py"));
        Assert.Empty(h.Idle("rust"));
        Assert.Equal(leased, h.Lease("p3").EnvironmentId);
        // Nothing idle: a duplicate, nothing to persist.
        Assert.Equal(DecisionOutcome.Duplicate, h.Do(SchedulerLogic.DrainPools).Outcome);
    }

    [Fact]
    public void A_warm_environment_is_only_reused_by_its_own_pool()
    {
        var h = Harness(Roomy);
        h.Enqueue("p1", "py", Pers);
        h.Plan();
        h.Release("p1", reusable: true);

        h.Enqueue("r1", "rust", Pers);
        h.Enqueue("e1", "py", Eph);
        var leases = h.PlanLeases();

        Assert.All(leases, l => Assert.False(l.Reused));
        Assert.Single(h.Idle("py"));
    }

    [Fact]
    public void A_warm_environment_on_a_full_node_is_not_reused()
    {
        var h = Harness(Roomy with { SlotsPerNode = 1 }, "node-a", "node-b");
        h.Enqueue("p1", "py", Pers);
        h.Plan();
        var warmNode = h.Lease("p1").Node;
        h.Release("p1", reusable: true);
        h.Enqueue("e1", "other", Eph); // takes the warm environment's node (least loaded, first in order)
        Assert.Equal(["e1"], h.Plan());
        Assert.Equal(warmNode, h.Lease("e1").Node);

        h.Enqueue("p2", "py", Pers);
        var p2 = Assert.Single(h.PlanLeases());

        Assert.False(p2.Reused);
        Assert.NotEqual(warmNode, p2.Node);
        Assert.Equal(2, h.PoolSize("py"));
    }

    [Fact]
    public void A_non_reusable_release_destroys_the_environment_and_shrinks_the_pool()
    {
        var h = Harness(Roomy with { MaxPoolSize = 1 });
        Enqueue(h, "py", Pers, "p1", "p2");
        Assert.Equal(["p1"], h.Plan());

        h.Release("p1", reusable: false);

        Assert.Equal(0, h.PoolSize("py"));
        Assert.Empty(h.Idle("py"));
        var p2 = Assert.Single(h.PlanLeases());
        Assert.False(p2.Reused);
        Assert.True(p2.Starting);
    }

    [Fact]
    public void An_ephemeral_environment_never_turns_idle_even_if_released_as_reusable()
    {
        var h = Harness(Roomy);
        h.Enqueue("e1", "py", Eph);
        h.Plan();

        h.Release("e1", reusable: true);

        Assert.Empty(h.Idle("py"));
        Assert.Equal(0, h.PoolSize("py"));
        Assert.Equal(0, h.State.Running);
    }

    [Fact]
    public void A_node_leaving_drops_its_idle_environments_and_their_pool_places()
    {
        var h = Harness(Roomy with { SlotsPerNode = 1 }, "node-a", "node-b");
        Enqueue(h, "py", Pers, "p1", "p2");
        h.Plan();
        Assert.Equal(["node-a", "node-b"], new[] { h.Lease("p1").Node, h.Lease("p2").Node });
        h.Release("p1", reusable: true);
        h.Release("p2", reusable: true);
        Assert.Equal(2, h.PoolSize("py"));

        Assert.Equal(DecisionOutcome.Accepted, h.Do(s => SchedulerLogic.NodeDown(s, "node-a")).Outcome);

        var idle = Assert.Single(h.Idle("py"));
        Assert.Equal("node-b", idle.Node);
        Assert.Equal(1, h.PoolSize("py"));
        Assert.DoesNotContain("node-a", h.State.Nodes);
    }

    [Fact]
    public void A_lease_on_a_departed_node_is_not_returned_to_the_pool_on_release()
    {
        var h = Harness(Roomy, "node-a");
        h.Enqueue("p1", "py", Pers);
        h.Plan();
        h.Do(s => SchedulerLogic.NodeDown(s, "node-a"));
        Assert.Equal(1, h.State.Running);

        h.Release("p1", reusable: true);

        Assert.Empty(h.Idle("py"));
        Assert.Equal(0, h.PoolSize("py"));
        Assert.Equal(0, h.State.Running);
    }

    [Fact]
    public void Retiring_an_idle_environment_frees_its_pool_place()
    {
        var h = Harness(Roomy with { MaxPoolSize = 1 });
        h.Enqueue("p1", "py", Pers);
        var env = Assert.Single(h.PlanLeases()).EnvironmentId;

        Assert.Equal(DecisionOutcome.Duplicate, h.Do(s => SchedulerLogic.RetireEnvironment(s, env)).Outcome); // leased, not idle
        h.Release("p1", reusable: true);
        Assert.Equal(DecisionOutcome.Accepted, h.Do(s => SchedulerLogic.RetireEnvironment(s, env)).Outcome);

        Assert.Empty(h.Idle("py"));
        Assert.Equal(0, h.PoolSize("py"));
        Assert.Equal(DecisionOutcome.Duplicate, h.Do(s => SchedulerLogic.RetireEnvironment(s, env)).Outcome);
    }

    [Fact]
    public void Node_membership_changes_are_idempotent()
    {
        var h = Harness(Roomy, "node-a");

        Assert.Equal(DecisionOutcome.Duplicate, SchedulerLogic.NodeUp(h.State, "node-a").Outcome);
        Assert.Equal(DecisionOutcome.Duplicate, SchedulerLogic.NodeDown(h.State, "node-z").Outcome);
        Assert.Equal(new NodeJoined("node-b"), Assert.Single(SchedulerLogic.NodeUp(h.State, "node-b").Events));
        Assert.Equal(new NodeLeft("node-a"), Assert.Single(SchedulerLogic.NodeDown(h.State, "node-a").Events));
    }

    // ---- enqueue and release idempotency --------------------------------------------------

    [Fact]
    public void Enqueueing_the_same_attempt_again_is_a_duplicate_whether_queued_or_admitted()
    {
        var h = Harness(Roomy with { MaxRunning = 1 });
        h.Enqueue("t1", "p");
        h.Enqueue("t2", "p");
        h.Plan();

        var leased = h.Enqueue("t1", "p");
        var queued = h.Enqueue("t2", "p");

        Assert.Equal(DecisionOutcome.Duplicate, leased.Outcome);
        Assert.Equal(DecisionOutcome.Duplicate, queued.Outcome);
        Assert.Empty(leased.Events);
        Assert.Empty(queued.Events);
        Assert.Equal(1, h.State.QueueDepth);
    }

    [Fact]
    public void A_newer_attempt_replaces_the_queued_one_and_goes_to_the_back()
    {
        var h = Harness(Roomy with { MaxRunning = 1 });
        Enqueue(h, "p", Eph, "t0", "t1", "t2");
        h.Plan(); // t0 runs, t1 and t2 wait

        var d = h.Enqueue("t1", "p", attempt: 2);

        Assert.Equal(DecisionOutcome.Accepted, d.Outcome);
        Assert.Collection(d.Events,
            e => Assert.Equal(new Released("t1", 1, false, SchedulerHarness.T0), e),
            e => Assert.Equal(("t1", 2), (((Enqueued)e).TaskId, ((Enqueued)e).Attempt)));
        Assert.Equal(["t2", "t1"], h.Queued("p"));
        Assert.Equal(2, h.State.QueuedByTask["t1"].Attempt);
        Assert.Equal(2, h.State.QueueDepth);
    }

    [Fact]
    public void A_newer_attempt_of_an_admitted_task_frees_the_older_lease()
    {
        var h = Harness(Roomy with { MaxRunning = 1, MaxPoolSize = 1 });
        h.Enqueue("t1", "py", Pers);
        h.Plan();

        var d = h.Enqueue("t1", "py", Pers, attempt: 2);

        Assert.Equal(DecisionOutcome.Accepted, d.Outcome);
        Assert.False(h.State.Leases.ContainsKey("t1"));
        Assert.Equal(0, h.PoolSize("py"));
        Assert.Empty(h.Idle("py")); // the old attempt's environment is not trusted for reuse
        var lease = Assert.Single(h.PlanLeases());
        Assert.Equal(("t1", 2), (lease.TaskId, lease.Attempt));
    }

    [Fact]
    public void A_stale_attempt_is_rejected_whether_the_newer_one_is_queued_or_admitted()
    {
        var h = Harness(Roomy with { MaxRunning = 1 });
        h.Enqueue("t1", "p", attempt: 3);
        h.Enqueue("t2", "p", attempt: 2);
        h.Plan();

        var againstLease = h.Enqueue("t1", "p", attempt: 2);
        var againstQueue = h.Enqueue("t2", "p", attempt: 1);

        Assert.Equal(DecisionOutcome.Rejected, againstLease.Outcome);
        Assert.Equal(DecisionOutcome.Rejected, againstQueue.Outcome);
        Assert.Empty(againstLease.Events);
        Assert.Empty(againstQueue.Events);
        Assert.Equal(3, h.Lease("t1").Attempt);
        Assert.Equal(2, h.State.QueuedByTask["t2"].Attempt);
    }

    [Fact]
    public void Releasing_a_queued_attempt_withdraws_it_from_the_queue()
    {
        var h = Harness(Roomy with { MaxRunning = 1 });
        Enqueue(h, "p", Eph, "t1", "t2", "t3");
        h.Plan();

        var d = h.Release("t2", reusable: true);

        Assert.Equal(new Released("t2", 1, false, SchedulerHarness.T0), Assert.Single(d.Events));
        Assert.Equal(["t3"], h.Queued("p"));
        Assert.False(h.State.QueuedByTask.ContainsKey("t2"));
        h.Release("t1");
        Assert.Equal(["t3"], h.Plan());
    }

    [Fact]
    public void Releasing_what_is_not_held_is_a_harmless_duplicate()
    {
        var h = Harness(Roomy);
        h.Enqueue("t1", "p", attempt: 2);
        h.Plan();
        var before = SchedulerInvariants.Describe(h.State);

        Assert.Equal(DecisionOutcome.Duplicate, h.Release("unknown").Outcome);
        Assert.Equal(DecisionOutcome.Duplicate, h.Release("t1", attempt: 1).Outcome);
        Assert.Equal(before, SchedulerInvariants.Describe(h.State));

        Assert.Equal(DecisionOutcome.Accepted, h.Release("t1", attempt: 2).Outcome);
        Assert.Equal(DecisionOutcome.Duplicate, h.Release("t1", attempt: 2).Outcome);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Releasing_a_later_attempt_also_frees_what_an_earlier_attempt_still_holds(bool leased)
    {
        // The task ended attempt 1 (infra failure), then attempt 2 ended too (e.g. cancelled while
        // waiting) before the scheduler heard of either: the task now owes only the release of
        // attempt 2. That release must not leave attempt 1's lease or queue entry behind forever.
        var h = Harness(Roomy with { MaxRunning = 1, MaxPoolSize = 1 });
        h.Enqueue("t1", "py", Pers);
        if (leased) h.Plan();

        var d = h.Release("t1", reusable: true, attempt: 2);

        Assert.Equal(DecisionOutcome.Accepted, d.Outcome);
        Assert.Equal(new Released("t1", 1, false, SchedulerHarness.T0), Assert.Single(d.Events));
        Assert.Empty(h.State.Leases);
        Assert.Equal(0, h.State.QueueDepth);
        Assert.Empty(h.Idle("py")); // the failed attempt's environment is not trusted for reuse
        Assert.Equal(0, h.PoolSize("py"));
        Assert.Equal(DecisionOutcome.Duplicate, h.Release("t1", attempt: 2).Outcome);
    }

    [Fact]
    public void A_released_event_for_another_attempt_changes_nothing_when_applied()
    {
        var h = Harness(Roomy);
        h.Enqueue("t1", "p", attempt: 2);
        h.Enqueue("t2", "p");
        h.Plan();
        var before = SchedulerInvariants.Describe(h.State);

        var after = SchedulerLogic.Apply(h.State, new Released("t1", 1, true, SchedulerHarness.T0));

        Assert.Equal(before, SchedulerInvariants.Describe(after));
    }

    // ---- recovery ---------------------------------------------------------------------------

    private static SchedulerHarness BusyScheduler()
    {
        var h = Harness(new SchedulerSettings
        {
            MaxRunning = 5, MaxStarting = 2, SlotsPerNode = 3, MaxPoolSize = 2,
            PoolCaps = new Dictionary<string, int> { ["rust"] = 1 },
        }, "node-a", "node-b");
        h.Enqueue("p1", "py", Pers);
        h.Enqueue("p2", "py", Pers);
        h.Plan();
        h.Started("p1");
        h.Started("p2");
        h.Release("p1", reusable: true);
        h.Enqueue("r1", "rust", Eph);
        h.Enqueue("r2", "rust", Eph);
        h.Enqueue("e1", "misc", Eph);
        h.Plan();
        h.Enqueue("p3", "py", Pers);
        h.Enqueue("p4", "py", Pers);
        h.Enqueue("e2", "misc", Eph, attempt: 2);
        h.Enqueue("w", "misc", Eph);
        h.Release("w");
        return h;
    }

    [Fact]
    public void A_snapshot_round_trip_preserves_the_observable_state_and_the_next_admissions()
    {
        var h = BusyScheduler();
        Assert.NotEmpty(h.State.Leases);
        Assert.NotEqual(0, h.State.QueueDepth);
        Assert.NotEmpty(h.Idle("py"));
        Assert.NotEqual(0, h.State.Starting);

        var restored = SchedulerState.FromSnapshot(h.State.ToSnapshot());

        Assert.Equal(SchedulerInvariants.Describe(h.State), SchedulerInvariants.Describe(restored));
        Assert.Equal(h.PreviewAdmissions(h.State), h.PreviewAdmissions(restored));
        SchedulerInvariants.AssertHold(restored, h.Settings);
        // And after the next admissions and a few more events, the two still agree.
        var next = h.PreviewAdmissions(restored).Aggregate(restored, (s, e) => SchedulerLogic.Apply(s, e));
        h.PlanLeases();
        Assert.Equal(SchedulerInvariants.Describe(h.State), SchedulerInvariants.Describe(next));
    }

    [Fact]
    public void A_snapshot_keeps_the_sequence_so_later_submissions_stay_behind_earlier_ones()
    {
        var h = BusyScheduler();
        var restored = SchedulerState.FromSnapshot(h.State.ToSnapshot());

        var d = SchedulerLogic.Enqueue(restored, "late", 1, "misc", Eph, SchedulerHarness.T0);

        var seq = Assert.IsType<Enqueued>(Assert.Single(d.Events)).Seq;
        Assert.All(restored.QueuedByTask.Values, q => Assert.True(q.Seq < seq));
        Assert.All(restored.Leases.Values, l => Assert.True(l.Seq < seq));
    }

    [Fact]
    public void Replaying_the_journal_rebuilds_the_same_state()
    {
        var h = BusyScheduler();
        h.PlanLeases();

        var replayed = SchedulerLogic.Replay(h.Journal);

        Assert.Equal(SchedulerInvariants.Describe(h.State), SchedulerInvariants.Describe(replayed));
    }

    [Fact]
    public void The_invariants_hold_throughout_the_busy_scenario()
    {
        var h = BusyScheduler();
        var s = SchedulerState.Empty;
        foreach (var e in h.Journal)
        {
            s = SchedulerLogic.Apply(s, e);
            SchedulerInvariants.AssertHold(s, h.Settings);
        }
    }

    [Fact]
    public void Settings_with_non_positive_caps_are_reported()
    {
        var problems = new SchedulerSettings
        {
            MaxRunning = 0, MaxStarting = -1, SlotsPerNode = 0, DefaultPoolCap = 0, MaxPoolSize = 0,
            PoolCaps = new Dictionary<string, int> { ["py"] = 0 },
        }.Problems();

        Assert.Equal(6, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("pool-caps.py"));
        Assert.Empty(new SchedulerSettings().Problems());
    }
}
