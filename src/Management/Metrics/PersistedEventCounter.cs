using Akka.Persistence.Journal;
using MegaFlow.Contracts;
using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Environments;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;

namespace MegaFlow.Management.Metrics;

/// <summary>
/// Counts the events this node's journal writes, by aggregate. An event adapter sees every event on
/// its way into the journal without touching the actors; it passes events through unchanged.
/// Counts are per process (one node per process), which is what a per-node metric needs.
/// </summary>
public sealed class PersistedEventCounter : IEventAdapter
{
    private static long _task, _environment, _scheduler, _other;

    /// <summary>HOCON that binds the adapter to every MegaFlow event on the domain journal.</summary>
    public const string Hocon = """
        akka.persistence.journal.sql {
          event-adapters { megaflow-metrics = "MegaFlow.Management.Metrics.PersistedEventCounter, MegaFlow.Management" }
          event-adapter-bindings { "MegaFlow.Contracts.IMegaFlowMessage, MegaFlow.Contracts" = megaflow-metrics }
        }
        """;

    public static IReadOnlyList<(string Kind, long Count)> Counts() =>
    [
        ("task", Interlocked.Read(ref _task)),
        ("environment", Interlocked.Read(ref _environment)),
        ("scheduler", Interlocked.Read(ref _scheduler)),
        ("other", Interlocked.Read(ref _other)),
    ];

    public string Manifest(object evt) => "";

    public object ToJournal(object evt)
    {
        switch (evt)
        {
            case TaskEvents.ITaskEvent: Interlocked.Increment(ref _task); break;
            case EnvironmentEvents.IEnvironmentEvent: Interlocked.Increment(ref _environment); break;
            case SchedulerEvents.ISchedulerEvent: Interlocked.Increment(ref _scheduler); break;
            default: Interlocked.Increment(ref _other); break;
        }
        return evt;
    }

    public IEventSequence FromJournal(object evt, string manifest) => EventSequence.Single(evt);
}
