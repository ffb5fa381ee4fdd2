using Akka.Hosting;
using System.Text;
using MegaFlow.Protocol;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;
using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Environments;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using MegaFlow.Environments;
using MegaFlow.Storage;
using static MegaFlow.Domain.Environments.EnvironmentEffects;
using static MegaFlow.Contracts.Environments.EnvironmentProtocol;
using Commands = MegaFlow.Domain.Environments.EnvironmentCommands;

namespace MegaFlow.Actors.Environments;

public sealed record EnvironmentActorSettings
{
    /// <summary>The node incarnation this actor runs on ("host:port~uid", see NodeKey).</summary>
    public required string Node { get; init; }
    public TimeSpan ProvisionTimeout { get; init; } = TimeSpan.FromMinutes(10);
    public TimeSpan ResetTimeout { get; init; } = TimeSpan.FromMinutes(2);
    public TimeSpan DestroyTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How often a leased environment checks its lessee, and an idle one its pool entry.</summary>
    public TimeSpan CheckInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>This node's model gateway (http://127.0.0.1:port/), handed to agent programs; null when the node has none.</summary>
    public Uri? Gateway { get; init; }
}

/// <summary>
/// One environment, sharded by environment id (pinned to the node incarnation that holds its
/// resource) and event-sourced. It is thin: every command goes through <see cref="EnvironmentLogic.Decide"/>;
/// the actor writes the decision's events, applies them, and performs its effects — provider calls
/// (run asynchronously, their outcomes coming back as commands), replies and notices.
/// </summary>
public sealed class EnvironmentActor : ReceivePersistentActor, IWithTimers
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    private readonly string _id;
    private readonly IEnvironmentProvider _provider;
    private readonly IArtifactStore _artifacts;
    private readonly IActorRef _scheduler;
    private readonly EnvironmentActorSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<WaitKind, List<IActorRef>> _waiters = new();
    private EnvironmentState _state;
    // The command running now, to call off when the environment is destroyed under it.
    private CancellationTokenSource? _runningExec;

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
        // Runs on RecoveryCompleted (not OnReplaySuccess): only from here on may the actor persist.
        Recover<RecoveryCompleted>(_ => Handle(Commands.Recovered.Instance, ActorRefs.Nobody));

        Command<Provision>(m => Handle(new Commands.Provision(m.Spec, m.TaskId, m.Attempt), Sender));
        Command<EnvironmentProtocol.Lease>(m => Handle(new Commands.Lease(m.TaskId, m.Attempt), Sender));
        Command<Exec>(m => Handle(new Commands.Exec(m.TaskId), Sender, m));
        Command<Reset>(m => Handle(new Commands.Reset(m.TaskId), Sender));
        Command<Destroy>(m => Handle(new Commands.Destroy(m.Reason), Sender));
        Command<ResourceDied>(m => Handle(new Commands.ResourceDied(m.Reason), Sender));
        Command<Finished>(m =>
        {
            if (m.Outcome is Commands.ExecFinished) _runningExec = null;
            Handle(m.Outcome, m.ReplyTo, m.Exec, m.Result);
        });
        Command<CheckTick>(_ => Check());
        Command<TaskProtocol.LeaseHeld>(m => Handle(new Commands.LesseeAnswered(m.TaskId, m.Attempt, m.Holds), ActorRefs.Nobody));
        Command<SchedulerProtocol.PoolListing>(m => Handle(new Commands.PoolAnswered(m.Listed), ActorRefs.Nobody));
        Command<GetEnvironmentState>(_ => Sender.Tell(_state));
    }

    public static Props Props(string id, IEnvironmentProvider provider, IArtifactStore artifacts, IActorRef scheduler, EnvironmentActorSettings settings) =>
        Akka.Actor.Props.Create(() => new EnvironmentActor(id, provider, artifacts, scheduler, settings));

    public override string PersistenceId => "env-" + _id;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Decides, applies the in-flight transitions, writes the events, then performs the effects.</summary>
    private void Handle(Commands.IEnvironmentCommand command, IActorRef replyTo, Exec? exec = null, ExecResult? result = null)
    {
        var d = EnvironmentLogic.Decide(_state, command, _settings.Node, DateTimeOffset.UtcNow);
        _state = EnvironmentLogic.ApplyTransitions(_state, d);
        if (d.Events.Count == 0)
        {
            Perform(d.Effects, replyTo, exec, result);
            return;
        }
        var remaining = d.Events.Count;
        PersistAll(d.Events, e =>
        {
            _state = EnvironmentLogic.Apply(_state, e);
            if (--remaining == 0) Perform(d.Effects, replyTo, exec, result);
        });
    }

    private void Perform(IReadOnlyList<IEffect> effects, IActorRef replyTo, Exec? exec, ExecResult? result)
    {
        foreach (var effect in effects)
        {
            switch (effect)
            {
                case Reply r:
                    replyTo.Tell(r.Message);
                    break;
                case Wait w:
                    // A resent request (at-least-once) waits once: one answer per asker.
                    if (!Waiters(w.Kind).Contains(replyTo)) Waiters(w.Kind).Add(replyTo);
                    break;
                case Answer a:
                    foreach (var waiter in Waiters(a.Kind)) waiter.Tell(a.Message);
                    _waiters.Remove(a.Kind);
                    break;
                case StartProvision p:
                    Call(ct => _provider.ProvisionAsync(_id, p.Spec, ct), _settings.ProvisionTimeout,
                        h => new Commands.ProvisionFinished(h, null), e => new Commands.ProvisionFinished(null, e));
                    break;
                case StartExec:
                    var handle = _state.Handle!;
                    var request = exec!;
                    // The provider enforces the command's timeout; this token is a backstop against a hung
                    // provider, and is cancelled when the environment is destroyed mid-command (a cancelled
                    // task): the provider then kills the command instead of letting it run to its timeout.
                    var running = new CancellationTokenSource(TimeSpan.FromSeconds(request.TimeoutSeconds) + _settings.ResetTimeout);
                    _runningExec = running;
                    Safely(() => RunExec(handle, request, running.Token)).PipeTo(Self,
                        success: r => new Finished(new Commands.ExecFinished(request.TaskId, null), replyTo, request, r),
                        failure: ex => new Finished(new Commands.ExecFinished(request.TaskId, Describe(ex)), replyTo, request, null));
                    break;
                case ReplyExecResult:
                    replyTo.Tell(result!);
                    break;
                case StartReset:
                    var toReset = _state.Handle!;
                    Call(async ct => { await _provider.ResetAsync(toReset, ct); return true; }, _settings.ResetTimeout,
                        _ => new Commands.ResetFinished(null), e => new Commands.ResetFinished(e));
                    break;
                case StartDestroy d:
                    _runningExec?.Cancel();
                    var toDestroy = _state.Handle;
                    Call(async ct => { if (toDestroy is not null) await _provider.DestroyAsync(toDestroy, ct); return true; }, _settings.DestroyTimeout,
                        _ => new Commands.DestroyFinished(d.Reason), e => new Commands.DestroyFinished($"{d.Reason} (destroy error: {e})"));
                    break;
                case CheckHealth:
                    var toCheck = _state.Handle!;
                    Call(ct => _provider.CheckHealthAsync(toCheck, ct), _settings.ResetTimeout,
                        h => new Commands.HealthChecked(h == HealthStatus.Healthy, null), e => new Commands.HealthChecked(null, e));
                    break;
                case RemoveLeftovers:
                    RemoveLeftoversNow();
                    break;
                case NotifyLessee n:
                    TaskRegion()?.Tell(n.Notice);
                    break;
                case RetireFromPool:
                    _scheduler.Tell(new SchedulerProtocol.RetireEnvironment(_id));
                    break;
                case Warn w:
                    _log.Warning(w.Message);
                    break;
                case RetryHealthCheckLater r:
                    var delay = TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, r.Faults)));
                    Timers.StartSingleTimer("recheck", new Finished(Commands.Recheck.Instance, ActorRefs.Nobody, null, null), delay);
                    break;
                case EnvironmentEffects.Passivate:
                    Context.Parent.Tell(new Akka.Cluster.Sharding.Passivate(PoisonPill.Instance));
                    break;
                default:
                    throw new InvalidOperationException($"unknown environment effect {effect.GetType().Name}");
            }
        }
        UpdateCheckTimer();
    }

    // Leased and idle environments check, on a timer, that someone still holds them: the lessee's
    // attempt, or the scheduler's pool. Nothing else ends a lease whose release was lost in a crash.
    private void UpdateCheckTimer()
    {
        var needed = EnvironmentLogic.NeedsLesseeCheck(_state) || EnvironmentLogic.NeedsPoolCheck(_state);
        if (needed && !Timers.IsTimerActive("check"))
            Timers.StartPeriodicTimer("check", CheckTick.Instance, _settings.CheckInterval);
        else if (!needed)
            Timers.Cancel("check");
    }

    // Plain tells, not asks: with 10,000 leased environments an ask's temporary actor per check
    // adds up, and a missing answer needs no handling (no answer is no strike; the next tick asks again).
    private void Check()
    {
        if (EnvironmentLogic.NeedsLesseeCheck(_state))
            TaskRegion()?.Tell(new TaskProtocol.CheckLease(_state.LeasedTo!, _state.LeasedAttempt, _id), Self);
        else if (EnvironmentLogic.NeedsPoolCheck(_state))
            _scheduler.Tell(new SchedulerProtocol.CheckPooled(_id), Self);
    }

    private List<IActorRef> Waiters(WaitKind kind) =>
        _waiters.TryGetValue(kind, out var list) ? list : _waiters[kind] = [];

    /// <summary>Runs a provider call with a deadline and pipes its outcome back as a command; a call that throws before returning a task counts as failed.</summary>
    private void Call<T>(Func<CancellationToken, Task<T>> call, TimeSpan timeout, Func<T, Commands.IEnvironmentCommand> success, Func<string, Commands.IEnvironmentCommand> failure)
    {
        var ct = Cancel(timeout);
        Safely(() => call(ct)).PipeTo(Self,
            success: r => new Finished(success(r), ActorRefs.Nobody, null, null),
            failure: ex => new Finished(failure(Describe(ex)), ActorRefs.Nobody, null, null));
    }

    // A provider that throws synchronously must not throw inside the actor (that was a crash loop:
    // an exception in recovery restarts the actor, which recovers and throws again).
    private static Task<T> Safely<T>(Func<Task<T>> call)
    {
        try
        {
            return call();
        }
        catch (Exception e)
        {
            return Task.FromException<T>(e);
        }
    }

    private async Task<ExecResult> RunExec(EnvironmentHandle handle, Exec m, CancellationToken ct)
    {
        var timeout = TimeSpan.FromSeconds(m.TimeoutSeconds);
        var outcome = await _provider.ExecAsync(handle, new ExecRequest(m.Command, timeout, m.CaptureBytes, ModelEnvironment(handle, m)), ct);
        var inline = TruncateUtf8(outcome.Output, m.InlineBytes);
        string? artifact = null;
        if (outcome.OutputBytes > m.InlineBytes)
            artifact = await _artifacts.SaveAsync(m.ArtifactKey, Encoding.UTF8.GetBytes(outcome.Output), CancellationToken.None);
        return new ExecResult(_id, outcome.ExitCode, inline, outcome.OutputBytes, outcome.OutputBytes > m.InlineBytes,
            outcome.TimedOut, outcome.StartedAt, outcome.Duration.TotalMilliseconds, artifact);
    }

    /// <summary>
    /// What an agent program needs to call its model: this node's gateway for its attempt, as the
    /// environment reaches it, and the attempt's key. The standard OpenAI variable names, so any
    /// OpenAI client library picks them up. A node without a gateway gives none: the program's calls fail.
    /// </summary>
    private IReadOnlyDictionary<string, string>? ModelEnvironment(EnvironmentHandle handle, Exec m)
    {
        if (m.Model is not { } model || _settings.Gateway is not { } gateway) return null;
        var reachable = _provider is IGatewayAddressing addressing ? addressing.GatewayFor(handle, gateway) : gateway;
        return new Dictionary<string, string>
        {
            ["OPENAI_BASE_URL"] = ModelGatewayRoutes.BaseUrl(reachable, m.TaskId, model.Attempt).ToString(),
            ["OPENAI_API_KEY"] = model.Key,
        };
    }

    // A lost environment may still hold a resource (a stopped container, or one created by a provision
    // interrupted by a restart): remove it now rather than leave it to the next node start's sweep.
    private void RemoveLeftoversNow()
    {
        var ct = Cancel(_settings.DestroyTimeout);
        var handle = _state.Handle;
        var removal = _provider as IResourceRemoval;
        Safely(async () =>
        {
            if (handle is not null) await _provider.DestroyAsync(handle, ct);
            else if (removal is not null) await removal.RemoveResourcesOfAsync(_id, ct);
            return true;
        }).ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
    }

    // The lessee may be anywhere: reach it through the task region on this node (workers host both).
    // Null where no task region is registered (an environment region started without one, as in some
    // tests): the task still learns at its next command, which fails on the lost environment.
    private IActorRef? TaskRegion() =>
        ActorRegistry.For(Context.System).TryGet<ActorKeys.Tasks>(out var region) ? region : null;

    private static CancellationToken Cancel(TimeSpan after) => new CancellationTokenSource(after).Token;

    private static string Describe(Exception ex) => (ex is AggregateException { InnerException: { } inner } ? inner : ex).Message;

    private static string TruncateUtf8(string s, int maxBytes)
    {
        if (Encoding.UTF8.GetByteCount(s) <= maxBytes) return s;
        var chars = Math.Min(s.Length, maxBytes);
        while (chars > 0 && Encoding.UTF8.GetByteCount(s.AsSpan(0, chars)) > maxBytes) chars--;
        return s[..chars];
    }

    /// <summary>The outcome of an asynchronous call or check, with whom to answer (and, for commands, the request and result).</summary>
    private sealed record Finished(Commands.IEnvironmentCommand Outcome, IActorRef ReplyTo, Exec? Exec, ExecResult? Result);

    private sealed record CheckTick
    {
        public static readonly CheckTick Instance = new();
    }
}
