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

    [Fact]
    public void Folding_only_the_events_that_shape_rows_gives_the_rows_counts_and_sequence_of_folding_them_all()
    {
        // The journal tags only row-shaping events and the read model reads only those: over random
        // interleaved histories (retries, every kind of ending, steps, model calls, releases), the
        // tagged subsequence must fold to exactly what the whole journal folds to.
        var left = 0;
        for (var seed = 0; seed < 300; seed++)
        {
            var events = RandomHistories(new Random(seed));
            var all = new TaskFold(keepOutputs: true); // applies every event, skipping none
            var rows = new TaskFold();
            foreach (var e in events) all.Apply(e);
            foreach (var e in events.Where(TaskFold.ShapesRow)) rows.Apply(e);
            left += events.Count(e => !TaskFold.ShapesRow(e));
            Assert.Equal(all.Rows.OrderBy(r => r.TaskId), rows.Rows.OrderBy(r => r.TaskId));
            Assert.Equal(all.Counts(), rows.Counts());
            Assert.Equal(all.Sequence, rows.Sequence);
        }
        Assert.True(left > 1000, $"the histories had rowless events to leave out ({left})");
    }

    [Fact]
    public void Every_event_that_ends_an_attempt_shapes_a_row_so_the_trajectory_stream_can_read_the_row_events()
    {
        ITaskEvent[] endings =
        [
            new Completed("a", 1, new Score(0, "", 1), T0), new AttemptFailed("a", 1, FailureKind.Infrastructure, "x", T0),
            new Failed("a", 1, FailureKind.Agent, "x", T0), new TimedOut("a", 1, TaskPhase.Run, T0), new Cancelled("a", 1, "x", T0),
        ];
        Assert.All(endings, e => Assert.True(MegaFlow.Domain.Training.TrajectoryAssembly.EndsAttempt(e) && TaskFold.ShapesRow(e), e.GetType().Name));
        Assert.False(TaskFold.ShapesRow(new StepRecorded("a", 1, new Step(1, "ls", 0, "", false, false, T0, 1, null))));
    }

    private static List<ITaskEvent> RandomHistories(Random rng)
    {
        var perTask = new List<Queue<ITaskEvent>>();
        for (var t = 0; t < rng.Next(1, 6); t++)
        {
            var id = $"t{t}";
            var at = T0;
            DateTimeOffset Next() => at = at.AddSeconds(rng.Next(1, 5));
            var q = new Queue<ITaskEvent>();
            q.Enqueue(new Submitted(id, Spec(id), Next()));
            for (var attempt = 1; ; attempt++)
            {
                q.Enqueue(new Queued(id, attempt, Next()));
                var lease = new Contracts.Scheduling.Lease(id, attempt, $"l{attempt}", "pool-a", ExecutionMode.Persistent, "e", $"node-{rng.Next(3)}:1", Starting: false, Reused: rng.Next(2) == 0, 1, at, Next());
                if (rng.Next(4) > 0) q.Enqueue(new Admitted(id, attempt, lease, lease.Node, Next()));
                if (rng.Next(3) > 0) q.Enqueue(new RunStarted(id, attempt, Next()));
                for (var round = 1; round <= rng.Next(0, 4); round++)
                {
                    q.Enqueue(new ModelCallRecorded(id, attempt, new ModelCall(round, $"calls/{round}", "chat", "m", "http://m", 1, 10, 5, 3.0, 200, null, Next())));
                    q.Enqueue(new StepRecorded(id, attempt, new Step(round, "ls", 0, "out", false, false, at, 1, null)));
                }
                if (rng.Next(2) == 0) q.Enqueue(new ScoringStarted(id, attempt, Next()));
                var end = rng.Next(6);
                q.Enqueue(end switch
                {
                    0 or 1 => new Completed(id, attempt, new Score(rng.Next(2), "output", rng.NextDouble()), Next()),
                    2 => new AttemptFailed(id, attempt, FailureKind.Infrastructure, "node lost", Next()),
                    3 => new Failed(id, attempt, FailureKind.Agent, "bad", Next()),
                    4 => new TimedOut(id, attempt, TaskPhase.Run, Next()),
                    _ => new Cancelled(id, attempt, "asked", Next()),
                });
                if (rng.Next(3) > 0) q.Enqueue(new LeaseReleased(id, attempt, Next()));
                if (end != 2 || attempt == 3) break;
            }
            perTask.Add(q);
        }
        // Interleave the tasks as a shared journal does, keeping each task's own order.
        var events = new List<ITaskEvent>();
        while (perTask.Any(q => q.Count > 0))
        {
            var open = perTask.Where(q => q.Count > 0).ToList();
            events.Add(open[rng.Next(open.Count)].Dequeue());
        }
        return events;
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
