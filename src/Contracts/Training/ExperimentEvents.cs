namespace MegaFlow.Contracts.Training;

/// <summary>Journal events of an experiment (the trainer's own journal: what it admitted, trained and dropped).</summary>
public static class ExperimentEvents
{
    public interface IExperimentEvent : IMegaFlowMessage;

    /// <param name="StartVersion">The weight version training starts from (the latest in the store when the experiment began).</param>
    public sealed record ExperimentStarted(ExperimentSpec Spec, long StartVersion, DateTimeOffset At) : IExperimentEvent;

    /// <summary>Step <paramref name="Step"/>'s tasks are about to be submitted (idempotent ids: a restart submits them again harmlessly).</summary>
    public sealed record StepAdmitted(int Step, DateTimeOffset At) : IExperimentEvent;

    public sealed record EvaluationAdmitted(int Round, int AfterStep, long Version, DateTimeOffset At) : IExperimentEvent;

    /// <summary>
    /// A step is over: its weights are saved as <see cref="StepReport.Version"/> with the optimizer's
    /// checkpoint. Every trajectory id appears in exactly one event of this journal, once: trained
    /// (entered the loss), stale, infrastructure-excluded, or unused (a group with nothing to compare).
    /// <paramref name="Watermark"/>: the journal position below which every trajectory has been taken.
    /// </summary>
    public sealed record StepTrained(StepReport Report, IReadOnlyList<string> Trained, IReadOnlyList<string> Stale,
        IReadOnlyList<string> InfraExcluded, IReadOnlyList<string> Unused, long Watermark, DateTimeOffset At) : IExperimentEvent;

    public sealed record EvaluationScored(EvaluationReport Report, IReadOnlyList<string> Consumed, long Watermark) : IExperimentEvent;

    /// <summary>Trajectories that came after their step was trained (past its group deadline): taken, never trained.</summary>
    public sealed record TrajectoriesDropped(IReadOnlyList<string> Ids, string Reason, long Watermark) : IExperimentEvent;

    public sealed record ExperimentFinished(string Status, string? Error, DateTimeOffset At) : IExperimentEvent;

    /// <summary>The trainer singleton's own journal: an experiment exists (it resumes after a failover unless over).</summary>
    public sealed record ExperimentRegistered(string Id) : IMegaFlowMessage;
}

