using MegaFlow.Contracts.Environments;
using MegaFlow.Contracts;
using MegaFlow.Domain.Environments;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using MegaFlow.Verification;

namespace MegaFlow.Chaos.Tests;

/// <summary>
/// The verifier on hand-written journals: each guarantee it checks is broken once on purpose and must
/// be reported, and a clean journal must report nothing — so a failing chaos run is a finding about
/// MegaFlow, not about the harness.
/// </summary>
public sealed class VerifierTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
    private static readonly SchedulerSettings Caps = new() { MaxRunning = 10, MaxStarting = 10, SlotsPerNode = 2 };

    private sealed class Journal
    {
        private readonly Dictionary<string, long> _seq = [];
        public List<JournalEntry> Entries { get; } = [];

        public Journal Add(string persistenceId, object e, string? writer = null)
        {
            var seq = _seq[persistenceId] = _seq.GetValueOrDefault(persistenceId) + 1;
            Entries.Add(new JournalEntry(Entries.Count + 1, persistenceId, seq, e, writer));
            return this;
        }

        public Journal Task(string id, params TaskEvents.ITaskEvent[] events)
        {
            foreach (var e in events) Add("task-" + id, e);
            return this;
        }

        public Journal Scheduler(params SchedulerEvents.ISchedulerEvent[] events) => SchedulerBy("w1", events);

        /// <summary>Scheduler events written by one incarnation of the singleton.</summary>
        public Journal SchedulerBy(string writer, params SchedulerEvents.ISchedulerEvent[] events)
        {
            foreach (var e in events) Add(JournalReader.SchedulerId, e, writer);
            return this;
        }

        public Journal Environment(string id, params EnvironmentEvents.IEnvironmentEvent[] events)
        {
            foreach (var e in events) Add("env-" + id, e);
            return this;
        }

        /// <summary>A task that ran once and completed, with its scheduler and environment events.</summary>
        public Journal Completed(string task, string node = "n1", int seconds = 0)
        {
            var env = "env-" + task;
            var lease = Lease(task, 1, env, node, T0.AddSeconds(seconds));
            Task(task, new TaskEvents.Submitted(task, new TaskSpec { TaskId = task }, T0), new TaskEvents.Queued(task, 1, T0),
                new TaskEvents.Admitted(task, 1, lease, node, T0),
                new TaskEvents.Completed(task, 1, new Score(0, "", 1), T0.AddSeconds(seconds + 1)), new TaskEvents.LeaseReleased(task, 1, T0));
            Scheduler(new SchedulerEvents.Enqueued(task, 1, "p", ExecutionMode.Ephemeral, 0, T0.AddSeconds(seconds)), new SchedulerEvents.Admitted(lease),
                new SchedulerEvents.Released(task, 1, false, T0.AddSeconds(seconds + 1)));
            return Environment(env, new EnvironmentEvents.Requested(env, EnvSpec, task, 1, T0), new EnvironmentEvents.Provisioned(env, Handle(env), T0),
                new EnvironmentEvents.Destroyed(env, "done", T0));
        }
    }

    private static readonly EnvironmentSpec EnvSpec = new("img", "p", ExecutionMode.Ephemeral);

    private static EnvironmentHandle Handle(string env) => new(env, "local", "/tmp/" + env);

    private static Lease Lease(string task, int attempt, string env, string node, DateTimeOffset at) =>
        new(task, attempt, $"{task}-{attempt}", "p", ExecutionMode.Ephemeral, env, node, false, false, 0, at, at);

    [Fact]
    public void A_clean_journal_breaks_no_guarantee()
    {
        var j = new Journal().Completed("a").Completed("b");

        var v = JournalVerifier.Verify(j.Entries, ["a", "b"], Caps);

        Assert.Empty(v.Lost);
        Assert.Empty(v.NotSubmitted);
        Assert.Empty(v.MoreThanOneTerminal);
        Assert.Empty(v.AdmittedTwice);
        Assert.Empty(v.AdmittedWhileHeld);
        Assert.Empty(v.OverCap);
        Assert.Empty(v.Environments.Live);
        Assert.Equal(2, v.Outcomes.Completed);
        Assert.Equal(2, v.Environments.Destroyed);
        Assert.Equal(0, v.InfrastructureFailures);
    }

    [Fact]
    public void A_task_without_a_terminal_event_is_lost_and_one_with_two_is_reported()
    {
        var j = new Journal().Completed("twice")
            .Task("twice", new TaskEvents.Failed("twice", 1, FailureKind.Agent, "again", T0))
            .Task("stuck", new TaskEvents.Submitted("stuck", new TaskSpec { TaskId = "stuck" }, T0), new TaskEvents.Queued("stuck", 1, T0));

        var v = JournalVerifier.Verify(j.Entries, ["twice", "stuck", "never-submitted"], Caps);

        Assert.Equal(["never-submitted", "stuck"], v.Lost);
        Assert.Equal(["never-submitted"], v.NotSubmitted);
        Assert.Equal(["twice (2 terminal events)"], v.MoreThanOneTerminal);
    }

    [Fact]
    public void An_attempt_admitted_twice_in_either_journal_and_an_admission_over_a_held_lease_are_reported()
    {
        var lease = Lease("a", 1, "env-x", "n1", T0);
        var j = new Journal()
            .Task("a", new TaskEvents.Submitted("a", new TaskSpec { TaskId = "a" }, T0),
                new TaskEvents.Admitted("a", 1, Lease("a", 1, "env-x", "n1", T0), "n1", T0),
                new TaskEvents.Admitted("a", 1, Lease("a", 1, "env-x", "n1", T0), "n1", T0),
                new TaskEvents.Completed("a", 1, new Score(0, "", 1), T0))
            .Scheduler(new SchedulerEvents.Admitted(lease), new SchedulerEvents.Admitted(lease));

        var v = JournalVerifier.Verify(j.Entries, ["a"], Caps);

        Assert.Contains("a attempt 1 (task journal, 2 times)", v.AdmittedTwice);
        Assert.Contains("a attempt 1 (scheduler journal)", v.AdmittedTwice);
        Assert.Single(v.AdmittedWhileHeld);
    }

    [Fact]
    public void More_leases_on_a_node_than_its_slots_is_a_cap_violation()
    {
        var j = new Journal().Scheduler(
            new SchedulerEvents.Admitted(Lease("a", 1, "e1", "n1", T0)),
            new SchedulerEvents.Admitted(Lease("b", 1, "e2", "n1", T0)),
            new SchedulerEvents.Admitted(Lease("c", 1, "e3", "n1", T0)));

        var v = JournalVerifier.Verify(j.Entries, [], Caps);

        Assert.Equal(["node n1 holds 3 leases > 2 slots"], v.OverCap);
        Assert.Equal(3, v.Peaks.Running);
    }

    [Fact]
    public void Environments_left_alive_are_reported_and_those_leased_to_an_ended_attempt_are_told_apart()
    {
        var j = new Journal().Completed("done")
            // Leased to "done" attempt 1, which completed: leaked.
            .Environment("leak", new EnvironmentEvents.Requested("leak", EnvSpec, "done", 1, T0), new EnvironmentEvents.Provisioned("leak", Handle("leak"), T0))
            // Leased to attempt 1 of "retried", which failed and was retried: leaked too.
            .Task("retried", new TaskEvents.Submitted("retried", new TaskSpec { TaskId = "retried" }, T0),
                new TaskEvents.AttemptFailed("retried", 1, FailureKind.Infrastructure, "node 127.0.0.1:4053 hosting the environment was lost", T0),
                new TaskEvents.Queued("retried", 2, T0.AddSeconds(42)))
            .Environment("old", new EnvironmentEvents.Requested("old", EnvSpec, "retried", 1, T0))
            // Leased to attempt 2 of "retried", still running: alive, but rightly so.
            .Environment("current", new EnvironmentEvents.Requested("current", EnvSpec, "retried", 2, T0), new EnvironmentEvents.Provisioned("current", Handle("current"), T0))
            // An idle warm environment: alive, leased to nobody.
            .Environment("warm", new EnvironmentEvents.Requested("warm", EnvSpec, "done", 1, T0), new EnvironmentEvents.Provisioned("warm", Handle("warm"), T0),
                new EnvironmentEvents.ResetStarted("warm", T0), new EnvironmentEvents.ResetCompleted("warm", T0))
            .Environment("lost", new EnvironmentEvents.Requested("lost", EnvSpec, "done", 1, T0), new EnvironmentEvents.Lost("lost", "node died", T0));

        var v = JournalVerifier.Verify(j.Entries, ["done", "retried"], Caps);

        Assert.Equal(["current", "leak", "old", "warm"], v.Environments.Live.Select(e => e.EnvironmentId));
        Assert.Equal(["leak", "old"], v.Environments.LeasedToFinished.Select(e => e.EnvironmentId));
        Assert.Equal(EnvironmentStatus.Ready, v.Environments.Live.Single(e => e.EnvironmentId == "warm").Status);
        Assert.Equal(1, v.Environments.Lost);
        Assert.Equal(1, v.InfrastructureFailures);
        Assert.Equal([new ReasonCount("node HOST:PORT hosting the environment was lost", 1)], v.InfrastructureReasons);
        Assert.Equal([TimeSpan.FromSeconds(42)], v.RetryDelays);
    }

    [Fact]
    public void A_hand_over_gap_runs_from_the_dying_schedulers_last_admission_to_the_next_ones_first_and_needs_queued_work()
    {
        var j = new Journal()
            .SchedulerBy("old",
                new SchedulerEvents.Enqueued("a", 1, "p", ExecutionMode.Ephemeral, 1, T0),
                new SchedulerEvents.Enqueued("b", 1, "p", ExecutionMode.Ephemeral, 2, T0),
                new SchedulerEvents.Enqueued("c", 1, "p", ExecutionMode.Ephemeral, 3, T0),
                new SchedulerEvents.Enqueued("d", 1, "p", ExecutionMode.Ephemeral, 4, T0),
                new SchedulerEvents.Admitted(Lease("a", 1, "e1", "n1", T0.AddSeconds(2))),
                // Persisted just after the kill was sent: still the dying incarnation.
                new SchedulerEvents.Admitted(Lease("b", 1, "e2", "n1", T0.AddMilliseconds(5100))))
            .SchedulerBy("new",
                new SchedulerEvents.Admitted(Lease("c", 1, "e3", "n2", T0.AddSeconds(20))),
                new SchedulerEvents.Admitted(Lease("d", 1, "e4", "n2", T0.AddSeconds(21))));
        var v = JournalVerifier.Verify(j.Entries, [], Caps with { SlotsPerNode = 10 });

        var gaps = HandOverGaps.Measure(v, [T0.AddSeconds(5), T0.AddSeconds(30)]);

        Assert.Equal(3, gaps[0].QueuedAtKill);
        Assert.Equal(TimeSpan.FromSeconds(14.9), gaps[0].Gap);
        Assert.Equal(0, gaps[1].QueuedAtKill);
        Assert.Null(gaps[1].Gap);
        Assert.Equal("nothing queued", gaps[1].Note);
    }

    [Fact]
    public void A_kill_after_which_the_same_scheduler_keeps_admitting_did_not_hit_the_scheduler()
    {
        var j = new Journal().SchedulerBy("only",
            new SchedulerEvents.Enqueued("a", 1, "p", ExecutionMode.Ephemeral, 1, T0),
            new SchedulerEvents.Enqueued("b", 1, "p", ExecutionMode.Ephemeral, 2, T0),
            new SchedulerEvents.Admitted(Lease("a", 1, "e1", "n1", T0.AddSeconds(1))),
            new SchedulerEvents.Admitted(Lease("b", 1, "e2", "n1", T0.AddSeconds(30))));
        var v = JournalVerifier.Verify(j.Entries, [], Caps);

        var gap = Assert.Single(HandOverGaps.Measure(v, [T0.AddSeconds(2)]));

        Assert.Null(gap.Gap);
        Assert.StartsWith("the scheduler kept admitting", gap.Note);
    }
}
