using System.Collections.Immutable;
using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Environments;
using MegaFlow.Contracts;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Contracts.Training;
using MegaFlow.Domain.Tasks;

namespace MegaFlow.Actors.Tests.Serialization;

/// <summary>
/// One realistic instance of every protocol type, with every optional field set and nested data
/// filled, so a round trip exercises the whole shape. A test fails when a manifest has no sample.
/// </summary>
public static class ProtocolSamples
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 14, 9, 26, 53, 589, TimeSpan.FromHours(2));
    private static DateTimeOffset At(double seconds) => T0.AddSeconds(seconds);

    public const string TaskId = "task-swe-0042";
    public const string EnvId = "env-7f3a9c0e5b2d4e1f8a6b3c2d1e0f9a8b@node-b:4053";

    public static readonly TaskSpec Spec = new()
    {
        TaskId = TaskId,
        Mode = "persistent",
        Image = "python:3.12",
        Pool = "py312",
        Quota = "train",
        Actions = ["git apply /patches/fix.diff", "pytest -x tests/test_parser.py", "echo \"done\" > /tmp/ü.txt"],
        ScoreCommand = "pytest tests/ -q",
        MaxRounds = 7,
        SetupTimeoutSeconds = 90.5,
        RunTimeoutSeconds = 300,
        ScoringTimeoutSeconds = 45,
        ExecTimeoutSeconds = 12.25,
        MaxInfraRetries = 3,
        Agent = new AgentSpec
        {
            Kind = AgentKinds.Model, Endpoint = "http://vllm.internal:8000/v1", Model = "coder-7b", ApiKeyEnv = "VLLM_API_KEY",
            Template = "swe-v1", Temperature = 0.7, MaxTokens = 2048, Command = "python3 agent.py --max-steps 20",
        },
        Metadata = new Dictionary<string, string>
        {
            ["dataset"] = "swe-bench-lite",
            ["problem"] = "Fix the off-by-one in the tokenizer.\nSee issue #17.",
            ["group"] = "g-3",
        },
    };

    public static readonly Lease SchedLease = new(
        TaskId, Attempt: 2, LeaseId: "lease-19", Pool: "py312", Mode: ExecutionMode.Persistent, EnvironmentId: EnvId,
        Node: "node-b:4053", Starting: true, Reused: false, Seq: 1042, EnqueuedAt: At(1), AdmittedAt: At(2.5), Quota: "train");

    public static readonly Lease TaskLease = SchedLease with { Starting = false, Reused = true };

    public static readonly Step Step1 = new(1, "git apply /patches/fix.diff", 0, "Applied patch cleanly.\n", false, false, At(10), 153.75, "/data/artifacts/task-swe-0042/1/1.out");
    public static readonly Step Step2 = new(2, "pytest -x tests/test_parser.py", 1, "E   AssertionError: 3 != 4\n", true, true, At(11), 60000, "/data/artifacts/task-swe-0042/1/2.out");

    public static readonly Score Score = new(0, "42 passed in 1.93s", 1.0);

    public static readonly ModelCall Call = new(2, "/data/artifacts/task-swe-0042/attempt-2/model-calls/round-002-0193a1.json", "chat/completions",
        "coder-7b", "http://vllm.internal:8000/v1/", 12, 1834, 57, 412.125, 502, "HTTP 502 from http://vllm.internal:8000/v1/", At(12));

    public static readonly Trajectory Trajectory = new(TaskId, 2, "g-3", 1, "failed", 0.5, FailureKind.Agent,
        [new TrajectoryTurn(1, 12, [1, 2, 258], [104, 105, 258], [-0.25, -1.5, -0.0625], 200, ["hi", "submit"])], 4242);

    public static readonly EnvironmentSpec EnvSpec = new("python:3.12", "py312", ExecutionMode.Persistent, 2.5, 4L << 30, 256, "bridge", "task-swe-0042");
    public static readonly EnvironmentHandle Handle = new(EnvId, "local", "/data/envs/env-7f3a9c0e");

    public static readonly SchedulerSettings Settings = new()
    {
        MaxRunning = 128,
        MaxStarting = 16,
        SlotsPerNode = 32,
        DefaultPoolCap = int.MaxValue,
        PoolCaps = new Dictionary<string, int> { ["py312"] = 4, ["node:22"] = 2 },
        Quotas = new Dictionary<string, int> { ["train"] = 6, ["eval"] = 2 },
        MaxPoolSize = 6,
    };

    private static readonly ExperimentSpec Experiment = new()
    {
        Id = "exp", Dataset = BuiltInSuites.Touch, TasksPerStep = 4, Replicas = 6, Steps = 9, MinibatchSize = 12, Epochs = 3, LearningRate = 5e-4,
        MaxRounds = 2, Staleness = 1, Temperature = 0.9, GroupDeadlineSeconds = 30, EvalTasks = 5, EvalReplicas = 3, EvalEvery = 2,
        Image = "megaflow/base:1", Quota = "train", EvalQuota = "eval", Seed = 7,
    };

    private static readonly StepReport Step = new(2, 2, 3, 4, 0.625, 0.625, 912, 22, 1, 1, 4, 1, 3.5, 0.25, 6.75, 0.125, -0.0123, 0.375, 2.5e-7);

    private static readonly EvaluationReport Evaluation = new(1, 5, 8, 5, 14, 3, 0.6, 0.9, 1);

    private static readonly ExperimentReport Report = new("exp", ExperimentStatuses.Running, Experiment, 3, 5, 3, [Step], [Evaluation], 7, IntakePaused: true, "a note");

    public static IReadOnlyList<IMegaFlowMessage> All { get; } =
    [
        // task events
        new TaskEvents.Submitted(TaskId, Spec, At(0)),
        new TaskEvents.Queued(TaskId, 1, At(1)),
        new TaskEvents.Admitted(TaskId, 2, TaskLease, "node-a:4053", At(2)),
        new TaskEvents.RunStarted(TaskId, 2, At(3)),
        new TaskEvents.StepRecorded(TaskId, 2, Step2),
        new TaskEvents.ScoringStarted(TaskId, 2, At(20)),
        new TaskEvents.Completed(TaskId, 2, Score, At(25)),
        new TaskEvents.AttemptFailed(TaskId, 1, FailureKind.Infrastructure, "node node-c:4053 left the cluster", At(9)),
        new TaskEvents.Failed(TaskId, 3, FailureKind.Agent, "action 2 could not be executed", At(30)),
        new TaskEvents.TimedOut(TaskId, 2, TaskPhase.Scoring, At(31)),
        new TaskEvents.Cancelled(TaskId, 2, "user asked", At(32)),
        new TaskEvents.LeaseReleased(TaskId, 2, At(33)),
        new TaskEvents.ModelCallRecorded(TaskId, 2, Call),

        // task messages
        new TaskProtocol.SubmitTask(TaskId, Spec),
        new TaskProtocol.SubmitAccepted(TaskId, AlreadyKnown: true, TaskStatus.Running),
        new TaskProtocol.SubmitRejected(TaskId, [new ValidationError("image", "must not be empty"), new ValidationError("maxRounds", "must be positive (got 0)")]),
        new TaskProtocol.CancelTask(TaskId, "superseded by task-swe-0043"),
        new TaskProtocol.CancelAccepted(TaskId),
        new TaskProtocol.CancelRejected(TaskId, "task already Completed"),
        new TaskProtocol.GetTaskState(TaskId),
        new TaskProtocol.TaskStatusChanged(TaskId, TaskStatus.Scoring, 2, "node-a:4053", At(20)),
        new TaskProtocol.QueueConfirmed(TaskId, 2),
        new TaskProtocol.AdmitTask(TaskId, 2, SchedLease),
        new TaskProtocol.ReleaseConfirmed(TaskId, 2),
        new TaskProtocol.LeasedEnvironmentLost(TaskId, 2, "env-3f2a@node-a:4053", "container mf-env-3f2a died (exit code 137) without MegaFlow stopping it"),
        new TaskProtocol.CheckLease(TaskId, 2, EnvId),
        new TaskProtocol.LeaseHeld(TaskId, 2, EnvId, Holds: false),
        new TaskProtocol.AuthorizeModelCall(TaskId, 2, "mf-9dA_x-3kQ"),
        new TaskProtocol.ModelCallAllowed(TaskId, 2, 3, Spec.Agent!),
        new TaskProtocol.ModelCallRefused(TaskId, "attempt 1 is not the task's current attempt (2)"),
        new TaskProtocol.RecordModelCall(TaskId, 2, Call),
        Trajectory,
        new RequestTrajectories(4242, "exp-"),
        new ExperimentEvents.ExperimentStarted(Experiment, 3, At(1)),
        new ExperimentEvents.StepAdmitted(2, At(2)),
        new ExperimentEvents.EvaluationAdmitted(1, 5, 8, At(3)),
        new ExperimentEvents.StepTrained(Step, ["exp-s0002-p000-r00/1"], ["exp-s0002-p000-r01/1"], ["exp-s0002-p001-r02/1"], ["exp-s0002-p003-r00/1"], 4242, At(4)),
        new ExperimentEvents.EvaluationScored(Evaluation, ["exp-e001-p000-r00/1"], 4300),
        new ExperimentEvents.TrajectoriesDropped(["exp-s0001-p002-r03/1"], "late", 4400),
        new ExperimentEvents.ExperimentFinished(ExperimentStatuses.Failed, "model node http://m:8000/v1 refused weight version 9", At(6)),
        new ExperimentEvents.ExperimentRegistered("exp"),
        new TrainerProtocol.StartExperiment(Experiment),
        new TrainerProtocol.ExperimentAccepted("exp", AlreadyKnown: true),
        new TrainerProtocol.ExperimentRejected("exp", [new ValidationError("replicas", "must be between 2 and 1024 (got 1)")]),
        new TrainerProtocol.GetExperiment("exp"),
        TrainerProtocol.ListExperiments.Instance,
        new TrainerProtocol.ExperimentList([Report]),
        new TrainerProtocol.PauseIntake("exp", Paused: true),
        Report,
        new TaskProtocol.ListTasks(TaskStatus.Completed),
        new TaskListing(
            new Dictionary<TaskStatus, int> { [TaskStatus.Completed] = 2, [TaskStatus.Running] = 1 },
            [new TaskSummary(TaskId, TaskStatus.Completed, 2, "persistent", "py312", At(1), At(60), 1.0, FailureKind.Infrastructure, "node-a:4053", At(60), 9)]),
        new TaskProtocol.ReadTaskChanges([TaskId, "t-2"], 17, Subscribe: true),
        new TaskChanges("task-read-model-node-a:4053", 17, 21,
            [new TaskSummary(TaskId, TaskStatus.Failed, 2, "ephemeral", "py312", At(1), At(60), 0.0, FailureKind.Agent, "node-a:4053", At(60), 21)], ["t-2"]),
        new TaskReadModelSnapshot(4242, 21,
            [new TaskSummary(TaskId, TaskStatus.Completed, 1, "ephemeral", "py312", At(1), At(6), 0.5, FailureKind.Infrastructure, "node-a:4053", At(6), 20)]),
        new TaskState
        {
            TaskId = TaskId,
            Status = TaskStatus.TimedOut,
            Spec = Spec,
            Attempt = 2,
            Lease = TaskLease,
            Steps = [Step1, Step2],
            ModelCalls = [Call, Call with { Round = 3, Status = 200, Error = "record not saved: disk full" }],
            History =
            [
                new AttemptRecord(1, TaskLease with { LeaseId = "lease-7", Reused = false }, "AttemptFailed", "environment lost", 1, At(2), At(9)),
                new AttemptRecord(2, TaskLease, "TimedOut", "Scoring budget exhausted", 2, At(10), At(31)),
            ],
            Score = Score with { ExitCode = 1, Reward = 0.25 },
            FailureKind = FailureKind.Infrastructure,
            FailureReason = "scoring timed out",
            TimedOutPhase = TaskPhase.Scoring,
            PendingRelease = 2,
            SubmittedAt = At(0),
            QueuedAt = At(1),
            AdmittedAt = At(10),
            RunStartedAt = At(10.5),
            FinishedAt = At(31),
        },

        // scheduler events and snapshot
        new SchedulerEvents.Enqueued(TaskId, 2, "py312", ExecutionMode.Persistent, 1042, At(1), "python:3.12", "train"),
        new SchedulerEvents.Admitted(SchedLease),
        new SchedulerEvents.EnvironmentStarted(TaskId, 2),
        new SchedulerEvents.Released(TaskId, 2, Reusable: true, At(40)),
        new SchedulerEvents.NodeJoined("node-c:4053"),
        new SchedulerEvents.NodeLeft("node-c:4053"),
        new SchedulerEvents.EnvironmentRetired(EnvId, "py312"),
        new SchedulerSnapshot(
            Queue:
            [
                new QueueEntry("task-swe-0050", 1, "py312", ExecutionMode.Persistent, 1050, At(50), "python:3.12", "train"),
                new QueueEntry("task-swe-0051", 3, "node:22", ExecutionMode.Ephemeral, 1051, At(51), "node:22", "eval"),
            ],
            Leases: [SchedLease, SchedLease with { TaskId = "task-swe-0044", LeaseId = "lease-20", Starting = false, Reused = true, Seq = 1044 }],
            Idle: [new WarmEnvironment("env-1@node-a:4053", "node-a:4053", "py312"), new WarmEnvironment("env-2@node-b:4053", "node-b:4053", "py312")],
            PoolSizes: new Dictionary<string, int> { ["py312"] = 4, ["node:22"] = 1 },
            Nodes: ["node-a:4053", "node-b:4053"],
            NextSeq: 1052),

        // scheduler messages
        new SchedulerProtocol.EnqueueTask(TaskId, 2, "py312", ExecutionMode.Persistent, "python:3.12", "train"),
        new SchedulerProtocol.ReleaseTask(TaskId, 2, EnvironmentReusable: true),
        new SchedulerProtocol.EnvironmentStartFinished(TaskId, 2),
        new SchedulerProtocol.RetireEnvironment(EnvId),
        new SchedulerProtocol.CheckPooled(EnvId),
        new SchedulerProtocol.PoolListing(EnvId, Listed: true),
        SchedulerProtocol.GetSchedulerState.Instance,
        new SchedulerProtocol.QueueDepthChanged(17, 4, At(5)),
        new SchedulerProtocol.ReportNodeImages("10.0.0.7:4053", ["megaflow/base:1", "python:3.12"]),
        SchedulerProtocol.GetSchedulerLeases.Instance,
        SchedulerProtocol.DrainPools.Instance,
        new SchedulerProtocol.PoolsDrained([EnvId, "env-2@10.0.0.2:4053"]),
        new SchedulerProtocol.SchedulerLeases([SchedLease], new Dictionary<string, int> { ["py312"] = 3, ["node:22"] = 0 },
            new Dictionary<string, int> { ["train"] = 2, ["eval"] = 1 }),
        new SchedulerProtocol.SchedulerStatus(
            QueueDepth: 2,
            Running: 2,
            Starting: 1,
            RunningByPool: new Dictionary<string, int> { ["py312"] = 2 },
            RunningByNode: new Dictionary<string, int> { ["node-b:4053"] = 2 },
            IdleByPool: new Dictionary<string, int> { ["py312"] = 2 },
            PoolSizes: new Dictionary<string, int> { ["py312"] = 4, ["node:22"] = 1 },
            Nodes: ["node-a:4053", "node-b:4053"],
            Settings: Settings,
            RunningByQuota: new Dictionary<string, int> { ["train"] = 2 }),

        // environment events and state
        new EnvironmentEvents.Requested(EnvId, EnvSpec, TaskId, 2, At(2)),
        new EnvironmentEvents.Provisioned(EnvId, Handle, At(4)),
        new EnvironmentEvents.Leased(EnvId, "task-swe-0044", 1, At(41)),
        new EnvironmentEvents.ResetStarted(EnvId, At(38)),
        new EnvironmentEvents.ResetCompleted(EnvId, At(40)),
        new EnvironmentEvents.Destroyed(EnvId, "pool shrunk", At(90)),
        new EnvironmentEvents.Lost(EnvId, "node-b:4053 downed", At(95)),
        new EnvironmentState
        {
            EnvironmentId = EnvId,
            Status = EnvironmentStatus.Leased,
            Spec = EnvSpec,
            Handle = Handle,
            LeasedTo = TaskId,
            LeasedAttempt = 2,
            Leases = 3,
            EndReason = "not yet",
            RequestedAt = At(2),
            ReadyAt = At(4),
            PreviousLessee = "task-swe-0041",
            ExecsInFlight = 1,
            DiedDuringExec = "container exited with 137",
            Destroying = true,
            DestroyWhenSettled = "pool drained",
            Strikes = 1,
            Faults = 2,
            LastFault = "engine did not answer",
        },

        // environment messages
        new EnvironmentProtocol.Provision(EnvId, EnvSpec, TaskId, 2),
        new EnvironmentProtocol.Lease(EnvId, TaskId, 2),
        new EnvironmentProtocol.EnvironmentReady(EnvId, TaskId, 2, "node-b:4053"),
        new EnvironmentProtocol.EnvironmentFailed(EnvId, TaskId, "container exited with 137", Lost: true),
        new EnvironmentProtocol.Exec(EnvId, TaskId, "pytest -x", 60, 1 << 20, 2048, "task-swe-0042/2/2", new EnvironmentProtocol.ExecModelAccess(2, "mf-9dA_x-3kQ")),
        new EnvironmentProtocol.ExecResult(EnvId, 1, "FAILED tests/test_parser.py::test_eof", 1_500_000, true, false, At(11), 842.5, "/data/artifacts/task-swe-0042/2/2.out"),
        new EnvironmentProtocol.Reset(EnvId, TaskId),
        new EnvironmentProtocol.ResetDone(EnvId),
        new EnvironmentProtocol.Destroy(EnvId, "ephemeral task finished"),
        new EnvironmentProtocol.DestroyDone(EnvId),
        new EnvironmentProtocol.GetEnvironmentState(EnvId),
        new EnvironmentProtocol.ResourceDied(EnvId, "container mf-env died (exit code 137) without MegaFlow stopping it"),
    ];

    public static IMegaFlowMessage For(Type type) => All.Single(s => s.GetType() == type);
}
