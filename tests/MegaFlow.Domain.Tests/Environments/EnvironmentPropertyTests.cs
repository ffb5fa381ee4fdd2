using FsCheck.Xunit;
using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Environments;
using static MegaFlow.Domain.Tests.Environments.EnvironmentStates;
using C = MegaFlow.Domain.Environments.EnvironmentCommands;
using E = MegaFlow.Domain.Environments.EnvironmentEffects;
using Ev = MegaFlow.Contracts.Environments.EnvironmentEvents;
using Tr = MegaFlow.Domain.Environments.EnvironmentTransitions;

namespace MegaFlow.Domain.Tests.Environments;

/// <summary>
/// Random runs of one environment: requests from tasks, the scheduler and the node's provider in
/// any order, provider calls finishing (or failing) while others arrive, and restarts of its actor
/// — on the owning node, on a new incarnation at the same address, or on another node. After every
/// decision the invariants hold.
/// </summary>
public class EnvironmentPropertyTests
{
    [Property(MaxTest = 500)]
    public void Invariants_hold_over_random_runs(int[] picks) => new Walk(picks).Run();

    /// <summary>The runs are not vacuous: they reach every status and the interesting corners.</summary>
    [Fact]
    public void The_random_runs_reach_every_status_and_every_corner()
    {
        var reached = new HashSet<string>();
        for (var seed = 0; seed < 300; seed++)
        {
            var random = new Random(seed);
            var walk = new Walk(Enumerable.Range(0, 80).Select(_ => random.Next()).ToArray());
            walk.Run();
            reached.UnionWith(walk.Reached);
        }

        foreach (var status in AllStatuses) Assert.Contains(status.ToString(), reached);
        Assert.Contains("lost on a foreign host", reached);
        Assert.Contains("destroy deferred", reached);
        Assert.Contains("died during exec", reached);
        Assert.Contains("lease reclaimed", reached);
        Assert.Contains("idle environment reclaimed", reached);
        Assert.Contains("health check retried", reached);
        Assert.Contains("several waiting for a destroy", reached);
        Assert.Contains("recovery retried while a call runs", reached);
    }

    /// <summary>One run: each pick chooses (modulo) among the steps possible at that moment.</summary>
    private sealed class Walk(int[] picks)
    {
        private static readonly (string Task, int Attempt)[] Leases = [(Lessee, 1), (Lessee, 2), (OtherTask, 1)];

        private static readonly string[] Hosts = [Node, Node, NewIncarnation, OtherNode];

        private EnvironmentHarness _h = new(Id, []);
        private readonly List<string> _trace = [];

        public HashSet<string> Reached { get; } = [];

        public void Run()
        {
            try
            {
                // Start from a journal some environment wrote (any status), recovered on some host.
                if (picks.Length > 0)
                {
                    var status = AllStatuses.ElementAt((int)((uint)picks[0] % (uint)AllStatuses.Count()));
                    var host = Hosts[(int)((uint)picks[0] / 8 % (uint)Hosts.Length)];
                    _h = new EnvironmentHarness(Id, Journal(status), host);
                    Step($"recover a {status} environment on {host}", () => _h.Restart());
                }
                foreach (var pick in picks.Skip(1))
                {
                    if (_h.Passivated) Step("(next message after passivation) restart", () => _h.Restart());
                    var steps = Steps();
                    var (name, act) = steps[(int)((uint)pick % (uint)steps.Count)];
                    Step(name, act);
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new InvalidOperationException($"{e.Message}\nRun:\n  {string.Join("\n  ", _trace)}", e);
            }
        }

        private List<(string Name, Func<EnvironmentDecision> Act)> Steps()
        {
            var steps = new List<(string, Func<EnvironmentDecision>)>();
            void Add(C.IEnvironmentCommand c, int weight = 1)
            {
                for (var i = 0; i < weight; i++) steps.Add((c.ToString()!, () => _h.Send(c)));
            }

            // What tasks, the scheduler and the provider may send at any time (resent, late or stale too).
            foreach (var (task, attempt) in Leases)
            {
                Add(new C.Provision(Spec, task, attempt));
                Add(new C.Lease(task, attempt));
            }
            Add(new C.Exec(Lessee), 3);
            Add(new C.Exec(OtherTask));
            Add(new C.Reset(Lessee), 3);
            Add(new C.Reset(OtherTask));
            Add(new C.Destroy("task finished"), 2);
            Add(new C.ResourceDied("container killed"));

            // Answers to the checks the actor runs on a timer (mostly when due; a late one any time).
            var s = _h.State;
            if (EnvironmentLogic.NeedsLesseeCheck(s))
                foreach (var holds in new bool?[] { true, false, null })
                    Add(new C.LesseeAnswered(s.LeasedTo!, s.LeasedAttempt, holds), 2);
            Add(new C.LesseeAnswered(Lessee, 1, false));
            if (EnvironmentLogic.NeedsPoolCheck(s))
                foreach (var listed in new bool?[] { true, false, null })
                    Add(new C.PoolAnswered(listed), 2);
            Add(new C.PoolAnswered(false));

            // Outcomes of the provider calls and timers that are running.
            if (_h.Provisioning)
            {
                Add(new C.ProvisionFinished(Handle, null), 6);
                Add(new C.ProvisionFinished(null, "image not found"));
            }
            foreach (var task in _h.ExecsRunning.Distinct())
            {
                Add(new C.ExecFinished(task, null), 6);
                Add(new C.ExecFinished(task, "engine unreachable"));
            }
            if (_h.ResettingCall)
            {
                Add(new C.ResetFinished(null), 6);
                Add(new C.ResetFinished("engine unreachable"));
            }
            if (_h.DestroyingCall) Add(new C.DestroyFinished("task finished"), 6);
            if (_h.CheckingHealth)
            {
                Add(new C.HealthChecked(true, null), 2);
                Add(new C.HealthChecked(false, "no such container"));
                Add(new C.HealthChecked(null, "engine unreachable"), 3);
            }
            if (_h.RecoveryRetryPending) steps.Add(("Recheck (retry)", () =>
            {
                if (_h.ResettingCall || _h.DestroyingCall || _h.ExecsRunning.Count > 0) Reached.Add("recovery retried while a call runs");
                return _h.Send(C.Recheck.Instance);
            }));

            // The actor starts again: on its node, or (its shard moved) on another incarnation.
            foreach (var host in new[] { Node, Node, NewIncarnation, OtherNode })
                steps.Add(($"restart on {host}", () => _h.Restart(host)));
            return steps;
        }

        private void Step(string name, Func<EnvironmentDecision> act)
        {
            var before = _h.State;
            var provisionsBefore = _h.Count<E.StartProvision>();
            var d = act();
            _trace.Add($"{name} -> {EnvironmentTransitionTableTests.Summarize(d)} => {_h.State.Status}{(_h.State.Destroying ? " (destroying)" : "")} on {_h.Host}");
            Check(before, d, provisionsBefore);
            Note(before, d);
        }

        private void Check(EnvironmentState before, EnvironmentDecision d, int provisionsBefore)
        {
            var s = _h.State;
            Assert.True(s.ExecsInFlight >= 0, "ExecsInFlight went below zero");

            if (before.IsGone)
            {
                Assert.True(s.IsGone, "a gone environment came back");
                Assert.True(d.Events.Count == 0, "a gone environment journaled an event");
            }

            Assert.True(_h.Count<E.StartProvision>() <= 1, "a second provision of the same environment");
            Assert.True(_h.Count<E.StartProvision>() == provisionsBefore || provisionsBefore == 0, "a second provision");

            if (d.Events.Any(e => e is Ev.Lost or Ev.Destroyed))
                Assert.True(d.Effects.Contains(E.Passivate.Instance), "a Lost or Destroyed decision without Passivate");

            if (!EnvironmentLogic.IsOwnedBy(Id, _h.Host))
                Assert.True(!d.Effects.Any(e => e is E.StartProvision or E.StartReset or E.StartExec or E.CheckHealth),
                    $"a foreign host touched the resource: {string.Join(", ", d.Effects)}");

            // Every asker is answered: whoever waits, waits for a provider call that will answer it.
            if (!_h.Passivated)
            {
                if (_h.Waiting(E.WaitKind.Provision) > 0) Assert.True(_h.Provisioning, "a provision waiter with no provision running");
                if (_h.Waiting(E.WaitKind.Reset) > 0) Assert.True(_h.ResettingCall, "a reset waiter with no reset running");
                if (_h.Waiting(E.WaitKind.Destroy) > 0)
                    Assert.True(_h.DestroyingCall || (s.DestroyWhenSettled is not null && (_h.Provisioning || _h.ResettingCall)),
                        "a destroy waiter with no destroy running or deferred");
            }
            else
            {
                Assert.True(Enum.GetValues<E.WaitKind>().All(k => _h.Waiting(k) == 0), "passivated with askers still waiting");
            }

            // The journal ends at most once, with its last event.
            var ends = _h.Journal.FindIndex(e => e is Ev.Lost or Ev.Destroyed);
            Assert.True(ends < 0 || ends == _h.Journal.Count - 1, "events after the end");
        }

        private void Note(EnvironmentState before, EnvironmentDecision d)
        {
            Reached.Add(_h.State.Status.ToString());
            if (d.Events.Any(e => e is Ev.Lost) && !EnvironmentLogic.IsOwnedBy(Id, _h.Host)) Reached.Add("lost on a foreign host");
            if (d.Transitions.Any(t => t is Tr.DestroyDeferred)) Reached.Add("destroy deferred");
            if (d.Transitions.Any(t => t is Tr.DiedDuringExec)) Reached.Add("died during exec");
            if (d.Transitions.Any(t => t is Tr.DestroyStarted) && before.Strikes > 0)
                Reached.Add(before.Status == EnvironmentStatus.Leased ? "lease reclaimed" : "idle environment reclaimed");
            if (d.Effects.Any(e => e is E.RetryHealthCheckLater)) Reached.Add("health check retried");
            if (_h.Waiting(E.WaitKind.Destroy) > 1) Reached.Add("several waiting for a destroy");
        }
    }
}
