using MegaFlow.Contracts.Tasks;
using MegaFlow.Contracts.Training;

namespace MegaFlow.Domain.Training;

/// <summary>Where an experiment's tasks and groups are named: the id says what a trajectory is for.</summary>
public static class ExperimentNames
{
    public static string RolloutTask(string experiment, int step, int problem, int replica) => $"{experiment}-s{step:D4}-p{problem:D3}-r{replica:D2}";

    public static string RolloutGroup(string experiment, int step, int problem) => $"{experiment}/s{step}/p{problem}";

    public static string EvalTask(string experiment, int round, int problem, int replica) => $"{experiment}-e{round:D3}-p{problem:D3}-r{replica:D2}";

    public static string EvalGroup(string experiment, int round, int problem) => $"{experiment}/e{round}/p{problem}";

    /// <summary>Every task of the experiment starts with this (the trajectory stream's filter).</summary>
    public static string TaskPrefix(string experiment) => experiment + "-";

    /// <summary>(true, step) for a rollout group, (false, round) for an evaluation group, null for anything else.</summary>
    public static (bool Rollout, int Index)? Parse(string experiment, string group)
    {
        var parts = group.Split('/');
        if (parts.Length != 3 || parts[0] != experiment || parts[1].Length < 2) return null;
        if (!int.TryParse(parts[1].AsSpan(1), out var index)) return null;
        return parts[1][0] switch { 's' => (true, index), 'e' => (false, index), _ => null };
    }
}

/// <summary>
/// An experiment folded from its journal, and the decisions that depend on it alone: which step or
/// evaluation may start now (the staleness bound), and when it is over. Pure: the trainer's actor
/// persists events and applies them here.
/// </summary>
public sealed record ExperimentState
{
    public required ExperimentSpec Spec { get; init; }

    public long StartVersion { get; init; }

    /// <summary>The weight version the trainer holds (the last trained step's, or the start version).</summary>
    public long Version { get; init; }

    public int StepsAdmitted { get; init; }

    public IReadOnlyList<DateTimeOffset> AdmittedAt { get; init; } = [];

    public IReadOnlyList<StepReport> Steps { get; init; } = [];

    public IReadOnlyList<(int Round, int AfterStep, long Version)> EvaluationsAdmitted { get; init; } = [];

    public IReadOnlyList<EvaluationReport> Evaluations { get; init; } = [];

    /// <summary>Ids of every trajectory taken for good (trained, stale, excluded, unused, evaluated).</summary>
    public IReadOnlySet<string> Consumed { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    public long Watermark { get; init; }

    public string Status { get; init; } = ExperimentStatuses.Running;

    public string? Error { get; init; }

    public static ExperimentState Start(ExperimentEvents.ExperimentStarted e) =>
        new() { Spec = e.Spec, StartVersion = e.StartVersion, Version = e.StartVersion };

    public ExperimentState Apply(ExperimentEvents.IExperimentEvent e) => e switch
    {
        ExperimentEvents.StepAdmitted a => this with { StepsAdmitted = Math.Max(StepsAdmitted, a.Step + 1), AdmittedAt = [.. AdmittedAt, a.At] },
        ExperimentEvents.EvaluationAdmitted a => this with { EvaluationsAdmitted = [.. EvaluationsAdmitted, (a.Round, a.AfterStep, a.Version)] },
        ExperimentEvents.StepTrained t => this with
        {
            Steps = [.. Steps, t.Report],
            Version = t.Report.Version,
            Consumed = Union(Consumed, [.. t.Trained, .. t.Stale, .. t.InfraExcluded, .. t.Unused]),
            Watermark = Math.Max(Watermark, t.Watermark),
        },
        ExperimentEvents.EvaluationScored s => this with
        {
            Evaluations = [.. Evaluations, s.Report],
            Consumed = Union(Consumed, s.Consumed),
            Watermark = Math.Max(Watermark, s.Watermark),
        },
        ExperimentEvents.TrajectoriesDropped d => this with { Consumed = Union(Consumed, d.Ids), Watermark = Math.Max(Watermark, d.Watermark) },
        ExperimentEvents.ExperimentFinished f => this with { Status = f.Status, Error = f.Error },
        _ => this,
    };

    private static HashSet<string> Union(IReadOnlySet<string> set, IEnumerable<string> more)
    {
        var next = new HashSet<string>(set, StringComparer.Ordinal);
        next.UnionWith(more);
        return next;
    }

    public bool IsOver => Status != ExperimentStatuses.Running;

    /// <summary>
    /// The next step that may start now, if any: step k starts once k − S steps are trained, so every
    /// sample it takes comes from a version at most S behind the one it is trained on (asynchronous RL
    /// with bounded staleness; S = 0 waits for each step's weights before the next rollout).
    /// </summary>
    public int? NextStep => !IsOver && StepsAdmitted < Spec.Steps && StepsAdmitted <= Steps.Count + Spec.Staleness ? StepsAdmitted : null;

    /// <summary>After how many trained steps each evaluation runs: before training, every EvalEvery steps, and after the last.</summary>
    public IReadOnlyList<int> EvaluationPoints =>
        Spec.EvalTasks == 0 ? [] : [.. Enumerable.Range(0, Spec.Steps / Spec.EvalEvery + 1).Select(i => i * Spec.EvalEvery).Append(Spec.Steps).Distinct()];

    /// <summary>The evaluation that may start now: the one due at exactly the number of trained steps (it measures those weights).</summary>
    public (int Round, int AfterStep)? NextEvaluation
    {
        get
        {
            if (IsOver) return null;
            var points = EvaluationPoints;
            var round = EvaluationsAdmitted.Count;
            return round < points.Count && points[round] == Steps.Count ? (round, Steps.Count) : null;
        }
    }

    /// <summary>Every step trained and every evaluation scored.</summary>
    public bool IsDone => Steps.Count >= Spec.Steps && Evaluations.Count >= EvaluationPoints.Count;

    /// <summary>The tasks of step <paramref name="step"/>: problems step × tasksPerStep … on, each in Replicas replicas.</summary>
    public IEnumerable<TaskSpec> RolloutTasks(int step)
    {
        var id = Spec.Id!;
        for (var p = 0; p < Spec.TasksPerStep; p++)
            for (var r = 0; r < Spec.Replicas; r++)
                yield return TouchSuite.Task(Spec, ExperimentNames.RolloutTask(id, step, p, r), ExperimentNames.RolloutGroup(id, step, p), r,
                    step * Spec.TasksPerStep + p, heldOut: false) with { Quota = Spec.Quota };
    }

    /// <summary>The held-out tasks of evaluation <paramref name="round"/> (the same problems every round, so rounds compare).</summary>
    public IEnumerable<TaskSpec> EvaluationTasks(int round)
    {
        var id = Spec.Id!;
        for (var p = 0; p < Spec.EvalTasks; p++)
            for (var r = 0; r < Spec.EvalReplicas; r++)
                yield return TouchSuite.Task(Spec, ExperimentNames.EvalTask(id, round, p, r), ExperimentNames.EvalGroup(id, round, p), r, p, heldOut: true)
                    with { Quota = Spec.EvalQuota };
    }

    public ExperimentReport Report(int pending, bool paused) =>
        new(Spec.Id!, Status, Spec, StartVersion, Version, StepsAdmitted, Steps, Evaluations, pending, paused, Error);
}

/// <summary>pass@k as Codex's unbiased estimator: 1 − C(n − c, k) / C(n, k) for n samples of which c passed.</summary>
public static class PassAtK
{
    public static double Estimate(int n, int c, int k)
    {
        if (n - c < k) return 1.0;
        // Product form: no factorials, exact enough for the sizes here.
        var fail = 1.0;
        for (var i = n - c + 1; i <= n; i++) fail *= 1.0 - (double)k / i;
        return 1.0 - fail;
    }
}
