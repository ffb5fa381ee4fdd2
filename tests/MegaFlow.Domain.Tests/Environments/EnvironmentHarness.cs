using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Environments;
using C = MegaFlow.Domain.Environments.EnvironmentCommands;
using E = MegaFlow.Domain.Environments.EnvironmentEffects;
using Ev = MegaFlow.Contracts.Environments.EnvironmentEvents;

namespace MegaFlow.Domain.Tests.Environments;

/// <summary>
/// Does with a decision what the EnvironmentActor does, without actors: applies its transitions at
/// once, writes its events to the journal and applies them in order, and records its effects. It
/// also keeps what the actor keeps in memory besides the state: who waits for what, and which
/// provider calls are running (their outcomes come back as commands). A restart drops all of that
/// and recovers from the journal, as a new incarnation of the actor does.
/// </summary>
internal sealed class EnvironmentHarness
{
    private readonly Dictionary<E.WaitKind, int> _waiters = [];
    private readonly List<string> _execs = [];

    public EnvironmentHarness(string id, IEnumerable<Ev.IEnvironmentEvent> journal, string host = EnvironmentStates.Node)
    {
        Id = id;
        Host = host;
        Journal.AddRange(journal);
        State = Journal.Aggregate(EnvironmentState.Empty(id), EnvironmentLogic.Apply);
    }

    /// <summary>An environment whose journal leads to <paramref name="status"/> (see <see cref="EnvironmentStates.Journal(EnvironmentStatus)"/>).</summary>
    public static EnvironmentHarness At(EnvironmentStatus status, string host = EnvironmentStates.Node) =>
        new(EnvironmentStates.Id, EnvironmentStates.Journal(status), host);

    public string Id { get; }

    /// <summary>The node incarnation the actor runs on.</summary>
    public string Host { get; private set; }

    public EnvironmentState State { get; private set; }

    public List<Ev.IEnvironmentEvent> Journal { get; } = [];

    /// <summary>Every effect so far, in order.</summary>
    public List<E.IEffect> Effects { get; } = [];

    public DateTimeOffset Now { get; set; } = EnvironmentStates.T0.AddMinutes(1);

    // ---- what the actor holds in memory ----

    public int Waiting(E.WaitKind kind) => _waiters.GetValueOrDefault(kind);

    public bool Provisioning { get; private set; }
    public bool ResettingCall { get; private set; }
    public bool DestroyingCall { get; private set; }
    public bool CheckingHealth { get; private set; }
    public bool RecoveryRetryPending { get; private set; }
    public IReadOnlyList<string> ExecsRunning => _execs;

    /// <summary>The actor asked to leave memory; the next message starts a new incarnation.</summary>
    public bool Passivated { get; private set; }

    public int Count<T>() where T : E.IEffect => Effects.OfType<T>().Count();

    public EnvironmentDecision Send(C.IEnvironmentCommand command)
    {
        // Outcomes of provider calls end the call they belong to.
        switch (command)
        {
            case C.ProvisionFinished: Provisioning = false; break;
            case C.ResetFinished: ResettingCall = false; break;
            case C.DestroyFinished: DestroyingCall = false; break;
            case C.HealthChecked: CheckingHealth = false; break;
            case C.ExecFinished x: _execs.Remove(x.TaskId); break;
            case C.Recovered: RecoveryRetryPending = false; break;
        }

        var d = EnvironmentLogic.Decide(State, command, Host, Now);
        State = EnvironmentLogic.ApplyTransitions(State, d);
        foreach (var e in d.Events)
        {
            Journal.Add(e);
            State = EnvironmentLogic.Apply(State, e);
        }
        foreach (var effect in d.Effects)
        {
            Effects.Add(effect);
            switch (effect)
            {
                case E.Wait w: _waiters[w.Kind] = Waiting(w.Kind) + 1; break;
                case E.Answer a: _waiters.Remove(a.Kind); break;
                case E.StartProvision: Provisioning = true; break;
                case E.StartReset: ResettingCall = true; break;
                case E.StartDestroy: DestroyingCall = true; break;
                case E.CheckHealth: CheckingHealth = true; break;
                case E.RetryHealthCheckLater: RecoveryRetryPending = true; break;
                case E.StartExec: _execs.Add(((C.Exec)command).TaskId); break;
                case E.Passivate: Passivated = true; break;
            }
        }
        return d;
    }

    /// <summary>
    /// A new incarnation of the actor, on <paramref name="host"/> (by default where it ran): in-memory
    /// state, waiters and running calls are gone; the journal is replayed and Recovered decided.
    /// </summary>
    public EnvironmentDecision Restart(string? host = null)
    {
        Host = host ?? Host;
        State = Journal.Aggregate(EnvironmentState.Empty(Id), EnvironmentLogic.Apply);
        _waiters.Clear();
        _execs.Clear();
        Provisioning = ResettingCall = DestroyingCall = CheckingHealth = RecoveryRetryPending = false;
        Passivated = false;
        return Send(C.Recovered.Instance);
    }
}
