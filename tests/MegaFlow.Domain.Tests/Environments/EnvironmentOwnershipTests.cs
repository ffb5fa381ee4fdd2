using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Environments;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using static MegaFlow.Contracts.Environments.EnvironmentProtocol;
using static MegaFlow.Domain.Tests.Environments.EnvironmentStates;
using C = MegaFlow.Domain.Environments.EnvironmentCommands;
using E = MegaFlow.Domain.Environments.EnvironmentEffects;
using Ev = MegaFlow.Contracts.Environments.EnvironmentEvents;

namespace MegaFlow.Domain.Tests.Environments;

/// <summary>
/// An environment's resource lives on the node incarnation its id names. An actor anywhere else —
/// another node, or the same address after a restart (a new incarnation) — never provisions,
/// adopts or touches it: it refuses, and a live environment there is lost at once, its lessee told.
/// </summary>
public class EnvironmentOwnershipTests
{
    public static TheoryData<string> ForeignHosts => new(NewIncarnation, OtherNode);

    /// <summary>
    /// Effects that use the resource: none may happen on a foreign host. (Removing the leftovers of an
    /// environment that is Lost is cleanup, not use: it is asked for, see the recovery tests below.)
    /// </summary>
    private static bool TouchesTheResource(E.IEffect e) =>
        e is E.StartProvision or E.StartExec or E.StartReset or E.StartDestroy or E.CheckHealth;

    [Fact]
    public void An_environment_id_names_the_node_incarnation_it_lives_on()
    {
        var id = EnvironmentIds.New(Node);

        Assert.Matches("^env-[0-9a-f]{32}@127\\.0\\.0\\.1:4053~111$", id);
        Assert.Equal(Node, EnvironmentIds.NodeOf(id));
        Assert.NotEqual(id, EnvironmentIds.New(Node));
    }

    [Theory]
    [InlineData(Node, true)]
    [InlineData(NewIncarnation, false)]
    [InlineData(OtherNode, false)]
    [InlineData("127.0.0.1:4053", false)]
    public void Only_the_incarnation_in_the_id_owns_the_environment(string host, bool owns)
    {
        Assert.Equal(owns, EnvironmentLogic.IsOwnedBy(Id, host));
    }

    [Theory]
    [InlineData(Node)]
    [InlineData(NewIncarnation)]
    [InlineData(OtherNode)]
    public void An_id_without_a_node_is_not_pinned(string host)
    {
        Assert.Equal("", EnvironmentIds.NodeOf("env-legacy"));
        Assert.True(EnvironmentLogic.IsOwnedBy("env-legacy", host));

        var d = EnvironmentLogic.Decide(EnvironmentState.Empty("env-legacy"), new C.Provision(Spec, Lessee, 1), host, T0);

        Assert.IsType<Ev.Requested>(Assert.Single(d.Events));
        Assert.Contains(d.Effects, e => e is E.StartProvision);
    }

    public static TheoryData<string, string, EnvironmentStatus> RefusedAbroad()
    {
        var data = new TheoryData<string, string, EnvironmentStatus>();
        foreach (var host in new[] { NewIncarnation, OtherNode })
        foreach (var command in new[] { "Provision", "Lease", "Reset" })
        foreach (var status in AllStatuses)
            data.Add(host, command, status);
        return data;
    }

    private static C.IEnvironmentCommand Make(string command) => command switch
    {
        "Provision" => new C.Provision(Spec, Lessee, 1),
        "Lease" => new C.Lease(Lessee, 1),
        "Reset" => new C.Reset(Lessee),
        _ => throw new ArgumentOutOfRangeException(nameof(command)),
    };

    [Theory]
    [MemberData(nameof(RefusedAbroad))]
    public void Provision_lease_and_reset_on_a_foreign_host_are_refused_as_lost_and_never_reach_a_provider(string host, string command, EnvironmentStatus status)
    {
        var d = EnvironmentLogic.Decide(At(status), Make(command), host, T0);

        Assert.Empty(d.Events);
        Assert.Empty(d.Transitions);
        var failed = Assert.IsType<EnvironmentFailed>(Assert.IsType<E.Reply>(d.Effects[0]).Message);
        Assert.Equal(new EnvironmentFailed(Id, Lessee, failed.Reason, Lost: true), failed);
        Assert.Contains(Node, failed.Reason);
        Assert.DoesNotContain(d.Effects, TouchesTheResource);
        // An entity that never existed here leaves memory.
        Assert.Equal(status == EnvironmentStatus.Unknown ? new E.IEffect[] { E.Passivate.Instance } : [], d.Effects.Skip(1));
    }

    [Theory]
    [MemberData(nameof(ForeignHosts))]
    public void A_new_incarnation_at_the_same_address_never_provisions_an_environment_of_the_old_one(string host)
    {
        var h = new EnvironmentHarness(Id, [], host);

        h.Send(new C.Provision(Spec, Lessee, 1));
        h.Send(new C.Provision(Spec, Lessee, 1));

        Assert.Empty(h.Journal);
        Assert.Equal(0, h.Count<E.StartProvision>());
        Assert.True(h.Passivated);
    }

    [Theory]
    [InlineData(EnvironmentStatus.Leased)]
    [InlineData(EnvironmentStatus.Provisioning)]
    public void A_leased_or_provisioning_environment_recovered_on_a_foreign_host_is_lost_and_its_lessee_told(EnvironmentStatus status)
    {
        foreach (var host in new[] { NewIncarnation, OtherNode })
        {
            var d = EnvironmentLogic.Decide(At(status), C.Recovered.Instance, host, T0);

            var lost = Assert.IsType<Ev.Lost>(Assert.Single(d.Events));
            Assert.Contains(Node, lost.Reason);
            Assert.Empty(d.Transitions);
            Assert.DoesNotContain(d.Effects, TouchesTheResource);
            Assert.Contains(E.RemoveLeftovers.Instance, d.Effects);
            Assert.Contains(new E.NotifyLessee(new TaskProtocol.LeasedEnvironmentLost(Lessee, 1, Id, lost.Reason)), d.Effects);
            Assert.DoesNotContain(d.Effects, e => e is E.RetireFromPool);
            Assert.Equal(E.Passivate.Instance, d.Effects[^1]);
        }
    }

    [Theory]
    [MemberData(nameof(ForeignHosts))]
    public void A_ready_environment_recovered_on_a_foreign_host_is_lost_and_leaves_its_pool(string host)
    {
        var d = EnvironmentLogic.Decide(At(EnvironmentStatus.Ready), C.Recovered.Instance, host, T0);

        Assert.IsType<Ev.Lost>(Assert.Single(d.Events));
        Assert.DoesNotContain(d.Effects, TouchesTheResource);
        Assert.Contains(E.RetireFromPool.Instance, d.Effects);
        Assert.DoesNotContain(d.Effects, e => e is E.NotifyLessee);
        Assert.Equal(E.Passivate.Instance, d.Effects[^1]);
    }

    [Theory]
    [MemberData(nameof(ForeignHosts))]
    public void A_resetting_environment_recovered_on_a_foreign_host_is_lost(string host)
    {
        var d = EnvironmentLogic.Decide(At(EnvironmentStatus.Resetting), C.Recovered.Instance, host, T0);

        Assert.IsType<Ev.Lost>(Assert.Single(d.Events));
        Assert.DoesNotContain(d.Effects, TouchesTheResource);
        Assert.Equal(E.Passivate.Instance, d.Effects[^1]);
    }

    [Theory]
    [MemberData(nameof(ForeignHosts))]
    public void A_gone_or_unknown_environment_recovered_on_a_foreign_host_only_leaves_memory_when_gone(string host)
    {
        Assert.Same(EnvironmentDecision.None, EnvironmentLogic.Decide(At(EnvironmentStatus.Unknown), C.Recovered.Instance, host, T0));
        foreach (var status in GoneStatuses)
            Assert.Equal([E.Passivate.Instance], EnvironmentLogic.Decide(At(status), C.Recovered.Instance, host, T0).Effects);
    }

    [Theory]
    [MemberData(nameof(ForeignHosts))]
    public void After_a_move_the_lessee_is_told_at_once_and_its_resent_requests_are_refused_as_lost(string host)
    {
        var h = EnvironmentHarness.At(EnvironmentStatus.Leased);

        h.Restart(host);

        Assert.Equal(EnvironmentStatus.Lost, h.State.Status);
        Assert.Single(h.Effects.OfType<E.NotifyLessee>());
        Assert.True(h.Passivated);

        h.Restart();
        foreach (var command in new C.IEnvironmentCommand[] { new C.Provision(Spec, Lessee, 1), new C.Lease(Lessee, 1), new C.Exec(Lessee), new C.Reset(Lessee) })
        {
            var d = h.Send(command);
            Assert.True(Assert.IsType<EnvironmentFailed>(Assert.IsType<E.Reply>(Assert.Single(d.Effects)).Message).Lost);
        }
        Assert.Equal([new E.Reply(new DestroyDone(Id)), E.Passivate.Instance], h.Send(new C.Destroy("task finished")).Effects);
        Assert.DoesNotContain(h.Effects, TouchesTheResource);
    }
}
