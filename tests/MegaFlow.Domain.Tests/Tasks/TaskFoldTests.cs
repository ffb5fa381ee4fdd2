using MegaFlow.Contracts;
using MegaFlow.Contracts.Environments;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using static MegaFlow.Contracts.Tasks.TaskEvents;

namespace MegaFlow.Domain.Tests.Tasks;

/// <summary>The read model's fold: rows, counts and the change sequence; and the one status spelling.</summary>
public sealed class TaskFoldTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static TaskSpec Spec(string id) => new() { TaskId = id, Image = "img", Pool = "pool-a", Mode = "Persistent", Actions = ["true"], ScoreCommand = "true" };

    [Fact]
    public void Rows_follow_the_events_and_counts_move_with_them()
    {
        var fold = new TaskFold();
        fold.Apply(new Submitted("a", Spec("a"), T0));
        fold.Apply(new Queued("a", 1, T0.AddSeconds(1)));
        fold.Apply(new Admitted("a", 1, new Contracts.Scheduling.Lease("a", 1, "l", "p", ExecutionMode.Ephemeral, "e", "node-a:1", Starting: true, Reused: false, 1, T0, T0.AddSeconds(2)), "node-a:1", T0.AddSeconds(2)));
        fold.Apply(new AttemptFailed("a", 1, FailureKind.Infrastructure, "node lost", T0.AddSeconds(3)));
        fold.Apply(new Submitted("b", Spec("b"), T0));
        fold.Apply(new Failed("b", 1, FailureKind.Agent, "bad action", T0.AddSeconds(5)));

        var a = fold.Find("a")!;
        Assert.Equal((TaskStatus.Submitted, 2, "persistent", "pool-a"), (a.Status, a.Attempt, a.Mode, a.Pool));
        Assert.Null(a.Node); // the failed attempt's node is not the retry's
        var b = fold.Find("b")!;
        Assert.Equal((TaskStatus.Failed, FailureKind.Agent), (b.Status, b.FailureKind));
        Assert.Equal(new Dictionary<TaskStatus, int> { [TaskStatus.Submitted] = 1, [TaskStatus.Failed] = 1 }, fold.Counts());
        Assert.Equal(6, fold.Sequence);
        Assert.Equal(b.Sequence, fold.Sequence);
    }

    [Fact]
    public void An_event_that_changes_no_row_does_not_advance_the_sequence()
    {
        var fold = new TaskFold();
        fold.Apply(new Submitted("a", Spec("a"), T0));
        var before = fold.Sequence;
        Assert.Null(fold.Apply(new StepRecorded("a", 1, new Step(1, "ls", 0, "out", false, false, T0, 1, null))));
        Assert.Null(fold.Apply(new LeaseReleased("a", 1, T0)));
        Assert.Equal(before, fold.Sequence);
    }

    [Fact]
    public void A_restored_fold_continues_where_the_saved_rows_left_off()
    {
        var fold = new TaskFold();
        fold.Apply(new Submitted("a", Spec("a"), T0));
        fold.Apply(new Queued("a", 1, T0));
        var restored = new TaskFold();
        restored.Restore(fold.Rows, fold.Sequence);
        restored.Apply(new AttemptFailed("a", 1, FailureKind.Infrastructure, "lost", T0));
        Assert.Equal((TaskStatus.Submitted, 2, "pool-a"), (restored.Find("a")!.Status, restored.Find("a")!.Attempt, restored.Find("a")!.Pool));
        Assert.Equal(fold.Sequence + 1, restored.Sequence);
        Assert.Equal(1, restored.EventsFolded);
    }

    [Theory]
    [InlineData("completed", TaskStatus.Completed)]
    [InlineData("TimedOut", TaskStatus.TimedOut)]
    [InlineData(" queued ", TaskStatus.Queued)]
    public void Status_names_parse_in_any_case(string text, TaskStatus expected) =>
        Assert.Equal(expected, StatusNames.ParseTask(text));

    [Theory]
    [InlineData("3")]
    [InlineData("unknown")]
    [InlineData("")]
    [InlineData("1, 2")]
    [InlineData("done")]
    public void Numbers_unknown_and_other_words_are_rejected_naming_the_value_and_the_valid_names(string text)
    {
        Assert.False(StatusNames.TryParseTask(text, out _));
        var e = Assert.Throws<FormatException>(() => StatusNames.ParseTask(text));
        Assert.Contains($"'{text}'", e.Message);
        Assert.Contains("submitted, queued, provisioning, running, scoring, completed, failed, timedout, cancelled", e.Message);
        Assert.False(StatusNames.TryParseEnvironment("unknown", out _));
        Assert.False(StatusNames.TryParseEnvironment("2", out _));
    }

    [Fact]
    public void Statuses_are_formatted_in_lower_case() =>
        Assert.Equal(("timedout", "destroyed"), (StatusNames.Format(TaskStatus.TimedOut), StatusNames.Format(EnvironmentStatus.Destroyed)));
}
