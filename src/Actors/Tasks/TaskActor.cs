using Akka.Actor;
using MegaFlow.Protocol;
using MegaFlow.Domain;
using MegaFlow.Contracts;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Akka.Persistence;
using MegaFlow.Actors.Cluster;
using MegaFlow.Domain.Agents;
using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Environments;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using static MegaFlow.Contracts.Environments.EnvironmentProtocol;
using static MegaFlow.Contracts.Tasks.TaskProtocol;
using Lease = MegaFlow.Contracts.Scheduling.Lease;

namespace MegaFlow.Actors.Tasks;

/// <summary>
/// Where a TaskActor sends things: the scheduler (singleton proxy), environments (region), pub-sub,
/// and the node's <see cref="MemberWatcher"/> (node-loss notifications).
/// </summary>
public sealed record TaskActorRefs(IActorRef Scheduler, IActorRef Environments, IActorRef Mediator, IActorRef MemberWatcher);

/// <summary>Tunables of the task loop; defaults suit production, tests shorten the intervals.</summary>
public sealed record TaskActorSettings
{
    public required string Node { get; init; }

    /// <summary>Output bytes per step kept in the journal; more goes to an artifact.</summary>
    public int InlineOutputBytes { get; init; } = 2048;

    /// <summary>Output bytes captured per command in the environment.</summary>
    public int CaptureBytes { get; init; } = 1 << 20;

    /// <summary>How often an unconfirmed enqueue or release is sent again (at-least-once delivery).</summary>
    public TimeSpan RetryInterval { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Added to a command's timeout before its environment counts as unresponsive.</summary>
    public TimeSpan ExecGrace { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a finished task stays in memory before passivating.</summary>
    public TimeSpan LingerAfterFinish { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The node's model gateway (http://host:port/), through which this node's agents call models;
    /// null on a node without one (model agents then call their endpoint directly, unrecorded).
    /// </summary>
    public Uri? Gateway { get; init; }
}

/// <summary>
/// One task, sharded by task id and event-sourced. It drives <see cref="TaskLogic"/>: asks the
/// scheduler for admission, provisions or leases its environment, runs the agent's rounds, scores,
/// and releases. Every transition is persisted before its side effects, so after a crash the task
/// resumes from its journal: an interrupted attempt is failed as an infrastructure failure and retried.
/// </summary>
public sealed class TaskActor : ReceivePersistentActor, IWithTimers
{

    private readonly string _taskId;
    private readonly TaskActorRefs _refs;
    private readonly TaskActorSettings _settings;
    private readonly IAgent _agent;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private TaskState _state;

    // Decided and applied, not yet written: see Defer. Written with the next Commit.
    private readonly List<TaskEvents.ITaskEvent> _deferred = [];

    /// <summary>
    /// How long a model call's record may wait in <see cref="_deferred"/> before it is written on its own.
    /// An agent program calls its model every few milliseconds; one journal write per call cost the
    /// gateway most of its added latency (the write's CPU on a small node: bench/RESULTS-model.md), so
    /// records are written with the attempt's next event or after this interval, many per write. A
    /// record lost in a crash changes nothing: the recovered task fails that attempt as an
    /// infrastructure failure, and an infrastructure failure's calls are not trained on. The exception
    /// is a record that arrives after its attempt ended (rare: the gateway reports before it answers):
    /// a crash within this interval loses that one record.
    /// </summary>
    private static readonly TimeSpan ModelCallFlushInterval = TimeSpan.FromSeconds(1);

    // In-memory only: what the current attempt is waiting for. Lost on restart on purpose — a
    // restarted attempt is failed and retried, never resumed half-way.
    private string? _execCommand;
    private long _execToken;
    private bool _awaitingReset;
    private bool _releaseReusable;
    // An environment this task asked to destroy and whose DestroyDone has not come: resent a few
    // times (the environment's own lease check reclaims it if every copy is lost).
    private string? _destroying;
    private int _destroyResends;
    private const int MaxDestroyResends = 20;
    private string? _watchedNode;
    // The round whose agent decision is awaited (0: none) and how to call it off. A decision is
    // computed off the actor's thread and piped back; one for any other attempt or round is stale.
    private int _decidingRound;
    private CancellationTokenSource? _decisionCancel;
    // The key this attempt's model calls must carry (see ModelCallKey). Memory only, never journaled:
    // a restarted actor fails the attempt anyway, and the next attempt gets a new key.
    private string? _callKey;
    private int _callKeyAttempt;

    public TaskActor(string taskId, TaskActorRefs refs, TaskActorSettings settings, IAgent agent)
    {
        _taskId = taskId;
        _refs = refs;
        _settings = settings;
        // Short-lived entities never snapshot: skipping the snapshot store saves a query on every
        // recovery, and every new task and environment is a fresh recovery (measured: ~1.6-2x faster).
        SnapshotPluginId = "akka.persistence.no-snapshot-store";
        _agent = agent;
        _state = TaskState.Empty(taskId);

        Recover<TaskEvents.ITaskEvent>(e => _state = TaskLogic.Apply(_state, e));
        Recover<RecoveryCompleted>(_ => OnRecovered());

        Command<SubmitTask>(OnSubmit);
        Command<GetTaskState>(_ =>
        {
            Sender.Tell(_state);
            LeaveIfNeverSubmitted();
        });
        Command<CancelTask>(OnCancel);
        Command<QueueConfirmed>(m => Defer(TaskLogic.ConfirmQueued(_state, m.Attempt, Now), UpdateRetryTimer));
        Command<AdmitTask>(OnAdmit);
        Command<ReleaseConfirmed>(OnReleaseConfirmed);
        Command<EnvironmentReady>(OnEnvironmentReady);
        Command<EnvironmentFailed>(OnEnvironmentFailed);
        Command<ExecResult>(OnExecResult);
        Command<AgentDecided>(m =>
        {
            if (!IsAwaited(m.Attempt, m.Round)) return;
            _decidingRound = 0;
            Act(m.Decision);
        });
        Command<AgentFailed>(m =>
        {
            if (!IsAwaited(m.Attempt, m.Round)) return;
            _decidingRound = 0;
            FailAgent(m.Round, m.Error);
        });
        Command<ResetDone>(m =>
        {
            if (!_awaitingReset || m.EnvironmentId != _state.Lease?.EnvironmentId) return;
            _awaitingReset = false;
            SendRelease(reusable: true);
        });
        Command<DestroyDone>(m =>
        {
            if (m.EnvironmentId != _destroying) return;
            _destroying = null;
            UpdateRetryTimer();
        });
        Command<CheckLease>(m =>
        {
            var holds = m.Attempt == _state.Attempt && _state.Lease?.EnvironmentId == m.EnvironmentId
                        && (_state.Status.IsInFlight() || _awaitingReset);
            Sender.Tell(new LeaseHeld(_taskId, m.Attempt, m.EnvironmentId, holds));
            LeaveIfNeverSubmitted();
        });
        Command<AuthorizeModelCall>(OnAuthorizeModelCall);
        Command<RecordModelCall>(m =>
        {
            // Deferred, not written at once: see ModelCallFlushInterval.
            Defer(TaskLogic.RecordModelCall(_state, m.Attempt, m.Call));
            if (_deferred.Count > 0 && !Timers.IsTimerActive("flush"))
                Timers.StartSingleTimer("flush", FlushTick.Instance, ModelCallFlushInterval);
        });
        Command<FlushTick>(_ => FlushDeferred());
        Command<NodeLost>(OnNodeLost);
        Command<LeasedEnvironmentLost>(m =>
        {
            if (m.Attempt == _state.Attempt && _state.Lease?.EnvironmentId == m.EnvironmentId && _state.Status.IsInFlight())
                FailAttempt(FailureKind.Infrastructure, $"environment {m.EnvironmentId}: {m.Reason}");
        });
        Command<PhaseTimeout>(OnPhaseTimeout);
        Command<ExecOverdue>(m =>
        {
            if (m.Token == _execToken && _execCommand is not null)
                FailAttempt(FailureKind.Infrastructure, $"environment did not answer a command within its timeout plus {_settings.ExecGrace.TotalSeconds}s");
        });
        Command<RetryTick>(_ => Retry());
        Command<PassivateNow>(_ =>
        {
            // Only a task nobody submitted, or one that is over, leaves memory: a submission may
            // have arrived since an unknown id's timer started.
            if (_state.Status == TaskStatus.Unknown || (_state.Status.IsTerminal() && _state.PendingRelease is null))
                FlushDeferred(() => Context.Parent.Tell(new Passivate(PoisonPill.Instance)));
        });
    }

    public static Props Props(string taskId, TaskActorRefs refs, TaskActorSettings settings, IAgent agent) =>
        Akka.Actor.Props.Create(() => new TaskActor(taskId, refs, settings, agent));

    public override string PersistenceId => "task-" + _taskId;

    public ITimerScheduler Timers { get; set; } = null!;

    private static DateTimeOffset Now => DateTimeOffset.UtcNow;

    // Runs on RecoveryCompleted (not OnReplaySuccess): only from here on may the actor persist.
    private void OnRecovered()
    {
        switch (_state.Status)
        {
            case TaskStatus.Unknown:
                break;
            case var s when s.IsInFlight():
                // The agent loop lived in the memory of a process that is gone (or a shard moved):
                // the attempt cannot continue, so it fails as an infrastructure failure and is retried.
                FailAttempt(FailureKind.Infrastructure, "attempt interrupted: the task's actor restarted (node lost or shard moved)");
                break;
            case var s when s.IsTerminal() && _state.PendingRelease is null:
                Timers.StartSingleTimer("passivate", PassivateNow.Instance, _settings.LingerAfterFinish);
                break;
            default:
                if (_state.PendingRelease is not null && _state.Lease is { } lease)
                {
                    _destroying = lease.EnvironmentId;
                    _refs.Environments.Tell(new Destroy(lease.EnvironmentId, "task recovered after its attempt ended"));
                }
                UpdateRetryTimer();
                Retry();
                break;
        }
    }

    private void OnSubmit(SubmitTask m)
    {
        var d = TaskLogic.Submit(_state, m.Spec, Now);
        switch (d.Outcome)
        {
            case DecisionOutcome.Rejected:
                Sender.Tell(new SubmitRejected(_taskId, d.Errors.Count > 0 ? d.Errors : [new ValidationError("spec", d.Reason ?? "rejected")]));
                // Nothing was persisted: do not keep (or remember) an empty entity around.
                if (_state.Status == TaskStatus.Unknown) Context.Parent.Tell(new Passivate(PoisonPill.Instance));
                break;
            case DecisionOutcome.Duplicate:
                Sender.Tell(new SubmitAccepted(_taskId, AlreadyKnown: true, _state.Status));
                break;
            default:
                var replyTo = Sender;
                Commit(d, () =>
                {
                    replyTo.Tell(new SubmitAccepted(_taskId, AlreadyKnown: false, _state.Status));
                    Retry();
                    UpdateRetryTimer();
                });
                break;
        }
    }

    // A query or cancel for an id never submitted (a typo, a watch of a wrong id) started this
    // entity; with remember-entities it would otherwise be restarted forever. Started here, not on
    // every recovery: every new task recovers as Unknown just before its submission, and a timer
    // per task was a measurable cost on the submission path (~0.1 ms CPU per task in the benchmark).
    private void LeaveIfNeverSubmitted()
    {
        if (_state.Status == TaskStatus.Unknown && !Timers.IsTimerActive("passivate"))
            Timers.StartSingleTimer("passivate", PassivateNow.Instance, _settings.LingerAfterFinish);
    }

    private void OnCancel(CancelTask m)
    {
        var lease = _state.Lease;
        var wasInFlight = _state.Status.IsInFlight();
        var d = TaskLogic.Cancel(_state, m.Reason, Now);
        var replyTo = Sender;
        if (d.Outcome == DecisionOutcome.Rejected)
        {
            replyTo.Tell(new CancelRejected(_taskId, d.Reason ?? "rejected"));
            LeaveIfNeverSubmitted();
            return;
        }
        if (d.Outcome == DecisionOutcome.Duplicate)
        {
            replyTo.Tell(new CancelAccepted(_taskId));
            return;
        }
        Commit(d, () =>
        {
            replyTo.Tell(new CancelAccepted(_taskId));
            AfterAttemptEnded(wasInFlight ? lease : null, environmentHealthy: false);
        });
    }

    private void OnAdmit(AdmitTask m)
    {
        var lease = m.Lease;
        var d = TaskLogic.Admit(_state, m.Attempt, lease, _settings.Node, Now);
        if (d.Outcome == DecisionOutcome.Rejected)
        {
            // Stale or unwanted admission (e.g. the task was cancelled meanwhile): hand the lease back
            // at once so its semaphores are not held by nobody.
            _refs.Scheduler.Tell(new SchedulerProtocol.ReleaseTask(_taskId, m.Attempt, EnvironmentReusable: m.Lease.Reused));
            return;
        }
        if (d.Outcome == DecisionOutcome.Duplicate) return;
        Commit(d, () =>
        {
            UpdateRetryTimer();
            SubscribeToNodeLoss();
            Timers.StartSingleTimer("phase", new PhaseTimeout(_state.Attempt, TaskPhase.Setup), Seconds(_state.Spec!.SetupTimeoutSeconds));
            SendEnvironmentRequest();
        });
    }

    // Sent at admission and again on every retry tick until the environment answers (at-least-once:
    // a Provision to a shard whose node just died is otherwise lost). The environment answers a
    // repeat of the same attempt's request with the first one's outcome.
    private void SendEnvironmentRequest()
    {
        if (_state.Status != TaskStatus.Provisioning || _state.Lease is not { } lease) return;
        var spec = _state.Spec!;
        if (lease.Reused)
            _refs.Environments.Tell(new EnvironmentProtocol.Lease(lease.EnvironmentId, _taskId, _state.Attempt));
        else
            _refs.Environments.Tell(new Provision(lease.EnvironmentId,
                new EnvironmentSpec(spec.Image!, spec.PoolKey, spec.ExecutionMode, spec.CpuLimit,
                    spec.MemoryLimitMb * 1024L * 1024L, spec.PidsLimit, NetworkOf(spec)), _taskId, _state.Attempt));
    }

    private void OnEnvironmentReady(EnvironmentReady m)
    {
        if (_state.Lease?.EnvironmentId != m.EnvironmentId || m.Attempt != _state.Attempt) return;
        if (!_state.Lease.Reused)
            _refs.Scheduler.Tell(new SchedulerProtocol.EnvironmentStartFinished(_taskId, m.Attempt));
        var d = TaskLogic.EnvironmentReady(_state, m.Attempt, Now);
        if (d.Outcome != DecisionOutcome.Accepted) return;
        Defer(d, () =>
        {
            Timers.StartSingleTimer("phase", new PhaseTimeout(_state.Attempt, TaskPhase.Run), Seconds(_state.Spec!.RunTimeoutSeconds));
            NextRound();
        });
    }

    private void OnEnvironmentFailed(EnvironmentFailed m)
    {
        if (_awaitingReset && m.EnvironmentId == _state.Lease?.EnvironmentId)
        {
            _awaitingReset = false;
            SendRelease(reusable: false);
            return;
        }
        if (_state.Lease?.EnvironmentId != m.EnvironmentId || !_state.Status.IsInFlight()) return;
        if (_state.Status == TaskStatus.Provisioning && !_state.Lease.Reused)
            _refs.Scheduler.Tell(new SchedulerProtocol.EnvironmentStartFinished(_taskId, _state.Attempt));
        FailAttempt(FailureKind.Infrastructure, $"environment {m.EnvironmentId}: {m.Reason}");
    }

    /// <summary>
    /// Asks the agent for the next round. A decision already made (the scripted agent) is acted on at
    /// once; one still pending is piped back as <see cref="AgentDecided"/> or <see cref="AgentFailed"/>,
    /// and meanwhile the actor answers queries, honours cancellation and enforces the run budget.
    /// </summary>
    private void NextRound()
    {
        var spec = _state.Spec!;
        // The round budget is the task's: an agent that wants more rounds is scored as it stands
        // (a step past it would be refused by TaskLogic.RecordStep and the attempt would hang).
        if (_state.Steps.Count >= spec.MaxRounds)
        {
            Act(AgentDecision.Submit);
            return;
        }
        var attempt = _state.Attempt;
        var round = _state.Steps.Count + 1;
        // One source per actor while no decision is called off: the scripted path allocates it once per task.
        _decisionCancel ??= new CancellationTokenSource();
        ValueTask<AgentDecision> pending;
        try
        {
            pending = _agent.DecideAsync(new AgentContext(_taskId, attempt, spec, _state.Steps, GatewayAccess(spec)), _decisionCancel.Token);
        }
        catch (Exception e)
        {
            FailAgent(round, e);
            return;
        }
        if (pending.IsCompletedSuccessfully)
        {
            Act(pending.Result);
            return;
        }
        _decidingRound = round;
        pending.AsTask().PipeTo(Self,
            success: d => new AgentDecided(attempt, round, d),
            failure: e => new AgentFailed(attempt, round, e));
    }

    // An agent program must reach the gateway: a spec that asks for no network gets the provider's
    // network to the gateway and nothing else; one that names a network keeps it (the gateway listens
    // on an address of the host, reachable from any container network that reaches the host).
    private static string NetworkOf(TaskSpec spec) =>
        spec.AgentKind == AgentKinds.Command && spec.Network == "none" ? EnvironmentSpec.GatewayNetwork : spec.Network;

    /// <summary>
    /// The key of the current attempt's model calls: 32 random bytes, made when first needed. Only
    /// this actor knows it; the gateway asks here before forwarding a call (<see cref="AuthorizeModelCall"/>).
    /// </summary>
    private string ModelCallKey()
    {
        if (_callKey is null || _callKeyAttempt != _state.Attempt)
        {
            _callKey = "mf-" + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))
                .TrimEnd('=').Replace('+', '-').Replace('/', '_');
            _callKeyAttempt = _state.Attempt;
        }
        return _callKey;
    }

    // Only the model agent decides through the gateway: the scripted agent gets no key, so a task that
    // calls no model makes no random key and no URL (per round, on the benchmark's hot path).
    private ModelGatewayAccess? GatewayAccess(TaskSpec spec) => _settings.Gateway is { } gateway && spec.AgentKind == AgentKinds.Model
        ? new ModelGatewayAccess(ModelGatewayRoutes.BaseUrl(gateway, _taskId, _state.Attempt), ModelCallKey())
        : null;

    private void OnAuthorizeModelCall(AuthorizeModelCall m)
    {
        var refusal = TaskLogic.ModelCallRefusal(_state, m.Attempt)
            ?? (_callKey is not null && _callKeyAttempt == m.Attempt
                && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                    System.Text.Encoding.UTF8.GetBytes(_callKey), System.Text.Encoding.UTF8.GetBytes(m.Key))
                ? null
                : "the key is not this attempt's");
        Sender.Tell(refusal is null
            ? new ModelCallAllowed(_taskId, m.Attempt, _state.Steps.Count + 1, _state.Spec!.Agent ?? AgentSpec.Default)
            : new ModelCallRefused(_taskId, refusal));
        LeaveIfNeverSubmitted();
    }

    // A piped decision counts only for the round this actor is still waiting for: after the attempt
    // ended (cancelled, timed out, failed) or the actor restarted, _decidingRound no longer names it.
    private bool IsAwaited(int attempt, int round) =>
        round == _decidingRound && attempt == _state.Attempt && _state.Status == TaskStatus.Running
        && _state.Steps.Count + 1 == round;

    private void Act(AgentDecision decision)
    {
        var spec = _state.Spec!;
        if (decision.IsSubmit)
        {
            Defer(TaskLogic.StartScoring(_state, _state.Attempt, Now), () =>
            {
                Timers.StartSingleTimer("phase", new PhaseTimeout(_state.Attempt, TaskPhase.Scoring), Seconds(spec.ScoringTimeoutSeconds));
                SendExec(spec.ScoreCommand!, "score");
            });
            return;
        }
        // An agent program calls its model through the gateway of the environment's node, with this
        // attempt's key; scripted commands and the model agent's commands get none.
        var model = spec.AgentKind == AgentKinds.Command ? new ExecModelAccess(_state.Attempt, ModelCallKey()) : null;
        SendExec(decision.Command!, $"round-{_state.Steps.Count + 1}", model);
    }

    // An agent that cannot decide is the agent's failure: a result, not retried. Except when it says
    // what it depends on is down (AgentInfrastructureException: a model endpoint unreachable or
    // answering 5xx after the agent's own retries): that is the infrastructure's, retried on its budget.
    private void FailAgent(int round, Exception e)
    {
        var error = e is AggregateException { InnerExceptions.Count: 1 } a ? a.InnerException! : e;
        if (error is AgentInfrastructureException infra)
            FailAttempt(FailureKind.Infrastructure, $"agent could not decide round {round}: {infra.Message}");
        else
            FailAttempt(FailureKind.Agent, $"agent failed to decide round {round}: {error.GetType().Name}: {error.Message}");
    }

    /// <summary>Calls off a pending decision: its answer will be ignored, and the agent may stop working on it.</summary>
    private void AbandonDecision()
    {
        if (_decidingRound == 0) return;
        _decidingRound = 0;
        // CancelAsync runs the agent's cancellation callbacks off this thread. The source is not
        // disposed: the agent may still hold its token, and without a timer it owns nothing to free.
        _ = _decisionCancel?.CancelAsync();
        _decisionCancel = null;
    }

    private void SendExec(string command, string label, ExecModelAccess? model = null)
    {
        var spec = _state.Spec!;
        _execCommand = command;
        _execToken++;
        var timeout = spec.ExecTimeoutSeconds;
        _refs.Environments.Tell(new Exec(_state.Lease!.EnvironmentId, _taskId, command, timeout,
            _settings.CaptureBytes, _settings.InlineOutputBytes, $"{_taskId}/attempt-{_state.Attempt}/{label}.log", model));
        Timers.StartSingleTimer("exec", new ExecOverdue(_execToken), Seconds(timeout) + _settings.ExecGrace);
    }

    private void OnExecResult(ExecResult r)
    {
        if (_execCommand is null || r.EnvironmentId != _state.Lease?.EnvironmentId) return;
        var command = _execCommand;
        _execCommand = null;
        Timers.Cancel("exec");
        if (_state.Status == TaskStatus.Running)
        {
            var step = new Step(_state.Steps.Count + 1, command, r.ExitCode, r.Output, r.OutputTruncated, r.TimedOut,
                r.StartedAt, r.DurationMs, r.ArtifactPath);
            Commit(TaskLogic.RecordStep(_state, _state.Attempt, step), NextRound);
        }
        else if (_state.Status == TaskStatus.Scoring)
        {
            var lease = _state.Lease;
            var score = new Score(r.ExitCode, r.Output, r.ExitCode == 0 && !r.TimedOut ? 1.0 : 0.0);
            Commit(TaskLogic.Complete(_state, _state.Attempt, score, Now), () => AfterAttemptEnded(lease, environmentHealthy: !r.TimedOut));
        }
    }

    private void OnPhaseTimeout(PhaseTimeout m)
    {
        var lease = _state.Lease;
        var d = TaskLogic.TimeOut(_state, m.Attempt, m.Phase, Now);
        if (d.Outcome != DecisionOutcome.Accepted) return;
        if (m.Phase == TaskPhase.Setup && lease is { Reused: false })
            _refs.Scheduler.Tell(new SchedulerProtocol.EnvironmentStartFinished(_taskId, m.Attempt));
        Commit(d, () => AfterAttemptEnded(lease, environmentHealthy: false));
    }

    private void OnNodeLost(NodeLost m)
    {
        if (_state.Status.IsInFlight() && _state.Lease?.Node == m.Node)
            FailAttempt(FailureKind.Infrastructure, $"node {m.Node} hosting the environment was lost");
    }

    private void FailAttempt(FailureKind kind, string reason)
    {
        var lease = _state.Lease;
        var d = TaskLogic.FailAttempt(_state, _state.Attempt, kind, reason, Now);
        if (d.Outcome != DecisionOutcome.Accepted) return;
        _log.Info("task {0} attempt {1} failed ({2}): {3}", _taskId, _state.Attempt, kind, reason);
        Commit(d, () => AfterAttemptEnded(lease, environmentHealthy: false));
    }

    /// <summary>
    /// After an attempt ended: a healthy persistent environment is reset and handed back to its pool;
    /// anything else is destroyed. Then the lease is released (at-least-once until confirmed) and, for an
    /// infrastructure retry, the new attempt is queued.
    /// </summary>
    private void AfterAttemptEnded(Lease? lease, bool environmentHealthy)
    {
        Timers.Cancel("phase");
        Timers.Cancel("exec");
        _execCommand = null;
        AbandonDecision();
        UnsubscribeFromNodeLoss();
        if (lease is not null && environmentHealthy && _state.Spec!.ExecutionMode == ExecutionMode.Persistent)
        {
            _awaitingReset = true;
            _refs.Environments.Tell(new EnvironmentProtocol.Reset(lease.EnvironmentId, _taskId));
            UpdateRetryTimer();
            return;
        }
        if (lease is not null)
        {
            _destroying = lease.EnvironmentId;
            _destroyResends = 0;
            _refs.Environments.Tell(new Destroy(lease.EnvironmentId, $"task {_taskId} attempt ended"));
        }
        SendRelease(reusable: false);
    }

    private void SendRelease(bool reusable)
    {
        _releaseReusable = reusable;
        Retry();
        UpdateRetryTimer();
    }

    private void OnReleaseConfirmed(ReleaseConfirmed m) =>
        Commit(TaskLogic.ConfirmReleased(_state, m.Attempt, Now), () =>
        {
            UpdateRetryTimer();
            if (_state.Status.IsTerminal() && _state.PendingRelease is null)
                Timers.StartSingleTimer("passivate", PassivateNow.Instance, _settings.LingerAfterFinish);
        });

    /// <summary>Re-sends whatever has not been confirmed yet. Every one of these messages is idempotent at its receiver.</summary>
    private void Retry()
    {
        SendEnvironmentRequest();
        if (_awaitingReset && _state.Lease is { } reset)
            _refs.Environments.Tell(new EnvironmentProtocol.Reset(reset.EnvironmentId, _taskId));
        if (_destroying is { } env && _destroyResends++ > 0)
        {
            if (_destroyResends > MaxDestroyResends) _destroying = null;
            else _refs.Environments.Tell(new Destroy(env, $"task {_taskId} attempt ended"));
        }
        if (_state.PendingRelease is { } attempt && !_awaitingReset)
            _refs.Scheduler.Tell(new SchedulerProtocol.ReleaseTask(_taskId, attempt, _releaseReusable));
        if (_state.Status == TaskStatus.Submitted)
        {
            var spec = _state.Spec!;
            _refs.Scheduler.Tell(new SchedulerProtocol.EnqueueTask(_taskId, _state.Attempt, spec.PoolKey, spec.ExecutionMode, spec.Image, spec.Quota));
        }
    }

    private void UpdateRetryTimer()
    {
        var needed = _state.Status is TaskStatus.Submitted or TaskStatus.Provisioning
                     || _state.PendingRelease is not null || _awaitingReset || _destroying is not null;
        if (needed && !Timers.IsTimerActive("retry"))
            Timers.StartPeriodicTimer("retry", RetryTick.Instance, _settings.RetryInterval);
        else if (!needed)
            Timers.Cancel("retry");
    }

    private void Commit(TaskDecision d, Action? after = null)
    {
        if (d.Outcome != DecisionOutcome.Accepted || d.Events.Count == 0)
        {
            if (d.Outcome == DecisionOutcome.Duplicate) after?.Invoke();
            return;
        }
        // Events deferred earlier go first, in one write with these: the journal's order is the
        // order of decisions. Deferred events are already applied; only the new ones are applied here.
        var deferred = _deferred.Count;
        var events = deferred == 0 ? d.Events : [.. _deferred, .. d.Events];
        _deferred.Clear();
        var remaining = events.Count;
        PersistAll(events, e =>
        {
            if (deferred > 0)
                deferred--;
            else
                ApplyAndPublish(e);
            if (--remaining == 0) after?.Invoke();
        });
    }

    /// <summary>
    /// Accepts a decision whose events may wait for the next write: Queued (until Admitted), RunStarted
    /// (until the first step), ScoringStarted (until the result) and ModelCallRecorded (until the next
    /// event, or <see cref="ModelCallFlushInterval"/>). Each is implied by the event that follows it or
    /// belongs to a running attempt, and losing it in a crash changes nothing: the recovered task is
    /// then Submitted (and asks the scheduler again, which answers idempotently) or mid-attempt (and
    /// fails the attempt as an infrastructure failure, as it would anyway). Three journal round trips
    /// fewer per task (bench/RESULTS.md), and one write for many model calls. The state, replies and
    /// status notifications move on at once.
    /// </summary>
    private void Defer(TaskDecision d, Action? after = null)
    {
        if (d.Outcome != DecisionOutcome.Accepted)
        {
            if (d.Outcome == DecisionOutcome.Duplicate) after?.Invoke();
            return;
        }
        foreach (var e in d.Events)
        {
            _deferred.Add(e);
            ApplyAndPublish(e);
        }
        after?.Invoke();
    }

    /// <summary>Writes the deferred events on their own (they are applied already), then runs <paramref name="after"/>.</summary>
    private void FlushDeferred(Action? after = null)
    {
        if (_deferred.Count == 0)
        {
            after?.Invoke();
            return;
        }
        var events = _deferred.ToList();
        _deferred.Clear();
        var remaining = events.Count;
        PersistAll(events, _ =>
        {
            if (--remaining == 0) after?.Invoke();
        });
    }

    private void ApplyAndPublish(TaskEvents.ITaskEvent e)
    {
        var before = _state.Status;
        _state = TaskLogic.Apply(_state, e);
        if (_state.Status != before)
            _refs.Mediator.Tell(new Publish(Topics.TaskEvents,
                new TaskStatusChanged(_taskId, _state.Status, _state.Attempt, _settings.Node, Now)));
    }

    private void SubscribeToNodeLoss()
    {
        var node = _state.Lease?.Node;
        if (node is null || node == _watchedNode) return;
        UnsubscribeFromNodeLoss();
        _refs.MemberWatcher.Tell(new MemberWatcher.WatchNode(node, Self));
        _watchedNode = node;
    }

    private void UnsubscribeFromNodeLoss()
    {
        if (_watchedNode is null) return;
        _refs.MemberWatcher.Tell(new MemberWatcher.UnwatchNode(_watchedNode, Self));
        _watchedNode = null;
    }

    protected override void PostStop()
    {
        AbandonDecision();
        UnsubscribeFromNodeLoss();
        base.PostStop();
    }

    private static TimeSpan Seconds(double s) => TimeSpan.FromSeconds(s);

    private sealed record PhaseTimeout(int Attempt, TaskPhase Phase);

    private sealed record ExecOverdue(long Token);

    /// <summary>The agent decided <paramref name="Round"/> of <paramref name="Attempt"/> (piped back to this actor).</summary>
    private sealed record AgentDecided(int Attempt, int Round, AgentDecision Decision);

    /// <summary>The agent's decision for <paramref name="Round"/> of <paramref name="Attempt"/> threw or faulted.</summary>
    private sealed record AgentFailed(int Attempt, int Round, Exception Error);

    private sealed record RetryTick
    {
        public static readonly RetryTick Instance = new();
    }

    private sealed record PassivateNow
    {
        public static readonly PassivateNow Instance = new();
    }

    private sealed record FlushTick
    {
        public static readonly FlushTick Instance = new();
    }
}
