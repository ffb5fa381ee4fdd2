using MegaFlow.Contracts.Environments;
using MegaFlow.Contracts;
using MegaFlow.Domain.Environments;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using static MegaFlow.Contracts.Environments.EnvironmentEvents;
using Tr = MegaFlow.Domain.Environments.EnvironmentTransitions;

namespace MegaFlow.Domain.Tests.Environments;

/// <summary>
/// Environments in a given status, built by applying the journal a real environment writes on the
/// way there (and, for in-flight states, the transitions its actor applies), so tests start from
/// states that real actors reach.
/// </summary>
internal static class EnvironmentStates
{
    /// <summary>The node incarnation that owns the environment ("host:port~uid").</summary>
    public const string Node = "127.0.0.1:4053~111";

    /// <summary>The same address after a restart: another incarnation, which never owns the resource.</summary>
    public const string NewIncarnation = "127.0.0.1:4053~222";

    public const string OtherNode = "10.0.0.7:4053~333";

    public const string Lessee = "task-1";
    public const string OtherTask = "task-2";

    public static readonly string Id = EnvironmentIds.New(Node);
    public static readonly DateTimeOffset T0 = new(2025, 1, 1, 12, 0, 0, TimeSpan.Zero);
    public static readonly EnvironmentSpec Spec = new("python:3.12", "default", ExecutionMode.Persistent);
    public static readonly EnvironmentHandle Handle = new(Id, "docker", "container-1");

    public static EnvironmentState Apply(EnvironmentState s, params IEnvironmentEvent[] events) => events.Aggregate(s, EnvironmentLogic.Apply);

    public static EnvironmentState Apply(EnvironmentState s, params Tr.ITransition[] transitions) => transitions.Aggregate(s, EnvironmentLogic.Apply);

    /// <summary>The journal of an environment provisioned for <see cref="Lessee"/> attempt 1 and taken to <paramref name="status"/>.</summary>
    public static IReadOnlyList<IEnvironmentEvent> Journal(EnvironmentStatus status, string id)
    {
        var journal = new List<IEnvironmentEvent>();
        if (status == EnvironmentStatus.Unknown) return journal;
        journal.Add(new Requested(id, Spec, Lessee, 1, T0));
        if (status == EnvironmentStatus.Provisioning) return journal;
        journal.Add(new Provisioned(id, Handle with { EnvironmentId = id }, T0.AddSeconds(1)));
        switch (status)
        {
            case EnvironmentStatus.Leased:
                return journal;
            case EnvironmentStatus.Destroyed:
                journal.Add(new Destroyed(id, "task finished", T0.AddSeconds(2)));
                return journal;
            case EnvironmentStatus.Lost:
                journal.Add(new Lost(id, "container vanished", T0.AddSeconds(2)));
                return journal;
        }
        journal.Add(new ResetStarted(id, T0.AddSeconds(2)));
        if (status == EnvironmentStatus.Resetting) return journal;
        journal.Add(new ResetCompleted(id, T0.AddSeconds(3)));
        if (status == EnvironmentStatus.Ready) return journal;
        throw new ArgumentOutOfRangeException(nameof(status), status, null);
    }

    public static IReadOnlyList<IEnvironmentEvent> Journal(EnvironmentStatus status) => Journal(status, Id);

    /// <summary>
    /// The state after <see cref="Journal(EnvironmentStatus, string)"/>: Provisioning, Leased and Resetting belong
    /// to <see cref="Lessee"/> attempt 1; Ready is idle after that task's reset (its previous lessee).
    /// </summary>
    public static EnvironmentState At(EnvironmentStatus status, string? id = null)
    {
        id ??= Id;
        return Apply(EnvironmentState.Empty(id), Journal(status, id).ToArray());
    }

    /// <summary>A destroy under way (the provider is removing the resource).</summary>
    public static EnvironmentState Destroying(EnvironmentStatus status) => Apply(At(status), Tr.DestroyStarted.Instance);

    /// <summary>A destroy asked for while a provision or reset runs: it starts when that call ends.</summary>
    public static EnvironmentState DestroyDeferred(EnvironmentStatus status) => Apply(At(status), new Tr.DestroyDeferred("pool drained"));

    /// <summary>Leased to <see cref="Lessee"/> with <paramref name="execs"/> commands running.</summary>
    public static EnvironmentState Executing(int execs = 1) =>
        Apply(At(EnvironmentStatus.Leased), Enumerable.Repeat<Tr.ITransition>(Tr.ExecStarted.Instance, execs).ToArray());

    public static IEnumerable<EnvironmentStatus> AllStatuses => Enum.GetValues<EnvironmentStatus>();

    public static readonly EnvironmentStatus[] GoneStatuses = [EnvironmentStatus.Destroyed, EnvironmentStatus.Lost];

    /// <summary>Named states for tables: every status, and the in-flight states that change behaviour.</summary>
    public static readonly (string Name, Func<EnvironmentState> State)[] Named =
    [
        ("Unknown", () => At(EnvironmentStatus.Unknown)),
        ("Provisioning", () => At(EnvironmentStatus.Provisioning)),
        ("Ready", () => At(EnvironmentStatus.Ready)),
        ("Leased", () => At(EnvironmentStatus.Leased)),
        ("Resetting", () => At(EnvironmentStatus.Resetting)),
        ("Destroyed", () => At(EnvironmentStatus.Destroyed)),
        ("Lost", () => At(EnvironmentStatus.Lost)),
        ("Leased+Destroying", () => Destroying(EnvironmentStatus.Leased)),
        ("Provisioning+DestroyDeferred", () => DestroyDeferred(EnvironmentStatus.Provisioning)),
        ("Resetting+DestroyDeferred", () => DestroyDeferred(EnvironmentStatus.Resetting)),
        ("Leased+Exec", () => Executing()),
    ];

    public static EnvironmentState ByName(string name) => Named.Single(n => n.Name == name).State();
}
