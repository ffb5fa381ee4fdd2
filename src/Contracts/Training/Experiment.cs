using System.Text.Json.Serialization;
using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Contracts.Training;

/// <summary>
/// An RL experiment: which tasks, how many per step and in how many replicas, how the trainer steps
/// (GSPO hyper-parameters), how stale a trajectory may be, and when to evaluate on held-out tasks.
/// Submitted through the client library, the management API or <c>megaflow train</c>; checked by
/// <see cref="ExperimentSpecValidator"/> (errors name the field) before anything starts. JSON field
/// names are the properties' camelCase names.
/// </summary>
public sealed record ExperimentSpec
{
    /// <summary>The experiment's id: its tasks' ids and groups start with it; submitting the same id again resumes it.</summary>
    public string? Id { get; init; }

    /// <summary>Where the tasks come from: a built-in suite, <c>builtin:touch-v1</c> (see <see cref="BuiltInSuites"/>).</summary>
    public string? Dataset { get; init; }

    /// <summary>Problems per step; each becomes one group of <see cref="Replicas"/> tasks.</summary>
    public int TasksPerStep { get; init; } = 8;

    /// <summary>Tasks per group: GSPO compares a problem's replicas with each other.</summary>
    public int Replicas { get; init; } = 8;

    /// <summary>Trainer steps (each turns one step's groups into one weight version).</summary>
    public int Steps { get; init; } = 20;

    /// <summary>Sequences per optimizer update.</summary>
    public int MinibatchSize { get; init; } = 32;

    /// <summary>PPO epochs: passes over a step's batch (the paper's 2).</summary>
    public int Epochs { get; init; } = 2;

    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Agent rounds per task.</summary>
    public int MaxRounds { get; init; } = 3;

    /// <summary>S: a trajectory sampled with a version older than the current one minus S is not trained on; 0 is synchronous on-policy training.</summary>
    public int Staleness { get; init; }

    /// <summary>Sampling temperature of the rollouts.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>A group waits this long after its first trajectory for the rest, then trains with those present.</summary>
    public double GroupDeadlineSeconds { get; init; } = 120;

    /// <summary>Held-out problems per evaluation (0: no evaluation).</summary>
    public int EvalTasks { get; init; } = 12;

    /// <summary>Samples per held-out problem: pass@1 is their mean, pass@k the chance that one of k succeeds.</summary>
    public int EvalReplicas { get; init; } = 4;

    /// <summary>Evaluate before the first step and after every this many steps (and after the last).</summary>
    public int EvalEvery { get; init; } = 5;

    /// <summary>Environment image (the local-process provider ignores it; Docker runs it).</summary>
    public string? Image { get; init; }

    /// <summary>The scheduler quota the rollouts run under (null: none); evaluation tasks use <see cref="EvalQuota"/>.</summary>
    public string? Quota { get; init; }

    public string? EvalQuota { get; init; }

    public int Seed { get; init; }

    /// <summary>Tasks of one step, all replicas.</summary>
    [JsonIgnore] public int TasksInStep => TasksPerStep * Replicas;
}

/// <summary>The suites built into the system (tasks generated, not read from a file).</summary>
public static class BuiltInSuites
{
    public const string Prefix = "builtin:";

    /// <summary>"Create the file the ticket names": see <c>TouchSuite</c> in the trainer; the random policy's and the optimal rewards are documented there.</summary>
    public const string Touch = "builtin:touch-v1";

    public static IReadOnlyList<string> Names { get; } = [Touch];
}

/// <summary>Checks an <see cref="ExperimentSpec"/>; each error names the field (camelCase, as in JSON).</summary>
public static class ExperimentSpecValidator
{
    public const int MaxIdLength = 64;

    public static IReadOnlyList<ValidationError> Validate(ExperimentSpec? spec)
    {
        var errors = new List<ValidationError>();
        if (spec is null)
        {
            errors.Add(new("spec", "is missing"));
            return errors;
        }
        if (string.IsNullOrWhiteSpace(spec.Id))
            errors.Add(new("id", "is required"));
        else if (spec.Id.Length > MaxIdLength || !spec.Id.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
            errors.Add(new("id", $"'{spec.Id}' must be 1 to {MaxIdLength} lowercase letters, digits or '-' (it prefixes task ids)"));
        if (string.IsNullOrWhiteSpace(spec.Dataset))
            errors.Add(new("dataset", $"is required (one of {string.Join(", ", BuiltInSuites.Names)})"));
        else if (!BuiltInSuites.Names.Contains(spec.Dataset, StringComparer.Ordinal))
            errors.Add(new("dataset", $"unknown dataset '{spec.Dataset}' (known: {string.Join(", ", BuiltInSuites.Names)})"));
        Range(errors, "tasksPerStep", spec.TasksPerStep, 1, 4096);
        Range(errors, "replicas", spec.Replicas, 2, 1024, "GSPO needs at least 2 replicas to compare");
        Range(errors, "steps", spec.Steps, 1, 1_000_000);
        Range(errors, "minibatchSize", spec.MinibatchSize, 1, 65_536);
        Range(errors, "epochs", spec.Epochs, 1, 100);
        Range(errors, "maxRounds", spec.MaxRounds, 1, 1000);
        Range(errors, "staleness", spec.Staleness, 0, 1000);
        Range(errors, "evalTasks", spec.EvalTasks, 0, 4096);
        Range(errors, "evalReplicas", spec.EvalReplicas, 1, 1024);
        Range(errors, "evalEvery", spec.EvalEvery, 1, 1_000_000);
        if (!(spec.LearningRate > 0 && spec.LearningRate < 1))
            errors.Add(new("learningRate", $"must be in (0, 1) (got {spec.LearningRate})"));
        if (!(spec.Temperature > 0 && spec.Temperature <= 2))
            errors.Add(new("temperature", $"must be in (0, 2] (got {spec.Temperature}); rollouts must sample"));
        if (!(spec.GroupDeadlineSeconds > 0 && double.IsFinite(spec.GroupDeadlineSeconds)))
            errors.Add(new("groupDeadlineSeconds", $"must be a positive number of seconds (got {spec.GroupDeadlineSeconds})"));
        if (spec.Quota is not null && Scheduling.QuotaNames.Problem(spec.Quota) is { } quota)
            errors.Add(new("quota", quota));
        if (spec.EvalQuota is not null && Scheduling.QuotaNames.Problem(spec.EvalQuota) is { } evalQuota)
            errors.Add(new("evalQuota", evalQuota));
        if (spec.Image is not null && string.IsNullOrWhiteSpace(spec.Image))
            errors.Add(new("image", "is empty (leave it out for the default)"));
        return errors;
    }

    private static void Range(List<ValidationError> errors, string field, int value, int min, int max, string? why = null)
    {
        if (value < min || value > max)
            errors.Add(new(field, $"must be between {min} and {max} (got {value}){(why is null ? "" : ": " + why)}"));
    }
}

/// <summary>Messages to the trainer (a cluster singleton on the <c>trainer</c> role).</summary>
public static class TrainerProtocol
{
    /// <summary>Starts (or, for a known id with the same spec, resumes) an experiment; answered with <see cref="ExperimentAccepted"/> or <see cref="ExperimentRejected"/>.</summary>
    public sealed record StartExperiment(ExperimentSpec Spec) : IMegaFlowMessage;

    public sealed record ExperimentAccepted(string Id, bool AlreadyKnown) : IMegaFlowMessage;

    /// <summary>Nothing started: the spec's errors, or why the trainer cannot take it now.</summary>
    public sealed record ExperimentRejected(string Id, IReadOnlyList<ValidationError> Errors) : IMegaFlowMessage;

    /// <summary>Answered with <see cref="ExperimentReport"/> (or <see cref="ExperimentRejected"/> for an unknown id).</summary>
    public sealed record GetExperiment(string Id) : IMegaFlowMessage;

    /// <summary>Answered with <see cref="ExperimentList"/>.</summary>
    public sealed record ListExperiments : IMegaFlowMessage
    {
        public static readonly ListExperiments Instance = new();
    }

    public sealed record ExperimentList(IReadOnlyList<ExperimentReport> Experiments) : IMegaFlowMessage;

    /// <summary>
    /// Stops (true) or restarts (false) the trainer taking trajectories: the stream's demand stops, so
    /// workers keep their finished attempts in the journal, not in memory. Answered with the report.
    /// </summary>
    public sealed record PauseIntake(string Id, bool Paused) : IMegaFlowMessage;
}

/// <summary>What an experiment has done so far (the trainer's journal, folded).</summary>
public sealed record ExperimentReport(
    string Id,
    string Status,
    ExperimentSpec Spec,
    long StartVersion,
    long Version,
    int StepsAdmitted,
    IReadOnlyList<StepReport> Steps,
    IReadOnlyList<EvaluationReport> Evaluations,
    int PendingTrajectories,
    bool IntakePaused,
    string? Error) : IMegaFlowMessage;

/// <summary>
/// One trainer step: the version its samples came from and the one it produced, what was trained,
/// dropped as stale or excluded as infrastructure failures, and where the time went.
/// <paramref name="FirstRatioDeviation"/>: the largest |s − 1| of the step's first update, ~0 when the
/// trainer's recomputed log-probs match the sampler's (on-policy samples).
/// </summary>
public sealed record StepReport(
    int Step,
    long SampledVersionMin,
    long SampledVersionMax,
    long Version,
    double MeanReward,
    double Pass1,
    long Tokens,
    int Trained,
    int Stale,
    int InfraExcluded,
    int GroupsTrained,
    int GroupsSkipped,
    double RolloutSeconds,
    double WaitSeconds,
    double TrainSeconds,
    double SyncSeconds,
    double Loss,
    double ClipFraction,
    double FirstRatioDeviation);

/// <summary>An evaluation on held-out tasks with the weights of <paramref name="Version"/>, after <paramref name="AfterStep"/> steps.</summary>
public sealed record EvaluationReport(int Round, int AfterStep, long Version, int Problems, int Samples, int K, double Pass1, double PassK, int InfraExcluded);

/// <summary>The experiment statuses <see cref="ExperimentReport.Status"/> takes.</summary>
public static class ExperimentStatuses
{
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
}
