using MegaFlow.Contracts;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using static MegaFlow.Contracts.Tasks.TaskEvents;

namespace MegaFlow.Domain.Tests.Results;

/// <summary>
/// Journals of finished tasks whose agents called a model, as the gateway will record them (its
/// ModelCallRecorded events between the steps), folded the way <c>tasks export</c> folds the journal.
/// Also compiled into the management tests, which render these states through the CLI.
/// </summary>
internal static class ModelCallJournal
{
    public static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static TaskSpec Spec(string id, string group = "g", string dataset = "demo") => new()
    {
        TaskId = id, Image = "img", Pool = "pool-a", Actions = ["true"], ScoreCommand = "true",
        Metadata = new Dictionary<string, string> { ["group"] = group, ["dataset"] = dataset },
    };

    public static ModelCall Call(string id, int round, int n, long? version, int prompt, int completion, double latencyMs, int status = 200, string? error = null) =>
        new(round, ModelCallRecordPaths.For(id, 1, round, $"c{n}"), "chat/completions", "megaflow-policy", "http://127.0.0.1:8000/v1",
            version, prompt, completion, latencyMs, status, error, T0.AddSeconds(10 + n));

    public static Step Step(int round, string command) => new(round, command, 0, "ok", false, false, T0.AddSeconds(10 + round), 5, null);

    /// <summary>
    /// Submitted to completed in one attempt: two steps, then the model agent's final decision
    /// (round 3, no step). <paramref name="calls"/> go in after the step of their round (those of a
    /// round without a step, at the end); with none it is a journal from before model calls.
    /// </summary>
    public static List<ITaskEvent> Events(string id, IReadOnlyList<ModelCall> calls, bool passed = true, string group = "g", string dataset = "demo")
    {
        var lease = new Lease(id, 1, "l", "pool-a", ExecutionMode.Ephemeral, "env-1", "node-a:1", Starting: true, Reused: false, 1, T0, T0);
        var events = new List<ITaskEvent>
        {
            new Submitted(id, Spec(id, group, dataset), T0),
            new Queued(id, 1, T0.AddSeconds(1)),
            new Admitted(id, 1, lease, "node-a:1", T0.AddSeconds(2)),
            new RunStarted(id, 1, T0.AddSeconds(3)),
        };
        var steps = new[] { Step(1, "cat setup.py"), Step(2, "pytest -q") };
        foreach (var step in steps)
        {
            events.Add(new StepRecorded(id, 1, step));
            events.AddRange(calls.Where(c => c.Round == step.Round).Select(c => new ModelCallRecorded(id, 1, c)));
        }
        events.AddRange(calls.Where(c => steps.All(s => s.Round != c.Round)).Select(c => new ModelCallRecorded(id, 1, c)));
        events.Add(new ScoringStarted(id, 1, T0.AddSeconds(30)));
        events.Add(new Completed(id, 1, new Score(passed ? 0 : 1, "scored", passed ? 1 : 0), T0.AddSeconds(31)));
        return events;
    }

    /// <summary>The task's state as the export's fold (outputs kept) leaves it.</summary>
    public static TaskState Fold(IEnumerable<ITaskEvent> events)
    {
        var fold = new TaskFold(keepOutputs: true);
        foreach (var e in events) fold.Apply(e);
        return Assert.Single(fold.States);
    }

    /// <summary>A finished task with four calls: two in round 1 (weights 3, then 4), one in round 2, one for the final decision (round 3).</summary>
    public static TaskState WithCalls(string id = "task-1") => Fold(Events(id, Calls(id)));

    public static IReadOnlyList<ModelCall> Calls(string id) =>
    [
        Call(id, 1, 1, 3, prompt: 100, completion: 20, latencyMs: 40),
        Call(id, 1, 2, 4, prompt: 130, completion: 25, latencyMs: 60),
        Call(id, 2, 3, 4, prompt: 170, completion: 30, latencyMs: 80),
        Call(id, 3, 4, null, prompt: 0, completion: 0, latencyMs: 5000, status: 504, error: "upstream timed out"),
    ];
}
