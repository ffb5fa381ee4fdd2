using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Akka.Streams;
using Akka.Streams.Dsl;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Contracts.Training;
using MegaFlow.Domain.Training;
using MegaFlow.Model.Weights;
using MegaFlow.Protocol.Tasks;
using MegaFlow.Storage;
using MegaFlow.Training;
using static MegaFlow.Contracts.Training.TrainerProtocol;
using static MegaFlow.Contracts.Training.ExperimentEvents;

namespace MegaFlow.Trainer;

/// <summary>What an experiment actor needs from its node.</summary>
/// <param name="Tasks">The task region (or proxy): where rollouts are submitted.</param>
/// <param name="FindTrajectories">A worker's trajectory provider, or null when no worker is up yet.</param>
public sealed record TrainerParts(TrainerSettings Settings, IArtifactStore Artifacts, IActorRef Tasks, Func<ActorSelection?> FindTrajectories, WeightPublisher Publisher);

/// <summary>
/// One experiment, event-sourced (persistence id <c>experiment-{id}</c>): the driver that admits steps
/// and evaluations within the staleness bound, the intake that takes the experiment's trajectories
/// from a worker's stream with backpressure, and the GSPO trainer.
/// <para><b>Exactly-once training over at-least-once delivery.</b> The stream starts after the
/// journal position every earlier trajectory was taken below (the watermark) and re-delivers anything
/// after it; the journal's events list every id taken, so a re-delivered id is dropped. A step's event
/// is written only after its weights and optimizer checkpoint are saved and the model nodes serve
/// them: a crash before that trains the step again from the previous version, and the ids were never
/// recorded as trained.</para>
/// <para>TorchSharp work (loading, a step) runs on the thread pool and reports back as a message; one
/// at a time, because the trainer is not thread-safe. The intake keeps acknowledging meanwhile: what
/// it holds is bounded by the admitted steps' tasks.</para>
/// </summary>
public sealed class ExperimentActor : ReceivePersistentActor, IWithTimers
{
    private readonly string _id;
    private readonly ExperimentSpec? _requested;
    private readonly TrainerParts _parts;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private ExperimentState? _state;
    private GspoTrainer? _trainer;
    private TrainingBuffer? _buffer;
    private readonly Dictionary<int, StepIntake> _steps = [];
    private readonly Dictionary<int, List<Trajectory>> _evaluations = [];
    private readonly List<IActorRef> _waitingForStart = [];
    private bool _busy;
    private bool _paused;
    private IActorRef? _heldAck;
    private int _stream;

    public ExperimentActor(string id, ExperimentSpec? requested, TrainerParts parts)
    {
        _id = id;
        _requested = requested;
        _parts = parts;
        Recover<ExperimentStarted>(e => _state = ExperimentState.Start(e));
        Recover<IExperimentEvent>(e => _state = _state?.Apply(e));
        Command<Booted>(OnBooted);
        Command<BootFailed>(f => Fail($"the trainer could not load model '{_parts.Settings.Model}': {f.Reason}"));
        Command<StartExperiment>(OnStart);
        Command<GetExperiment>(_ => Sender.Tell(Report()));
        Command<PauseIntake>(OnPause);
        Command<Tick>(_ => Advance());
        Command<Submitted>(OnSubmitted);
        Command<StreamOffered>(OnStreamOffered);
        Command<StreamInit>(_ => Sender.Tell(StreamAck.Instance));
        Command<Trajectory>(OnTrajectory);
        Command<StreamEnded>(e =>
        {
            if (e.Stream != _stream) return;
            _log.Warning("experiment {0}: trajectory stream ended ({1}); asking a worker again in 2 s", _id, e.Reason);
            Timers.StartSingleTimer("connect", Connect.Instance, TimeSpan.FromSeconds(2));
        });
        Command<Connect>(_ => RequestStream());
        Command<StreamRequestFailed>(f =>
        {
            if (f.Stream != _stream) return;
            _log.Warning("experiment {0}: no trajectory stream yet ({1}); trying again in 2 s", _id, f.Reason);
            Timers.StartSingleTimer("connect", Connect.Instance, TimeSpan.FromSeconds(2));
        });
        Command<StepComputed>(OnStepComputed);
        Command<StepFailed>(f => Fail(f.Reason));
        Command<StepDone>(OnStepDone);
        Command<WeightsServed>(_ => { _busy = false; Drive(); });
        Recover<RecoveryCompleted>(_ => Boot());
    }

    public override string PersistenceId => $"experiment-{_id}";

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string id, ExperimentSpec? requested, TrainerParts parts) =>
        Akka.Actor.Props.Create(() => new ExperimentActor(id, requested, parts));

    private void Boot()
    {
        if (_state is null && _requested is null)
        {
            // Asked about an experiment that never started: nothing to run.
            Context.Stop(Self);
            return;
        }
        if (_state?.IsOver == true) return;
        _busy = true;
        var store = new WeightStore(_parts.Artifacts);
        var settings = _parts.Settings;
        var options = Options((_state?.Spec ?? _requested)!);
        var version = _state?.Version;
        Task.Run(async () =>
        {
            if (version is null)
                (await store.LoadOrInitializeAsync(settings.Model, settings.InitialConfig, settings.Seed, settings.Device)).Dispose();
            return await GspoTrainer.ResumeAsync(store, _parts.Artifacts, settings.Model, options, settings.Device, version);
        }).PipeTo(Self, success: t => new Booted(t), failure: e => new BootFailed(Innermost(e)));
    }

    private static GspoOptions Options(ExperimentSpec spec) => new()
    {
        MinibatchSize = spec.MinibatchSize,
        PpoEpochs = spec.Epochs,
        LearningRate = spec.LearningRate,
        // Usual in RL: AdamW's step follows the gradient's scale, which jumps when a rare answer carries a large advantage.
        Beta2 = 0.99,
        Seed = spec.Seed,
    };

    private void OnBooted(Booted b)
    {
        _trainer = b.Trainer;
        if (_state is null)
        {
            Persist(new ExperimentStarted(_requested!, b.Trainer.Version, DateTimeOffset.UtcNow), e =>
            {
                _state = ExperimentState.Start(e);
                foreach (var waiting in _waitingForStart) waiting.Tell(new ExperimentAccepted(_id, AlreadyKnown: false));
                _waitingForStart.Clear();
                Begin();
            });
            return;
        }
        foreach (var waiting in _waitingForStart) waiting.Tell(new ExperimentAccepted(_id, AlreadyKnown: true));
        _waitingForStart.Clear();
        Begin();
    }

    private void Begin()
    {
        var state = _state!;
        _buffer = new TrainingBuffer(new TrainingBufferSettings(state.Spec.Replicas, TimeSpan.FromSeconds(state.Spec.GroupDeadlineSeconds), state.Spec.Staleness));
        _buffer.MarkConsumed(state.Consumed, state.Watermark);
        _log.Info("experiment {0}: at step {1} of {2}, weights v{3}; taking trajectories after journal position {4}",
            _id, state.Steps.Count, state.Spec.Steps, state.Version, state.Watermark);
        // Steps and evaluations admitted before a restart may not all have been submitted: ids are idempotent.
        for (var step = state.Steps.Count; step < state.StepsAdmitted; step++)
            Submit(state.RolloutTasks(step).ToList());
        foreach (var (round, _, _) in state.EvaluationsAdmitted.Skip(state.Evaluations.Count))
            Submit(state.EvaluationTasks(round).ToList());
        Timers.StartPeriodicTimer("tick", Tick.Instance, TimeSpan.FromSeconds(1));
        RequestStream();
        // The model nodes may hold a version this journal never recorded (a crash between a save and its event): serve ours.
        SyncWeights(state.Version);
    }

    private void OnStart(StartExperiment m)
    {
        if (_state is null)
        {
            _waitingForStart.Add(Sender);
            return;
        }
        if (_state.Spec != m.Spec)
        {
            Sender.Tell(new ExperimentRejected(_id, [new("id", $"experiment '{_id}' exists with another spec; choose a new id to start another")]));
            return;
        }
        Sender.Tell(new ExperimentAccepted(_id, AlreadyKnown: true));
    }

    private void OnPause(PauseIntake m)
    {
        _paused = m.Paused;
        if (!_paused && _heldAck is not null)
        {
            _heldAck.Tell(StreamAck.Instance);
            _heldAck = null;
        }
        Sender.Tell(Report());
    }

    private ExperimentReport Report() =>
        _state?.Report(_buffer?.Pending ?? 0, _paused)
        ?? new ExperimentReport(_id, ExperimentStatuses.Running, _requested!, 0, 0, 0, [], [], 0, _paused, null);

    // ---- driving: admit what the staleness bound allows ----------------------------------------

    private void Drive()
    {
        if (_state is null || _state.IsOver || _trainer is null || _busy) return;
        if (_state.IsDone)
        {
            Persist(new ExperimentFinished(ExperimentStatuses.Completed, null, DateTimeOffset.UtcNow), e =>
            {
                _state = _state.Apply(e);
                _log.Info("experiment {0}: completed at weights v{1}", _id, _state.Version);
                Timers.CancelAll();
            });
            return;
        }
        if (_state.NextEvaluation is { } evaluation)
        {
            Persist(new EvaluationAdmitted(evaluation.Round, evaluation.AfterStep, _state.Version, DateTimeOffset.UtcNow), e =>
            {
                _state = _state.Apply(e);
                Submit(_state.EvaluationTasks(e.Round).ToList());
                Drive();
            });
            return;
        }
        if (_state.NextStep is { } step)
        {
            Persist(new StepAdmitted(step, DateTimeOffset.UtcNow), e =>
            {
                _state = _state.Apply(e);
                Submit(_state.RolloutTasks(e.Step).ToList());
                Drive();
            });
            return;
        }
        Advance();
    }

    private void Submit(IReadOnlyList<TaskSpec> specs)
    {
        var tasks = _parts.Tasks;
        Task.Run(async () =>
        {
            var replies = await Task.WhenAll(specs.Select(s => TaskGateway.SubmitAsync(tasks, s, TimeSpan.FromSeconds(60))));
            return new Submitted(specs.Count, replies.OfType<TaskProtocol.SubmitRejected>().Select(r => r.ToString()).ToList());
        }).PipeTo(Self, failure: e => new Submitted(specs.Count, [Innermost(e)]));
    }

    private void OnSubmitted(Submitted s)
    {
        // A rejected rollout is a bug in the suite (its specs are generated): stop, naming it.
        if (s.Rejected.Count > 0) Fail($"{s.Rejected.Count} of {s.Count} tasks were not accepted: {s.Rejected[0]}");
    }

    // ---- intake: the experiment's trajectories from a worker's stream ---------------------------

    private void RequestStream()
    {
        var stream = ++_stream;
        if (_parts.FindTrajectories() is not { } provider)
        {
            Self.Tell(new StreamRequestFailed(stream, "no worker node is up"));
            return;
        }
        provider.Ask<ISourceRef<Trajectory>>(new RequestTrajectories(Watermark(), ExperimentNames.TaskPrefix(_id)), TimeSpan.FromSeconds(20))
            .PipeTo(Self, success: r => new StreamOffered(stream, r), failure: e => new StreamRequestFailed(stream, Innermost(e)));
    }

    private void OnStreamOffered(StreamOffered offered)
    {
        if (offered.Stream != _stream) return;
        var stream = offered.Stream;
        offered.Source.Source.RunWith(
            Sink.ActorRefWithAck<Trajectory>(Self, StreamInit.Instance, StreamAck.Instance, new StreamEnded(stream, "completed"), e => new StreamEnded(stream, Innermost(e))),
            Context.Materializer());
    }

    private void OnTrajectory(Trajectory t)
    {
        if (_paused)
        {
            // No ack: no demand reaches the worker, whose journal query stops reading (its memory stays flat).
            _heldAck = Sender;
            Take(t);
            return;
        }
        Sender.Tell(StreamAck.Instance);
        Take(t);
    }

    private void Take(Trajectory t)
    {
        if (_state is null || _buffer is null || _state.Consumed.Contains(t.Id)) return;
        switch (ExperimentNames.Parse(_id, t.Group))
        {
            case (true, var step):
                var intake = Intake(step);
                if (step < _state.Steps.Count)
                {
                    // Its step was trained without it (past the deadline): taken, counted, never trained.
                    if (intake.Late.Add(t.Id)) PersistDropped([t], "late");
                    return;
                }
                var offered = _buffer.Offer(t, _trainer?.Version ?? _state.Version, DateTimeOffset.UtcNow);
                if (offered == Offered.Duplicate) return;
                intake.Arrived(t, offered == Offered.Stale);
                break;
            case (false, var round):
                var list = _evaluations.TryGetValue(round, out var l) ? l : _evaluations[round] = [];
                if (list.Exists(x => x.Id == t.Id) || _state.Evaluations.Any(e => e.Round == round)) return;
                list.Add(t);
                break;
        }
        Advance();
    }

    private StepIntake Intake(int step) => _steps.TryGetValue(step, out var i) ? i : _steps[step] = new StepIntake();

    private void PersistDropped(IReadOnlyList<Trajectory> dropped, string reason) =>
        Persist(new TrajectoriesDropped([.. dropped.Select(t => t.Id)], reason, Watermark()), e => _state = _state!.Apply(e));

    /// <summary>The journal position below which every trajectory of this experiment is taken for good and recorded.</summary>
    private long Watermark()
    {
        var watermark = Math.Max(_buffer?.Watermark ?? 0, _state?.Watermark ?? 0);
        // Taken but not yet in the journal: stale rollouts of untrained steps, evaluations not yet scored.
        var held = _steps.Values.SelectMany(s => s.StaleTrajectories).Concat(_evaluations.Values.SelectMany(l => l)).Select(t => t.Position - 1);
        var pending = _buffer is { Pending: > 0 } ? _buffer.Watermark : long.MaxValue;
        return Math.Min(Math.Min(watermark, pending), held.DefaultIfEmpty(long.MaxValue).Min());
    }

    // ---- training: a step once all its tasks reported (or its deadline passed) ------------------

    private void Advance()
    {
        if (_state is null || _trainer is null || _state.IsOver) return;
        ScoreEvaluations();
        if (_busy) return;
        var step = _state.Steps.Count;
        if (step >= _state.StepsAdmitted) return;
        var intake = Intake(step);
        var now = DateTimeOffset.UtcNow;
        var all = intake.Count >= _state.Spec.TasksInStep;
        if (!all && !(intake.First is { } first && now - first >= TimeSpan.FromSeconds(_state.Spec.GroupDeadlineSeconds))) return;
        intake.ReadyAt ??= now;

        var groups = _buffer!.Take(g => ExperimentNames.Parse(_id, g) == (true, step));
        var version = _trainer.Version;
        // Checked again now: a sample fresh on arrival may have aged while the step waited.
        var trainable = groups.SelectMany(g => g.Trainable).ToList();
        var stale = intake.StaleTrajectories.Concat(trainable.Where(t => _buffer.IsStale(t, version))).ToList();
        trainable = trainable.Except(stale).ToList();
        var infra = groups.SelectMany(g => g.InfrastructureFailures).ToList();
        var samples = trainable.SelectMany(TrajectorySamples.From).Concat(infra.SelectMany(TrajectorySamples.From)).ToList();
        var scored = trainable.Where(t => t.Outcome != "cancelled").ToList();
        _busy = true;
        var trainer = _trainer;
        var artifacts = _parts.Artifacts;
        var waited = now - intake.ReadyAt.Value;
        Task.Run(async () =>
        {
            var clock = Stopwatch.StartNew();
            var stats = await trainer.StepAsync(samples);
            if (stats.Updated) await trainer.SaveCheckpointAsync(artifacts);
            return new StepComputed(step, stats, trainable, stale, infra, scored, clock.Elapsed, waited);
        }).PipeTo(Self, failure: e => new StepFailed($"step {step} failed in the trainer: {Innermost(e)}"));
    }

    private void OnStepComputed(StepComputed c)
    {
        var state = _state!;
        var intake = Intake(c.Step);
        var sync = Stopwatch.StartNew();
        var version = c.Stats.Version;
        var publish = c.Stats.Updated ? _parts.Publisher.PublishAsync(version, CancellationToken.None) : Task.CompletedTask;
        // Trained: what entered the loss. A group left with fewer than 2 scored members is unused.
        var trainedGroups = c.Trainable.GroupBy(t => t.Group).Where(g => g.Count() >= 2).SelectMany(g => g).ToList();
        var unused = c.Trainable.Except(trainedGroups).ToList();
        var versions = c.Trainable.SelectMany(t => t.Turns).Select(turn => turn.WeightVersion ?? 0).DefaultIfEmpty(state.Version).ToList();
        publish.ContinueWith(p =>
        {
            if (p.IsFaulted) return (object)new StepFailed($"step {c.Step}: {Innermost(p.Exception!)}");
            var admitted = state.AdmittedAt.Count > c.Step ? state.AdmittedAt[c.Step] : DateTimeOffset.UtcNow;
            var report = new StepReport(c.Step, versions.Min(), versions.Max(), version,
                c.Scored.Count > 0 ? c.Scored.Average(t => t.Reward ?? 0) : 0,
                c.Scored.Count > 0 ? c.Scored.Count(t => t.Reward >= 1) / (double)c.Scored.Count : 0,
                c.Stats.Tokens, trainedGroups.Count, c.Stale.Count, c.Infra.Count, c.Stats.GroupsTrained, c.Stats.GroupsSkipped,
                ((intake.ReadyAt ?? DateTimeOffset.UtcNow) - admitted).TotalSeconds, c.Waited.TotalSeconds, c.Elapsed.TotalSeconds, sync.Elapsed.TotalSeconds,
                c.Stats.MeanLoss, c.Stats.ClipFraction, c.Stats.FirstUpdateMaxRatioDeviation);
            return new StepDone(report, c, unused);
        }, TaskScheduler.Default).PipeTo(Self);
    }

    private void OnStepDone(StepDone done)
    {
        var c = done.Computed;
        Persist(new StepTrained(done.Report, [.. c.Trainable.Except(done.Unused).Select(t => t.Id)], [.. c.Stale.Select(t => t.Id)],
            [.. c.Infra.Select(t => t.Id)], [.. done.Unused.Select(t => t.Id)], Watermark(), DateTimeOffset.UtcNow), e =>
        {
            _state = _state!.Apply(e);
            _steps.Remove(c.Step);
            _log.Info($"experiment {_id}: step {c.Step} trained -> v{e.Report.Version}, reward {e.Report.MeanReward:F3}, " +
                      $"{e.Trained.Count} trained / {e.Stale.Count} stale / {e.InfraExcluded.Count} infra");
            _busy = false;
            Drive();
        });
    }

    private void ScoreEvaluations()
    {
        var state = _state!;
        foreach (var (round, afterStep, version) in state.EvaluationsAdmitted)
        {
            if (state.Evaluations.Any(e => e.Round == round) || !_evaluations.TryGetValue(round, out var arrived)) continue;
            var expected = state.Spec.EvalTasks * state.Spec.EvalReplicas;
            if (arrived.Count < expected) continue;
            var infra = arrived.Count(t => t.IsInfrastructureFailure || t.Outcome == "cancelled");
            var problems = arrived.Where(t => !t.IsInfrastructureFailure && t.Outcome != "cancelled").GroupBy(t => t.Group).ToList();
            var k = state.Spec.EvalReplicas;
            var pass1 = problems.Count == 0 ? 0 : problems.Average(g => g.Count(t => t.Reward >= 1) / (double)g.Count());
            var passK = problems.Count == 0 ? 0 : problems.Average(g => PassAtK.Estimate(g.Count(), g.Count(t => t.Reward >= 1), Math.Min(k, g.Count())));
            var report = new EvaluationReport(round, afterStep, version, problems.Count, arrived.Count - infra, k, pass1, passK, infra);
            var ids = arrived.Select(t => t.Id).ToList();
            _evaluations.Remove(round);
            Persist(new EvaluationScored(report, ids, Watermark()), e =>
            {
                _state = _state!.Apply(e);
                _log.Info($"experiment {_id}: evaluation {round} after step {afterStep} (v{version}): pass@1 {pass1:F3}, pass@{k} {passK:F3}");
                Drive();
            });
        }
    }

    private void SyncWeights(long version)
    {
        _busy = true;
        _parts.Publisher.PublishAsync(version, CancellationToken.None)
            .PipeTo(Self, success: () => WeightsServed.Instance, failure: e => new StepFailed($"weights v{version}: {Innermost(e)}"));
    }

    private void Fail(string reason)
    {
        _log.Error("experiment {0} failed: {1}", _id, reason);
        _busy = false;
        if (_state is null)
        {
            foreach (var waiting in _waitingForStart) waiting.Tell(new ExperimentRejected(_id, [new("trainer", reason)]));
            _waitingForStart.Clear();
            Context.Stop(Self);
            return;
        }
        if (_state.IsOver) return;
        Persist(new ExperimentFinished(ExperimentStatuses.Failed, reason, DateTimeOffset.UtcNow), e =>
        {
            _state = _state.Apply(e);
            Timers.CancelAll();
        });
    }

    protected override void PostStop()
    {
        _trainer?.Dispose();
        base.PostStop();
    }

    private static string Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e.Message;
    }

    /// <summary>What has arrived of one step's tasks.</summary>
    private sealed class StepIntake
    {
        public DateTimeOffset? First { get; private set; }

        public DateTimeOffset? ReadyAt { get; set; }

        public int Count { get; private set; }

        public List<Trajectory> StaleTrajectories { get; } = [];

        public HashSet<string> Late { get; } = new(StringComparer.Ordinal);

        public void Arrived(Trajectory t, bool stale)
        {
            First ??= DateTimeOffset.UtcNow;
            Count++;
            if (stale) StaleTrajectories.Add(t);
        }
    }

    private sealed record Booted(GspoTrainer Trainer);

    private sealed record BootFailed(string Reason);

    private sealed record Submitted(int Count, IReadOnlyList<string> Rejected);

    private sealed record StreamOffered(int Stream, ISourceRef<Trajectory> Source);

    private sealed record StreamRequestFailed(int Stream, string Reason);

    private sealed record StreamEnded(int Stream, string Reason);

    private sealed record StepComputed(int Step, GspoStepStats Stats, IReadOnlyList<Trajectory> Trainable, IReadOnlyList<Trajectory> Stale,
        IReadOnlyList<Trajectory> Infra, IReadOnlyList<Trajectory> Scored, TimeSpan Elapsed, TimeSpan Waited);

    private sealed record StepDone(StepReport Report, StepComputed Computed, IReadOnlyList<Trajectory> Unused);

    private sealed record StepFailed(string Reason);

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }

    private sealed class Connect
    {
        public static readonly Connect Instance = new();
    }

    private sealed class StreamInit
    {
        public static readonly StreamInit Instance = new();
    }

    private sealed class StreamAck
    {
        public static readonly StreamAck Instance = new();
    }

    private sealed class WeightsServed
    {
        public static readonly WeightsServed Instance = new();
    }
}
