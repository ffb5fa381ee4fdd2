using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Environments;
using static MegaFlow.Contracts.Environments.EnvironmentProtocol;
using static MegaFlow.Domain.Tests.Environments.EnvironmentStates;
using C = MegaFlow.Domain.Environments.EnvironmentCommands;
using E = MegaFlow.Domain.Environments.EnvironmentEffects;

namespace MegaFlow.Domain.Tests.Environments;

/// <summary>
/// Every command against every status (and the in-flight states that change behaviour), on the
/// node incarnation that owns the environment. A cell names what the decision journals, which
/// in-flight transitions it makes, and how the sender is answered:
/// <list type="bullet">
/// <item>event and transition names (Requested, Lost, DestroyStarted, ...);</item>
/// <item>"ready", "reset-done", "destroy-done", "exec-result": the sender is answered at once;</item>
/// <item>"failed" / "failed-lost": the sender gets EnvironmentFailed (Lost false / true);</item>
/// <item>"wait": the sender waits for the running provider call; "check": a health check starts;</item>
/// <item>"passivate": the entity only leaves memory; "-": nothing at all.</item>
/// </list>
/// null marks a cell that no actor reaches (an outcome of a provider call that cannot be running
/// there, or a recovery in an in-flight state, which a fresh incarnation never has — see
/// <see cref="EnvironmentRecoveryTests"/> for the retried recovery). The effects in detail are
/// specified in the other test classes; this table is the map.
/// </summary>
public class EnvironmentTransitionTableTests
{
    private static readonly EnvironmentSpec ASpec = Spec;

    private static readonly Dictionary<string, C.IEnvironmentCommand> Commands = new()
    {
        ["Provision(task-1#1)"] = new C.Provision(ASpec, Lessee, 1),
        ["Provision(task-2#1)"] = new C.Provision(ASpec, OtherTask, 1),
        ["Lease(task-1#1)"] = new C.Lease(Lessee, 1),
        ["Lease(task-1#2)"] = new C.Lease(Lessee, 2),
        ["Lease(task-2#1)"] = new C.Lease(OtherTask, 1),
        ["Exec(task-1)"] = new C.Exec(Lessee),
        ["Exec(task-2)"] = new C.Exec(OtherTask),
        ["Reset(task-1)"] = new C.Reset(Lessee),
        ["Reset(task-2)"] = new C.Reset(OtherTask),
        ["Destroy"] = new C.Destroy("pool drained"),
        ["ResourceDied"] = new C.ResourceDied("container killed"),
        ["Recovered"] = C.Recovered.Instance,
        ["Recheck"] = C.Recheck.Instance,
        ["ProvisionFinished(ok)"] = new C.ProvisionFinished(Handle, null),
        ["ProvisionFinished(error)"] = new C.ProvisionFinished(null, "image not found"),
        ["ExecFinished(ok)"] = new C.ExecFinished(Lessee, null),
        ["ExecFinished(error)"] = new C.ExecFinished(Lessee, "engine unreachable"),
        ["ResetFinished(ok)"] = new C.ResetFinished(null),
        ["ResetFinished(error)"] = new C.ResetFinished("engine unreachable"),
        ["DestroyFinished"] = new C.DestroyFinished("pool drained"),
        ["HealthChecked(healthy)"] = new C.HealthChecked(true, null),
        ["HealthChecked(missing)"] = new C.HealthChecked(false, "no such container"),
        ["HealthChecked(check failed)"] = new C.HealthChecked(null, "engine unreachable"),
        ["LesseeAnswered(task-1#1 not held)"] = new C.LesseeAnswered(Lessee, 1, false),
        ["PoolAnswered(not listed)"] = new C.PoolAnswered(false),
    };

    private const string? X = null;

    // Columns, in order: see EnvironmentStates.Named.
    //   Unknown, Provisioning, Ready, Leased, Resetting, Destroyed, Lost,
    //   Leased+Destroying, Provisioning+DestroyDeferred, Resetting+DestroyDeferred, Leased+Exec
    private static readonly Dictionary<string, string?[]> Expected = new()
    {
        ["Provision(task-1#1)"] = ["Requested wait", "wait", "failed", "ready", "failed", "failed-lost", "failed-lost", "failed", "wait", "failed", "ready"],
        ["Provision(task-2#1)"] = ["Requested wait", "failed", "failed", "failed", "failed", "failed-lost", "failed-lost", "failed", "failed", "failed", "failed"],
        ["Lease(task-1#1)"] = ["failed-lost", "failed", "Leased ready", "ready", "failed", "failed-lost", "failed-lost", "failed-lost", "failed-lost", "failed-lost", "ready"],
        ["Lease(task-1#2)"] = ["failed-lost", "failed", "Leased ready", "Leased ready", "failed", "failed-lost", "failed-lost", "failed-lost", "failed-lost", "failed-lost", "failed"],
        ["Lease(task-2#1)"] = ["failed-lost", "failed", "Leased ready", "failed", "failed", "failed-lost", "failed-lost", "failed-lost", "failed-lost", "failed-lost", "failed"],
        ["Exec(task-1)"] = ["failed", "failed", "failed", "ExecStarted", "failed", "failed-lost", "failed-lost", "failed", "failed", "failed", "ExecStarted"],
        ["Exec(task-2)"] = ["failed", "failed", "failed", "failed", "failed", "failed-lost", "failed-lost", "failed", "failed", "failed", "failed"],
        ["Reset(task-1)"] = ["failed", "failed", "reset-done", "ResetStarted wait", "wait", "failed-lost", "failed-lost", "failed", "failed", "wait", "failed"],
        // Only the lessee resets; an idle environment is already reset.
        ["Reset(task-2)"] = ["failed", "failed", "failed", "failed", "failed", "failed-lost", "failed-lost", "failed", "failed", "failed", "failed"],
        ["Destroy"] = ["destroy-done", "DestroyDeferred wait", "DestroyStarted wait", "DestroyStarted wait", "DestroyDeferred wait", "destroy-done", "destroy-done", "wait", "wait", "wait", "DestroyStarted wait"],
        ["ResourceDied"] = ["-", "-", "Lost", "Lost", "-", "-", "-", "-", "-", "-", "DiedDuringExec"],
        ["Recovered"] = ["-", "Lost", "DestroyStarted", "check", "Lost", "passivate", "passivate", X, X, X, X],
        // Only after a failed check (faults > 0, see EnvironmentRecoveryTests) is there anything to recheck.
        ["Recheck"] = ["-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-"],
        ["ProvisionFinished(ok)"] = ["-", "Provisioned", "-", "-", "-", "-", "-", "-", "Provisioned DestroyStarted", "-", "-"],
        ["ProvisionFinished(error)"] = ["-", "Lost", "-", "-", "-", "-", "-", "-", "Lost", "-", "-"],
        ["ExecFinished(ok)"] = [X, X, X, "ExecEnded exec-result", X, "ExecEnded failed-lost", "ExecEnded failed-lost", "ExecEnded failed-lost", X, X, "ExecEnded exec-result"],
        ["ExecFinished(error)"] = [X, X, X, X, X, "ExecEnded failed-lost", "ExecEnded failed-lost", "ExecEnded failed-lost", X, X, "Lost ExecEnded failed-lost"],
        ["ResetFinished(ok)"] = ["-", "-", "-", "-", "ResetCompleted", "-", "-", "-", "-", "ResetCompleted DestroyStarted", "-"],
        ["ResetFinished(error)"] = ["-", "-", "-", "-", "Lost", "-", "-", "-", "-", "Lost", "-"],
        ["DestroyFinished"] = [X, X, X, X, X, "passivate", "passivate", "Destroyed", X, X, X],
        ["HealthChecked(healthy)"] = ["-", "-", "-", "-", "-", "-", "-", X, "-", "-", "-"],
        ["HealthChecked(missing)"] = ["-", "-", "Lost", "Lost", "-", "-", "-", X, "-", "-", "Lost"],
        ["HealthChecked(check failed)"] = ["-", "-", "Faulted", "Faulted", "-", "-", "-", X, "-", "-", "Faulted"],
        ["LesseeAnswered(task-1#1 not held)"] = ["-", "-", "-", "Struck", "-", "-", "-", "-", "-", "-", "-"],
        ["PoolAnswered(not listed)"] = ["-", "-", "Struck", "-", "-", "-", "-", "-", "-", "-", "-"],
    };

    /// <summary>The foreign-host row: the same commands on another node incarnation (the id's node is gone).</summary>
    private static readonly Dictionary<string, string?[]> ExpectedOnAForeignHost = new()
    {
        ["Provision(task-1#1)"] = ["failed-lost", "failed-lost", "failed-lost", "failed-lost", "failed-lost", "failed-lost", "failed-lost", X, X, X, X],
        ["Lease(task-1#1)"] = ["failed-lost", "failed-lost", "failed-lost", "failed-lost", "failed-lost", "failed-lost", "failed-lost", X, X, X, X],
        ["Reset(task-1)"] = ["failed-lost", "failed-lost", "failed-lost", "failed-lost", "failed-lost", "failed-lost", "failed-lost", X, X, X, X],
        ["Recovered"] = ["-", "Lost", "Lost", "Lost", "Lost", "passivate", "passivate", X, X, X, X],
    };

    /// <summary>What a decision amounts to, in the table's words.</summary>
    internal static string Summarize(EnvironmentDecision d)
    {
        var parts = d.Events.Select(e => e.GetType().Name)
            .Concat(d.Transitions.Select(t => t.GetType().Name))
            .Concat(d.Effects.Select(Answering).OfType<string>())
            .ToList();
        if (parts.Count == 0 && d.Effects.Contains(E.Passivate.Instance)) return "passivate";
        return parts.Count == 0 ? "-" : string.Join(" ", parts);
    }

    private static string? Answering(E.IEffect effect) => effect switch
    {
        E.Reply { Message: EnvironmentReady } => "ready",
        E.Reply { Message: EnvironmentFailed f } => f.Lost ? "failed-lost" : "failed",
        E.Reply { Message: ResetDone } => "reset-done",
        E.Reply { Message: DestroyDone } => "destroy-done",
        E.Reply r => throw new InvalidOperationException($"unexpected reply {r.Message}"),
        E.ReplyExecResult => "exec-result",
        E.Wait => "wait",
        E.CheckHealth => "check",
        _ => null,
    };

    public static TheoryData<string, string, string, string> Table()
    {
        var data = new TheoryData<string, string, string, string>();
        foreach (var (host, table) in new[] { (Node, Expected), (NewIncarnation, ExpectedOnAForeignHost) })
        foreach (var (command, row) in table)
        for (var i = 0; i < Named.Length; i++)
            if (row[i] is { } expected)
                data.Add(command, Named[i].Name, host, expected);
        return data;
    }

    [Fact]
    public void The_table_covers_every_command_type_and_every_status()
    {
        Assert.Equal(Commands.Keys.Order(), Expected.Keys.Order());
        Assert.All(Expected.Values.Concat(ExpectedOnAForeignHost.Values), row => Assert.Equal(Named.Length, row.Length));
        var commandTypes = typeof(C).GetNestedTypes().Where(t => !t.IsInterface).Select(t => t.Name).Order();
        Assert.Equal(commandTypes, Commands.Values.Select(c => c.GetType().Name).Distinct().Order());
        Assert.Equal(AllStatuses.Select(s => s.ToString()), Named.Select(n => n.Name).Where(n => Enum.TryParse<EnvironmentStatus>(n, out _)));
    }

    [Theory]
    [MemberData(nameof(Table))]
    public void A_command_has_the_specified_outcome_in_each_state(string command, string state, string host, string expected)
    {
        var d = EnvironmentLogic.Decide(ByName(state), Commands[command], host, T0);

        Assert.Equal(expected, Summarize(d));
    }

    [Theory]
    [MemberData(nameof(Table))]
    public void A_refusal_changes_nothing_and_calls_no_provider(string command, string state, string host, string expected)
    {
        if (!expected.StartsWith("failed", StringComparison.Ordinal) || Commands[command] is C.ExecFinished) return;
        var s = ByName(state);

        var d = EnvironmentLogic.Decide(s, Commands[command], host, T0);

        Assert.Empty(d.Events);
        Assert.Empty(d.Transitions);
        var failed = Assert.IsType<EnvironmentFailed>(Assert.IsType<E.Reply>(d.Effects[0]).Message);
        Assert.Equal(Id, failed.EnvironmentId);
        Assert.False(string.IsNullOrEmpty(failed.Reason));
        // An entity that never existed leaves memory after refusing; a known one stays.
        var rest = d.Effects.Skip(1).ToList();
        if (s.Status == EnvironmentStatus.Unknown) Assert.Equal([E.Passivate.Instance], rest);
        else Assert.Empty(rest);
    }

    /// <summary>Every cell of both tables, decided at <paramref name="at"/>.</summary>
    private static IEnumerable<(string Cell, EnvironmentDecision Decision)> EveryCell(DateTimeOffset at)
    {
        foreach (var row in Table())
        {
            var (command, state, host) = ((string)row[0], (string)row[1], (string)row[2]);
            yield return ($"{command} in {state} on {host}", EnvironmentLogic.Decide(ByName(state), Commands[command], host, at));
        }
    }

    [Fact]
    public void Journaled_events_are_for_this_environment_and_stamped_with_the_decision_time()
    {
        var at = T0.AddHours(1);
        foreach (var (cell, d) in EveryCell(at))
        foreach (var e in d.Events)
        {
            Assert.True(e.EnvironmentId == Id, cell);
            Assert.True(at == (DateTimeOffset)e.GetType().GetProperty("At")!.GetValue(e)!, cell);
        }
    }

    [Fact]
    public void Whatever_journals_Lost_or_Destroyed_also_passivates_as_its_last_effect()
    {
        foreach (var (cell, d) in EveryCell(T0))
            if (d.Events.Any(e => e is EnvironmentEvents.Lost or EnvironmentEvents.Destroyed))
                Assert.True(d.Effects[^1] is E.Passivate, cell);
    }

    [Fact]
    public void A_loss_answers_every_waiter_whatever_it_waits_for()
    {
        foreach (var (cell, d) in EveryCell(T0))
        {
            var lost = d.Events.Any(e => e is EnvironmentEvents.Lost);
            var answered = d.Effects.OfType<E.Answer>().Select(a => a.Kind).ToHashSet();
            Assert.True(!lost || answered.SetEquals(Enum.GetValues<E.WaitKind>()), $"{cell}: a loss leaves waiters unanswered");
        }
    }

    public static TheoryData<string> GoneStates => new("Destroyed", "Lost");

    [Theory]
    [MemberData(nameof(GoneStates))]
    public void Once_gone_no_command_journals_anything_or_calls_a_provider(string state)
    {
        foreach (var host in new[] { Node, NewIncarnation, OtherNode })
        foreach (var (name, command) in Commands)
        {
            var s = ByName(state);
            var d = EnvironmentLogic.Decide(s, command, host, T0);

            Assert.True(d.Events.Count == 0, $"{name} on {host} journaled {string.Join(", ", d.Events)}");
            Assert.DoesNotContain(d.Effects, e => e is E.StartProvision or E.StartExec or E.StartReset or E.StartDestroy or E.CheckHealth or E.RemoveLeftovers);
            Assert.True(EnvironmentLogic.ApplyTransitions(s, d).IsGone);
        }
    }

    [Fact]
    public void An_unknown_command_is_a_programming_error()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => EnvironmentLogic.Decide(At(EnvironmentStatus.Leased), new Unheard(), Node, T0));
    }

    private sealed record Unheard : C.IEnvironmentCommand;
}
