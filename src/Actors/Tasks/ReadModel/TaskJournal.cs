using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;

namespace MegaFlow.Actors.Tasks.ReadModel;

/// <summary>
/// The journal as the task read model reads it: all events in order (Akka.Persistence.Query's
/// all-events query of the SQL plugin), keeping the task events. Also runs the read model's fold
/// offline, to completion, for <c>tasks list --journal</c> and <c>tasks export</c>.
/// </summary>
/// <remarks>
/// Task events are not tagged: a tagged row costs the write path an INSERT of its own (measured: half
/// the end-to-end throughput), so the read model reads all events instead of a by-tag query.
/// </remarks>
public static class TaskJournal
{
    public const string ReadJournalId = "akka.persistence.query.journal.sql";

    public static SqlReadJournal Reader(ActorSystem system) =>
        PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(ReadJournalId);

    /// <summary>The journal's position of an envelope (the SQL plugin's ordering column).</summary>
    public static long Position(EventEnvelope envelope) => envelope.Offset is Sequence s ? s.Value : 0;

    /// <summary>Folds every task event now in the journal; the same fold the live read model runs.</summary>
    /// <param name="keepOutputs">Keep steps and outputs (for export), not only the rows.</param>
    public static async Task<TaskFold> FoldAsync(ActorSystem system, bool keepOutputs = false, CancellationToken ct = default)
    {
        var fold = new TaskFold(keepOutputs);
        await Reader(system).CurrentAllEvents(Offset.NoOffset())
            .RunForeach(envelope =>
            {
                if (envelope.Event is TaskEvents.ITaskEvent e) fold.Apply(e);
            }, system.Materializer())
            .WaitAsync(ct);
        return fold;
    }

    /// <summary>A listing from a fold, as the read model answers <c>ListTasks</c>: matching rows ordered by submission.</summary>
    public static TaskListing Listing(TaskFold fold, TaskStatus? status, bool complete = true, bool countsOnly = false) =>
        new(fold.Counts(),
            countsOnly ? [] : fold.Rows.Where(r => status is null || r.Status == status)
                .OrderBy(r => r.SubmittedAt).ThenBy(r => r.TaskId, StringComparer.Ordinal).ToList(),
            complete, fold.Sequence);
}
