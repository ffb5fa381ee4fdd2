using System.Text;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;
using MegaFlow.Actors.Hosting;
using MegaFlow.Domain.Environments;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Domain.Tasks;
using MegaFlow.Environments;
using MegaFlow.Storage;
using static MegaFlow.Domain.Environments.EnvironmentProtocol;

namespace MegaFlow.Actors.Environments;

public sealed record EnvironmentActorSettings
{
    public required string Node { get; init; }
    public TimeSpan ProvisionTimeout { get; init; } = TimeSpan.FromMinutes(10);
    public TimeSpan ResetTimeout { get; init; } = TimeSpan.FromMinutes(2);
    public TimeSpan DestroyTimeout { get; init; } = TimeSpan.FromMinutes(2);
}

/// <summary>
/// One environment, sharded by environment id (pinned to the node that holds its resource) and
/// event-sourced. It wraps an <see cref="IEnvironmentProvider"/>: every lifecycle change is persisted,
/// provider calls run asynchronously and report back as messages, and after a restart it checks its
/// resource and marks itself Lost if the resource is gone (node crash, container killed).
/// </summary>
public sealed class EnvironmentActor : ReceivePersistentActor
{
    private readonly string _id;
    private readonly IEnvironmentProvider _provider;
    private readonly IArtifactStore _artifacts;
    private readonly IActorRef _scheduler;
    private readonly EnvironmentActorSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<IActorRef> _provisionWaiters = [];
    private EnvironmentState _state;
    private bool _destroyAfterProvision;
    private bool _destroying;
    private readonly List<IActorRef> _laterDestroyWaiters = [];
    private int _execsInFlight;
    private string? _diedDuringExec;

    public EnvironmentActor(string id, IEnvironmentProvider provider, IArtifactStore artifacts, IActorRef scheduler, EnvironmentActorSettings settings)
    {
        _id = id;
        _provider = provider;
        _artifacts = artifacts;
        _scheduler = scheduler;
        _settings = settings;
        // Short-lived entities never snapshot: skipping the snapshot store saves a query on every
        // recovery, and every new task and environment is a fresh recovery (measured: ~1.6-2x faster).
        SnapshotPluginId = "akka.persistence.no-snapshot-store";
        _state = EnvironmentState.Empty(id);

        Recover<EnvironmentEvents.IEnvironmentEvent>(e => _state = EnvironmentLogic.Apply(_state, e));
        Recover<RecoveryCompleted>(_ => OnRecovered());

        Command<Provision>(OnProvision);
        Command<ProvisionFinished>(OnProvisionFinished);
        Command<EnvironmentProtocol.Lease>(OnLease);
        Command<Exec>(OnExec);
        Command<ExecFinished>(OnExecFinished);
        Command<Reset>(OnReset);
        Command<ResetFinished>(OnResetFinished);
        Command<Destroy>(OnDestroy);
        Command<DestroyFinished>(m => Persist(new EnvironmentEvents.Destroyed(_id, m.Reason, DateTimeOffset.UtcNow), e =>
        {
            _state = EnvironmentLogic.Apply(_state, e);
            foreach (var w in m.ReplyTo.Concat(_laterDestroyWaiters)) w.Tell(new DestroyDone(_id));
            Passivate();
        }));
        Command<HealthChecked>(OnHealthChecked);
        Command<ResourceDied>(OnResourceDied);
        Command<GetEnvironmentState>(_ => Sender.Tell(_state));
    }

    public static Props Props(string id, IEnvironmentProvider provider, IArtifactStore artifacts, IActorRef scheduler, EnvironmentActorSettings settings) =>
        Akka.Actor.Props.Create(() => new EnvironmentActor(id, provider, artifacts, scheduler, settings));

    public override string PersistenceId => "env-" + _id;

    // Runs on RecoveryCompleted (not OnReplaySuccess): only from here on may the actor persist.
    private void OnRecovered()
    {
        if (_state.IsGone)
        {
            Passivate();
            return;
        }
        if (_state.Status == EnvironmentStatus.Provisioning)
        {
            // The provision call died with the previous incarnation; its outcome is unknowable.
            MarkLost("provisioning was interrupted by a restart", notify: []);
            return;
        }
        if (_state.Status == EnvironmentStatus.Ready && _state.Handle is not null)
        {
            // An idle warm environment restarted with its node. Whether the scheduler still lists it
            // is unknowable from here: a graceful leave drops a node's idle environments from their
            // pools, so they would never be leased again and their folder or container would stay
            // forever. Warm pools therefore do not survive a node restart: leave the pool (a no-op
            // if already dropped) and destroy. A task that leases it meanwhile gets a failure and is
            // retried on a fresh environment.
            _scheduler.Tell(new SchedulerProtocol.RetireEnvironment(_id));
            StartDestroy("idle warm environment after a node restart", []);
            return;
        }
        if (_state.Handle is { } handle)
            _provider.CheckHealthAsync(handle, Cancel(_settings.ResetTimeout)).PipeTo(Self, success: h => new HealthChecked(h, null), failure: ex => new HealthChecked(HealthStatus.Missing, ex.Message));
    }

    private void OnHealthChecked(HealthChecked m)
    {
        if (m.Status == HealthStatus.Healthy || _state.IsGone) return;
        var wasIdle = _state.Status == EnvironmentStatus.Ready;
        MarkLost($"resource missing after restart{(m.Error is null ? "" : ": " + m.Error)}", notify: []);
        if (wasIdle && _state.Spec is not null)
            _scheduler.Tell(new SchedulerProtocol.RetireEnvironment(_id));
    }

    // The node's provider saw the resource die. With a command in flight, the loss is reported with
    // the command's outcome (see OnExecFinished); otherwise the environment is marked lost now: an
    // idle warm one leaves its pool, and a leased one's task is told, so its attempt is retried.
    private void OnResourceDied(ResourceDied m)
    {
        if (_state.Status is not (EnvironmentStatus.Ready or EnvironmentStatus.Leased)) return;
        if (_execsInFlight > 0)
        {
            // The command's outcome comes first; even if it succeeded, the environment is gone after it.
            _diedDuringExec ??= m.Reason;
            return;
        }
        var wasIdle = _state.Status == EnvironmentStatus.Ready;
        var (lessee, attempt) = (_state.LeasedTo, _state.LeasedAttempt);
        MarkLost(m.Reason, notify: []);
        if (wasIdle) _scheduler.Tell(new SchedulerProtocol.RetireEnvironment(_id));
        else if (lessee is not null) TellLessee(new TaskProtocol.LeasedEnvironmentLost(lessee, attempt, _id, m.Reason));
    }

    // The lessee is between two commands (an agent thinking can take minutes): tell it now, through
    // the task region on this node (workers host both), so its attempt is retried at once.
    private void TellLessee(TaskProtocol.LeasedEnvironmentLost notice)
    {
        try
        {
            ClusterSharding.Get(Context.System).ShardRegion(MegaFlowNode.TaskTypeName).Tell(notice);
        }
        catch (ArgumentException)
        {
            // No task region here (an environment region started without one, as in some tests):
            // the task still learns at its next command, which fails on the lost environment.
        }
    }

    private void OnProvision(Provision m)
    {
        switch (_state.Status)
        {
            case EnvironmentStatus.Unknown:
                _provisionWaiters.Add(Sender);
                Persist(new EnvironmentEvents.Requested(_id, m.Spec, m.TaskId, m.Attempt, DateTimeOffset.UtcNow), e =>
                {
                    _state = EnvironmentLogic.Apply(_state, e);
                    _provider.ProvisionAsync(_id, m.Spec with { TaskId = m.TaskId }, Cancel(_settings.ProvisionTimeout))
                        .PipeTo(Self, success: h => new ProvisionFinished(h, null), failure: ex => new ProvisionFinished(null, Describe(ex)));
                });
                break;
            case EnvironmentStatus.Provisioning when _state.LeasedTo == m.TaskId:
                _provisionWaiters.Add(Sender);
                break;
            case EnvironmentStatus.Leased when _state.LeasedTo == m.TaskId && _state.LeasedAttempt == m.Attempt:
                Sender.Tell(new EnvironmentReady(_id, m.TaskId, m.Attempt, _settings.Node));
                break;
            default:
                Sender.Tell(new EnvironmentFailed(_id, m.TaskId, $"cannot provision: environment is {_state.Status}", Lost: _state.IsGone));
                break;
        }
    }

    private void OnProvisionFinished(ProvisionFinished m)
    {
        var waiters = _provisionWaiters.ToList();
        _provisionWaiters.Clear();
        if (m.Handle is null)
        {
            MarkLost($"provisioning failed: {m.Error}", waiters, taskId: _state.LeasedTo);
            return;
        }
        Persist(new EnvironmentEvents.Provisioned(_id, m.Handle, DateTimeOffset.UtcNow), e =>
        {
            _state = EnvironmentLogic.Apply(_state, e);
            if (_destroyAfterProvision)
            {
                StartDestroy("destroy requested while provisioning", []);
                return;
            }
            foreach (var w in waiters) w.Tell(new EnvironmentReady(_id, _state.LeasedTo!, _state.LeasedAttempt, _settings.Node));
        });
    }

    private void OnLease(EnvironmentProtocol.Lease m)
    {
        if (_destroying)
        {
            Sender.Tell(new EnvironmentFailed(_id, m.TaskId, "environment is being destroyed", Lost: true));
            return;
        }
        if (EnvironmentLogic.CanLease(_state, m.TaskId) is { } why)
        {
            Sender.Tell(new EnvironmentFailed(_id, m.TaskId, why, Lost: _state.IsGone || _state.Status == EnvironmentStatus.Unknown));
            return;
        }
        if (_state.Status == EnvironmentStatus.Leased && _state.LeasedAttempt == m.Attempt)
        {
            Sender.Tell(new EnvironmentReady(_id, m.TaskId, m.Attempt, _settings.Node));
            return;
        }
        var replyTo = Sender;
        Persist(new EnvironmentEvents.Leased(_id, m.TaskId, m.Attempt, DateTimeOffset.UtcNow), e =>
        {
            _state = EnvironmentLogic.Apply(_state, e);
            replyTo.Tell(new EnvironmentReady(_id, m.TaskId, m.Attempt, _settings.Node));
        });
    }

    private void OnExec(Exec m)
    {
        if (EnvironmentLogic.CanExec(_state, m.TaskId) is { } why)
        {
            Sender.Tell(new EnvironmentFailed(_id, m.TaskId, why, Lost: _state.IsGone));
            return;
        }
        var replyTo = Sender;
        _execsInFlight++;
        RunExec(_state.Handle!, m).PipeTo(Self,
            success: r => new ExecFinished(replyTo, m.TaskId, r, null),
            failure: ex => new ExecFinished(replyTo, m.TaskId, null, Describe(ex)));
    }

    private async Task<ExecResult> RunExec(EnvironmentHandle handle, Exec m)
    {
        var timeout = TimeSpan.FromSeconds(m.TimeoutSeconds);
        // The provider enforces the timeout; the token is only a backstop against a hung provider.
        var outcome = await _provider.ExecAsync(handle, new ExecRequest(m.Command, timeout, m.CaptureBytes), Cancel(timeout + _settings.ResetTimeout));
        var inline = TruncateUtf8(outcome.Output, m.InlineBytes);
        string? artifact = null;
        if (outcome.OutputBytes > m.InlineBytes)
            artifact = await _artifacts.SaveAsync(m.ArtifactKey, Encoding.UTF8.GetBytes(outcome.Output), CancellationToken.None);
        return new ExecResult(_id, outcome.ExitCode, inline, outcome.OutputBytes, outcome.OutputBytes > m.InlineBytes,
            outcome.TimedOut, outcome.StartedAt, outcome.Duration.TotalMilliseconds, artifact);
    }

    private void OnExecFinished(ExecFinished m)
    {
        _execsInFlight--;
        if (_state.IsGone)
        {
            // Already marked lost (its resource died while the command ran): just tell the task.
            m.ReplyTo.Tell(new EnvironmentFailed(_id, m.TaskId, _state.EndReason ?? "environment lost", Lost: true));
            return;
        }
        if (m.Result is not null && _diedDuringExec is null)
        {
            m.ReplyTo.Tell(m.Result);
            return;
        }
        MarkLost(m.Error is null ? _diedDuringExec! : $"exec failed: {m.Error}", [m.ReplyTo], m.TaskId);
    }

    private void OnReset(Reset m)
    {
        if (EnvironmentLogic.CanReset(_state) is { } why)
        {
            Sender.Tell(new EnvironmentFailed(_id, m.TaskId, why, Lost: _state.IsGone));
            return;
        }
        var replyTo = Sender;
        Persist(new EnvironmentEvents.ResetStarted(_id, DateTimeOffset.UtcNow), e =>
        {
            _state = EnvironmentLogic.Apply(_state, e);
            _provider.ResetAsync(_state.Handle!, Cancel(_settings.ResetTimeout))
                .PipeTo(Self, success: () => new ResetFinished(replyTo, m.TaskId, null), failure: ex => new ResetFinished(replyTo, m.TaskId, Describe(ex)));
        });
    }

    private void OnResetFinished(ResetFinished m)
    {
        if (m.Error is not null)
        {
            // Unusable now; MarkLost removes what is left of it.
            MarkLost($"reset failed: {m.Error}", [m.ReplyTo], m.TaskId);
            return;
        }
        Persist(new EnvironmentEvents.ResetCompleted(_id, DateTimeOffset.UtcNow), e =>
        {
            _state = EnvironmentLogic.Apply(_state, e);
            m.ReplyTo.Tell(new ResetDone(_id));
        });
    }

    private void OnDestroy(Destroy m)
    {
        if (_state.IsGone || _state.Status == EnvironmentStatus.Unknown)
        {
            Sender.Tell(new DestroyDone(_id));
            Passivate();
            return;
        }
        if (_state.Status == EnvironmentStatus.Provisioning)
        {
            _destroyAfterProvision = true;
            return;
        }
        if (_destroying)
        {
            // Already on its way out (e.g. the task's destroy and a pool drain): one destroy, both answered.
            _laterDestroyWaiters.Add(Sender);
            return;
        }
        StartDestroy(m.Reason, [Sender]);
    }

    private void StartDestroy(string reason, IReadOnlyList<IActorRef> replyTo)
    {
        _destroying = true;
        _provider.DestroyAsync(_state.Handle!, Cancel(_settings.DestroyTimeout))
            .PipeTo(Self, success: () => new DestroyFinished(reason, replyTo), failure: ex => new DestroyFinished($"{reason} (destroy error: {Describe(ex)})", replyTo));
    }

    private void MarkLost(string reason, IReadOnlyList<IActorRef> notify, string? taskId = null)
    {
        _log.Warning("environment {0} lost: {1}", _id, reason);
        RemoveLeftovers();
        Persist(new EnvironmentEvents.Lost(_id, reason, DateTimeOffset.UtcNow), e =>
        {
            _state = EnvironmentLogic.Apply(_state, e);
            foreach (var w in notify) w.Tell(new EnvironmentFailed(_id, taskId ?? "", reason, Lost: true));
            Passivate();
        });
    }

    // A lost environment may still hold a resource (a stopped container, or one created by a provision
    // interrupted by a restart): remove it now rather than leave it to the next node start's sweep.
    private void RemoveLeftovers()
    {
        var ct = Cancel(_settings.DestroyTimeout);
        if (_state.Handle is { } handle)
            _ = _provider.DestroyAsync(handle, ct).ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
        else if (_provider is IResourceRemoval removal)
            _ = removal.RemoveResourcesOfAsync(_id, ct).ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
    }

    private void Passivate() => Context.Parent.Tell(new Passivate(PoisonPill.Instance));

    private static CancellationToken Cancel(TimeSpan after) => new CancellationTokenSource(after).Token;

    private static string Describe(Exception ex) => (ex is AggregateException { InnerException: { } inner } ? inner : ex).Message;

    private static string TruncateUtf8(string s, int maxBytes)
    {
        if (Encoding.UTF8.GetByteCount(s) <= maxBytes) return s;
        var chars = Math.Min(s.Length, maxBytes);
        while (chars > 0 && Encoding.UTF8.GetByteCount(s.AsSpan(0, chars)) > maxBytes) chars--;
        return s[..chars];
    }

    private sealed record ProvisionFinished(EnvironmentHandle? Handle, string? Error);
    private sealed record ExecFinished(IActorRef ReplyTo, string TaskId, ExecResult? Result, string? Error);
    private sealed record ResetFinished(IActorRef ReplyTo, string TaskId, string? Error);
    private sealed record DestroyFinished(string Reason, IReadOnlyList<IActorRef> ReplyTo);
    private sealed record HealthChecked(HealthStatus Status, string? Error);
}
