using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;

namespace MegaFlow.Actors.Tasks;

/// <summary>
/// Lists tasks by status straight from the durable journal (one pass over all events, keeping the
/// task events), so it answers on any node — or offline, from a plain ActorSystem on the same
/// database — without waking thousands of entities.
/// </summary>
/// <remarks>
/// Task events are not tagged: a tagged row costs the write path an INSERT of its own (measured: half
/// the end-to-end throughput), while listing is rare, so it reads the whole journal in order instead.
/// </remarks>
public static class TaskQueries
{
    public const string ReadJournalId = "akka.persistence.query.journal.sql";

    public static async Task<TaskListing> ListAsync(ActorSystem system, TaskStatus? status = null, CancellationToken ct = default)
    {
        var states = await ReplayAllAsync(system, ct, withoutOutputs: true);
        var counts = states.GroupBy(s => s.Status).ToDictionary(g => g.Key, g => g.Count());
        var rows = states
            .Where(s => status is null || s.Status == status)
            .OrderBy(s => s.SubmittedAt)
            .Select(s => new TaskSummary(s.TaskId, s.Status, s.Attempt, s.Spec?.Mode, s.Spec?.PoolKey, s.SubmittedAt, s.FinishedAt, s.Score?.Reward))
            .ToList();
        return new TaskListing(counts, rows);
    }

    /// <summary>Every task's state, folded from its events in the journal.</summary>
    /// <param name="withoutOutputs">Drop the steps' and scores' output text while folding: for callers
    /// that need statuses and counts of many tasks (a node's task list), not their trajectories,
    /// so a large journal does not put every output in memory at once.</param>
    public static async Task<IReadOnlyCollection<TaskState>> ReplayAllAsync(ActorSystem system, CancellationToken ct = default, bool withoutOutputs = false)
    {
        var journal = PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(ReadJournalId);
        var states = new Dictionary<string, TaskState>();
        await journal.CurrentAllEvents(Offset.NoOffset())
            .RunForeach(envelope =>
            {
                if (envelope.Event is not TaskEvents.ITaskEvent e) return;
                if (withoutOutputs)
                    e = e switch
                    {
                        TaskEvents.StepRecorded r => r with { Step = r.Step with { Output = "" } },
                        TaskEvents.Completed c => c with { Score = c.Score with { Output = "" } },
                        _ => e,
                    };
                var state = states.TryGetValue(e.TaskId, out var s) ? s : TaskState.Empty(e.TaskId);
                states[e.TaskId] = TaskLogic.Apply(state, e);
            }, system.Materializer())
            .WaitAsync(ct);
        return states.Values;
    }
}
