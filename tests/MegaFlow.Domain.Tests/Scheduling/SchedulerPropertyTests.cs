using FsCheck.Xunit;
using MegaFlow.Domain;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using static MegaFlow.Contracts.Scheduling.SchedulerEvents;

namespace MegaFlow.Domain.Tests.Scheduling;

/// <summary>
/// Random workloads against the scheduler: after every operation (and the admissions it triggers)
/// no cap (quotas included) is exceeded, the counters agree with the leases, each pool and quota admits
/// in submission order, and a full quota holds up no other quota's tasks.
/// </summary>
public class SchedulerPropertyTests
{
    [Property(Arbitrary = [typeof(WorkloadArbitrary)], MaxTest = 300)]
    public void Caps_hold_and_each_pool_and_quota_admits_in_submission_order(Workload w) => new Run(w).Execute();

    /// <summary>
    /// Whatever a workload left behind, once the running tasks finish (a worker is up) every queued
    /// task is admitted: nothing waits forever on a quota, and each release admits what it frees room for.
    /// </summary>
    [Property(Arbitrary = [typeof(WorkloadArbitrary)], MaxTest = 200)]
    public void Every_queued_task_is_admitted_once_running_tasks_finish(Workload w)
    {
        var run = new Run(w);
        run.Execute();
        run.Drain();
    }

    /// <summary>Also check that the generator really produces pressure, so the property is not vacuous.</summary>
    [Fact]
    public void The_generated_workloads_reach_every_cap()
    {
        var reached = new HashSet<string>();
        foreach (var w in FsCheck.Fluent.Gen.Sample(WorkloadArbitrary.Workloads().Generator, 300))
        {
            var run = new Run(w);
            run.Execute();
            reached.UnionWith(run.CapsReached);
        }
        Assert.Equal(["MaxPoolSize", "MaxRunning", "MaxStarting", "PoolCap", "Quota", "QuotaPassed", "Reuse", "SlotsPerNode"], reached.Order());
    }

    private sealed class Run(Workload w)
    {
        private readonly SchedulerHarness _h = new(w.Settings, Enumerable.Range(0, w.InitialNodes).Select(Workload.NodeName).ToArray());
        private readonly Dictionary<QueueLane, List<(string Task, int Attempt)>> _enqueued = [];
        private readonly HashSet<(string Task, int Attempt)> _withdrawn = [];
        private readonly Dictionary<QueueLane, List<(string Task, int Attempt)>> _admitted = [];
        private int _tasks;

        public HashSet<string> CapsReached { get; } = [];

        public void Execute()
        {
            Check();
            foreach (var op in w.Ops)
            {
                Perform(op);
                Check();
                PlanAndCheck();
                NoteCaps();
                AssertFullQuotasBlockNoOne();
            }
        }

        /// <summary>Finishes every running task, round after round, until the queue is empty.</summary>
        public void Drain()
        {
            if (_h.State.Nodes.IsEmpty) Decide(SchedulerLogic.NodeUp(_h.State, Workload.NodeName(0)), DecisionOutcome.Accepted);
            // Each round frees every semaphore a lease holds, so at least the oldest head gets in.
            for (var round = _h.State.QueueDepth + 1; _h.State.QueueDepth > 0; round--)
            {
                Assert.True(round > 0, $"the queue is not draining: {_h.State.QueueDepth} still queued\n{SchedulerInvariants.Describe(_h.State)}");
                foreach (var l in _h.State.Leases.Values.OrderBy(l => l.TaskId, StringComparer.Ordinal).ToList())
                {
                    Decide(SchedulerLogic.Release(_h.State, l.TaskId, l.Attempt, l.Seq % 2 == 0, SchedulerHarness.T0), DecisionOutcome.Accepted);
                    Check();
                }
                PlanAndCheck();
            }
        }

        private void PlanAndCheck()
        {
            foreach (var e in _h.PlanEvents())
            {
                AssertIsHeadOfItsLane(e.Lease);
                Apply(e);
                if (e.Lease.Reused) CapsReached.Add("Reuse");
                Check();
            }
            Assert.Empty(_h.PreviewAdmissions(_h.State)); // planning reached a fixpoint
        }

        /// <summary>
        /// No head-of-line blocking across quotas: with every task of a full quota taken out of the
        /// queue, nothing more could be admitted, so those tasks were holding up no one.
        /// </summary>
        private void AssertFullQuotasBlockNoOne()
        {
            var s = _h.State;
            var full = s.RunningByQuota.Where(kv => kv.Value >= w.Settings.QuotaCap(kv.Key)).Select(kv => kv.Key).ToHashSet();
            var waiting = s.QueuedByTask.Values.Where(q => q.Quota is not null && full.Contains(q.Quota)).ToList();
            if (waiting.Count == 0) return;
            CapsReached.Add("Quota");
            var without = waiting.Aggregate(s, (st, q) => SchedulerLogic.Apply(st, new Released(q.TaskId, q.Attempt, false, SchedulerHarness.T0)));
            Assert.Empty(_h.PreviewAdmissions(without));
            // The situation the rule is for: a full quota's task queued ahead of another quota's admitted task.
            if (s.Leases.Values.Any(l => (l.Quota is null || !full.Contains(l.Quota)) && waiting.Any(q => q.Seq < l.Seq)))
                CapsReached.Add("QuotaPassed");
        }

        private void Perform(Op op)
        {
            var s = _h.State;
            var leases = s.Leases.Values.OrderBy(l => l.TaskId, StringComparer.Ordinal).ToList();
            var queued = s.QueuedByTask.Values.OrderBy(q => q.TaskId, StringComparer.Ordinal).ToList();
            var held = leases.Select(l => (l.TaskId, l.Attempt, l.Pool, l.Mode, l.Quota))
                .Concat(queued.Select(q => (q.TaskId, q.Attempt, q.Pool, q.Mode, q.Quota))).ToList();
            switch (op)
            {
                case Op.Enqueue x:
                    Decide(SchedulerLogic.Enqueue(s, $"t{++_tasks:D3}", 1, Workload.PoolName(x.Pool), x.Mode, SchedulerHarness.T0, quota: Workload.QuotaName(x.Quota)), DecisionOutcome.Accepted);
                    break;
                case Op.EnqueueAgain x when held.Count > 0:
                    var again = held[x.Pick % held.Count];
                    Decide(SchedulerLogic.Enqueue(s, again.TaskId, again.Attempt, again.Pool, again.Mode, SchedulerHarness.T0, quota: again.Quota), DecisionOutcome.Duplicate);
                    break;
                case Op.Retry x when held.Count > 0:
                    var retry = held[x.Pick % held.Count];
                    Decide(SchedulerLogic.Enqueue(s, retry.TaskId, retry.Attempt + 1, retry.Pool, retry.Mode, SchedulerHarness.T0, quota: retry.Quota), DecisionOutcome.Accepted);
                    break;
                case Op.Stale x when held.Count > 0:
                    var stale = held[x.Pick % held.Count];
                    Decide(SchedulerLogic.Enqueue(s, stale.TaskId, stale.Attempt - 1, stale.Pool, stale.Mode, SchedulerHarness.T0, quota: stale.Quota), DecisionOutcome.Rejected);
                    break;
                case Op.Release x when leases.Count > 0:
                    var lease = leases[x.Pick % leases.Count];
                    Decide(SchedulerLogic.Release(s, lease.TaskId, lease.Attempt, x.Reusable, SchedulerHarness.T0), DecisionOutcome.Accepted);
                    break;
                case Op.Withdraw x when queued.Count > 0:
                    var q = queued[x.Pick % queued.Count];
                    Decide(SchedulerLogic.Release(s, q.TaskId, q.Attempt, false, SchedulerHarness.T0), DecisionOutcome.Accepted);
                    break;
                case Op.ReleaseLater x when held.Count > 0:
                    var later = held[x.Pick % held.Count];
                    Decide(SchedulerLogic.Release(s, later.TaskId, later.Attempt + 1, true, SchedulerHarness.T0), DecisionOutcome.Accepted);
                    break;
                case Op.Started x:
                    var starting = leases.Where(l => l.Starting).ToList();
                    if (starting.Count > 0)
                    {
                        var l = starting[x.Pick % starting.Count];
                        Decide(SchedulerLogic.EnvironmentStarted(s, l.TaskId, l.Attempt), DecisionOutcome.Accepted);
                    }
                    break;
                case Op.NodeUp x:
                    var up = Workload.NodeName(x.Node);
                    Decide(SchedulerLogic.NodeUp(s, up), s.Nodes.Contains(up) ? DecisionOutcome.Duplicate : DecisionOutcome.Accepted);
                    break;
                case Op.NodeDown x:
                    var down = Workload.NodeName(x.Node);
                    Decide(SchedulerLogic.NodeDown(s, down), s.Nodes.Contains(down) ? DecisionOutcome.Accepted : DecisionOutcome.Duplicate);
                    break;
                case Op.Retire x:
                    var idle = s.Idle.Values.SelectMany(v => v).OrderBy(e => e.EnvironmentId, StringComparer.Ordinal).ToList();
                    if (idle.Count > 0)
                        Decide(SchedulerLogic.RetireEnvironment(s, idle[x.Pick % idle.Count].EnvironmentId), DecisionOutcome.Accepted);
                    break;
            }
        }

        private void Decide(SchedulerDecision d, DecisionOutcome expected)
        {
            Assert.Equal(expected, d.Outcome);
            if (expected != DecisionOutcome.Accepted) Assert.Empty(d.Events);
            foreach (var e in d.Events) Apply(e);
        }

        private void Apply(ISchedulerEvent e)
        {
            var before = _h.State;
            switch (e)
            {
                case Enqueued x:
                    List(_enqueued, new QueueLane(x.Pool, x.Quota)).Add((x.TaskId, x.Attempt));
                    break;
                case Released x when before.QueuedByTask.TryGetValue(x.TaskId, out var q) && q.Attempt == x.Attempt:
                    _withdrawn.Add((x.TaskId, x.Attempt));
                    break;
                case Admitted x:
                    List(_admitted, new QueueLane(x.Lease.Pool, x.Lease.Quota)).Add((x.Lease.TaskId, x.Lease.Attempt));
                    break;
            }
            _h.Apply(e);
        }

        private void AssertIsHeadOfItsLane(Lease lease)
        {
            var head = _h.State.Queues[new QueueLane(lease.Pool, lease.Quota)].First().Value;
            Assert.Equal((head.TaskId, head.Attempt, head.Seq), (lease.TaskId, lease.Attempt, lease.Seq));
            Assert.Contains(lease.Node, _h.State.Nodes);
        }

        private void Check()
        {
            SchedulerInvariants.AssertHold(_h.State, w.Settings);

            // Within each pool and quota, admissions are the submissions (minus withdrawn ones) in order.
            foreach (var (lane, admitted) in _admitted)
            {
                var expected = _enqueued[lane].Where(x => !_withdrawn.Contains(x)).Take(admitted.Count);
                Assert.Equal(expected, admitted);
            }

            // The snapshot is a faithful copy at every point.
            var restored = SchedulerState.FromSnapshot(_h.State.ToSnapshot());
            Assert.Equal(SchedulerInvariants.Describe(_h.State), SchedulerInvariants.Describe(restored));
        }

        private void NoteCaps()
        {
            var s = _h.State;
            var settings = w.Settings;
            if (s.QueueDepth == 0) return; // a cap only matters when someone waits on it
            if (s.Leases.Count == settings.MaxRunning) CapsReached.Add("MaxRunning");
            if (s.Starting == settings.MaxStarting) CapsReached.Add("MaxStarting");
            if (s.RunningByPool.Any(kv => kv.Value == settings.PoolCap(kv.Key) && s.Queues.Keys.Any(l => l.Pool == kv.Key))) CapsReached.Add("PoolCap");
            if (s.Nodes.Count > 0 && s.Nodes.All(n => s.RunningByNode.GetValueOrDefault(n) == settings.SlotsPerNode)) CapsReached.Add("SlotsPerNode");
            if (s.PoolSizes.Any(kv => kv.Value == settings.MaxPoolSize && s.Queues.Keys.Any(l => l.Pool == kv.Key))) CapsReached.Add("MaxPoolSize");
        }

        private static List<(string, int)> List(Dictionary<QueueLane, List<(string, int)>> d, QueueLane lane) =>
            d.TryGetValue(lane, out var l) ? l : d[lane] = [];
    }
}
