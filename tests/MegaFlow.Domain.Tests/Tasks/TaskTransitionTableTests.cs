using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain;
using MegaFlow.Domain.Tasks;
using static MegaFlow.Domain.Tests.Tasks.TaskStates;

namespace MegaFlow.Domain.Tests.Tasks;

/// <summary>
/// Every decision against every status: where it is not allowed it is rejected (or, for idempotent
/// repeats, a duplicate) and produces no events. The table is the specification.
/// </summary>
public class TaskTransitionTableTests
{
    private const DecisionOutcome A = DecisionOutcome.Accepted;
    private const DecisionOutcome D = DecisionOutcome.Duplicate;
    private const DecisionOutcome R = DecisionOutcome.Rejected;

    private static readonly Step AStep = new(1, "ls", 0, "", false, false, T0, 1, null);

    /// <summary>The decisions, each for the task's current attempt and (for Admit) a fresh lease.</summary>
    private static readonly Dictionary<string, Func<TaskState, TaskDecision>> Decisions = new()
    {
        ["Submit"] = s => TaskLogic.Submit(s, Specs.Valid(Id), T0),
        ["ConfirmQueued"] = s => TaskLogic.ConfirmQueued(s, s.Attempt, T0),
        ["Admit"] = s => TaskLogic.Admit(s, s.Attempt, Lease2, "node-b", T0),
        ["EnvironmentReady"] = s => TaskLogic.EnvironmentReady(s, s.Attempt, T0),
        ["RecordStep"] = s => TaskLogic.RecordStep(s, s.Attempt, AStep),
        ["StartScoring"] = s => TaskLogic.StartScoring(s, s.Attempt, T0),
        ["Complete"] = s => TaskLogic.Complete(s, s.Attempt, new Score(0, "", 1), T0),
        ["FailAttempt(infra)"] = s => TaskLogic.FailAttempt(s, s.Attempt, FailureKind.Infrastructure, "x", T0),
        ["FailAttempt(agent)"] = s => TaskLogic.FailAttempt(s, s.Attempt, FailureKind.Agent, "x", T0),
        ["TimeOut(Setup)"] = s => TaskLogic.TimeOut(s, s.Attempt, TaskPhase.Setup, T0),
        ["TimeOut(Run)"] = s => TaskLogic.TimeOut(s, s.Attempt, TaskPhase.Run, T0),
        ["TimeOut(Scoring)"] = s => TaskLogic.TimeOut(s, s.Attempt, TaskPhase.Scoring, T0),
        ["Cancel"] = s => TaskLogic.Cancel(s, "x", T0),
    };

    //                                               Unknown Submitted Queued Provisioning Running Scoring Completed Failed TimedOut Cancelled
    private static readonly Dictionary<string, DecisionOutcome[]> Expected = new()
    {
        ["Submit"] =             [A, D, D, D, D, D, D, D, D, D],
        ["ConfirmQueued"] =      [R, A, D, D, D, D, R, R, R, R],
        ["Admit"] =              [R, A, A, R, R, R, R, R, R, R],
        ["EnvironmentReady"] =   [R, R, R, A, R, R, R, R, R, R],
        ["RecordStep"] =         [R, R, R, R, A, R, R, R, R, R],
        ["StartScoring"] =       [R, R, R, R, A, R, R, R, R, R],
        ["Complete"] =           [R, R, R, R, R, A, R, R, R, R],
        ["FailAttempt(infra)"] = [R, R, R, A, A, A, R, R, R, R],
        ["FailAttempt(agent)"] = [R, R, R, A, A, A, R, R, R, R],
        ["TimeOut(Setup)"] =     [R, R, R, A, R, R, R, R, R, R],
        ["TimeOut(Run)"] =       [R, R, R, R, A, R, R, R, R, R],
        ["TimeOut(Scoring)"] =   [R, R, R, R, R, A, R, R, R, R],
        ["Cancel"] =             [R, A, A, A, A, A, R, R, R, D],
    };

    public static TheoryData<string, TaskStatus, DecisionOutcome> Table()
    {
        var data = new TheoryData<string, TaskStatus, DecisionOutcome>();
        foreach (var (decision, row) in Expected)
            foreach (var status in AllStatuses)
                data.Add(decision, status, row[(int)status]);
        return data;
    }

    [Fact]
    public void The_table_covers_every_decision_and_every_status()
    {
        Assert.Equal(Decisions.Keys.Order(), Expected.Keys.Order());
        Assert.All(Expected.Values, row => Assert.Equal(AllStatuses.Count(), row.Length));
        Assert.Equal(TaskStatus.Cancelled, AllStatuses.Last());
    }

    [Theory]
    [MemberData(nameof(Table))]
    public void A_decision_has_the_specified_outcome_in_each_status(string decision, TaskStatus status, DecisionOutcome expected)
    {
        var s = At(status);

        var d = Decisions[decision](s);

        Assert.Equal(expected, d.Outcome);
        if (expected == A)
            Assert.NotEmpty(d.Events);
        else
        {
            Assert.Empty(d.Events);
            Assert.False(string.IsNullOrEmpty(d.Reason));
        }
    }

    [Theory]
    [MemberData(nameof(Table))]
    public void Accepted_events_are_for_this_task_and_its_current_attempt(string decision, TaskStatus status, DecisionOutcome expected)
    {
        if (expected != A) return;
        var s = At(status);

        var d = Decisions[decision](s);

        Assert.All(d.Events, e => Assert.Equal(Id, e.TaskId));
        var after = d.Events.Aggregate(s, TaskLogic.Apply);
        Assert.True(after.Attempt is var a && (a == s.Attempt || a == s.Attempt + 1));
    }

    public static TheoryData<TaskStatus> TerminalStatuses => new(AllStatuses.Where(s => s.IsTerminal()));

    [Theory]
    [MemberData(nameof(TerminalStatuses))]
    public void Once_terminal_no_decision_but_the_release_confirmation_produces_events(TaskStatus status)
    {
        var s = At(status);
        Assert.True(s.Status.IsTerminal());

        Assert.All(Decisions, kv => Assert.Empty(kv.Value(s).Events));
        // Also not for a stale or future attempt, nor for the lease it already holds.
        Assert.Empty(TaskLogic.Admit(s, s.Attempt, Lease1, "node-a", T0).Events);
        Assert.Empty(TaskLogic.FailAttempt(s, s.Attempt + 1, FailureKind.Infrastructure, "x", T0).Events);
        Assert.Empty(TaskLogic.ConfirmQueued(s, s.Attempt + 1, T0).Events);

        var released = TaskLogic.ConfirmReleased(s, s.Attempt, T0);
        Assert.Equal(A, released.Outcome);
        Assert.Equal(status, released.Events.Aggregate(s, TaskLogic.Apply).Status);
    }

    [Fact]
    public void Every_path_to_the_end_reaches_exactly_one_terminal_state()
    {
        // From each non-terminal state try each decision; whenever one ends the task, every
        // decision afterwards leaves the terminal state untouched.
        foreach (var status in AllStatuses.Where(s => s != TaskStatus.Unknown && !s.IsTerminal()))
        foreach (var (name, decide) in Decisions)
        {
            var s = At(status, Specs.Valid(Id) with { MaxInfraRetries = 0 });
            var d = decide(s);
            if (d.Outcome != A) continue;
            s = d.Events.Aggregate(s, TaskLogic.Apply);
            if (!s.Status.IsTerminal()) continue;

            var terminal = s.Status;
            foreach (var (_, next) in Decisions)
            {
                var again = next(s);
                Assert.Empty(again.Events);
                Assert.Equal(terminal, again.Events.Aggregate(s, TaskLogic.Apply).Status);
            }
            Assert.True(s.FinishedAt is not null, $"{name} from {status} ended the task without FinishedAt");
        }
    }

    [Theory]
    [InlineData(TaskStatus.Unknown, false, false)]
    [InlineData(TaskStatus.Submitted, false, false)]
    [InlineData(TaskStatus.Queued, false, false)]
    [InlineData(TaskStatus.Provisioning, false, true)]
    [InlineData(TaskStatus.Running, false, true)]
    [InlineData(TaskStatus.Scoring, false, true)]
    [InlineData(TaskStatus.Completed, true, false)]
    [InlineData(TaskStatus.Failed, true, false)]
    [InlineData(TaskStatus.TimedOut, true, false)]
    [InlineData(TaskStatus.Cancelled, true, false)]
    public void Statuses_are_classified_as_terminal_or_in_flight(TaskStatus status, bool terminal, bool inFlight)
    {
        Assert.Equal(terminal, status.IsTerminal());
        Assert.Equal(inFlight, status.IsInFlight());
    }
}
