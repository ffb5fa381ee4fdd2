using Akka;
using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;

namespace MegaFlow.Actors.Tasks.ReadModel;

/// <summary>
/// The journal as task reads see it: the row events (every task event that can change a task's row,
/// <see cref="TaskFold.ShapesRow(TaskEvents.ITaskEvent)"/>) in journal order, through Akka.Persistence.Query's by-tag query of
/// the SQL plugin. Also runs the read model's fold offline, to completion, for <c>tasks list --journal</c>
/// and <c>tasks export</c>.
/// </summary>
/// <remarks>
/// The domain journal writes the tag in the event's own row (the plugin's <c>Csv</c> tag mode; see
/// MegaFlowJournal in MegaFlow.Hosting), so tagging adds no INSERT (the plugin's tag-table mode did:
/// half the end-to-end throughput). The by-tag query filters rows in the database, so the read model
/// reads and decodes ~6 of a task's ~16 journal rows, not every environment, scheduler, step and
/// model-call event (bench/RESULTS.md, session 16).
/// </remarks>
public static class TaskJournal
{
    public const string ReadJournalId = "akka.persistence.query.journal.sql";

    /// <summary>The tag of the row events.</summary>
    public const string RowTag = "task-row";

    public static SqlReadJournal Reader(ActorSystem system) =>
        PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(ReadJournalId);

    /// <summary>The journal's position of an envelope (the SQL plugin's ordering column).</summary>
    public static long Position(EventEnvelope envelope) => envelope.Offset is Sequence s ? s.Value : 0;

    /// <summary>The row events after <paramref name="offset"/>, live (never ends) or up to the journal's present end.</summary>
    public static Source<EventEnvelope, NotUsed> RowEvents(ActorSystem system, long offset, bool live) => live
        ? Reader(system).EventsByTag(RowTag, Offset.Sequence(offset))
        : Reader(system).CurrentEventsByTag(RowTag, Offset.Sequence(offset));

    /// <summary>Folds the task events now in the journal; without outputs, the same fold over the same events the live read model runs.</summary>
    /// <param name="keepOutputs">Keep steps and outputs (for export), not only the rows: reads every event, not only the row events.</param>
    public static async Task<TaskFold> FoldAsync(ActorSystem system, bool keepOutputs = false, CancellationToken ct = default)
    {
        var fold = new TaskFold(keepOutputs);
        var events = keepOutputs ? Reader(system).CurrentAllEvents(Offset.NoOffset()) : RowEvents(system, 0, live: false);
        await events
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
