using System.Text.Json;
using Akka;
using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using MegaFlow.Actors.Tasks.ReadModel;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Contracts.Training;
using MegaFlow.Domain.Tasks;
using MegaFlow.Domain.Training;
using MegaFlow.Storage;

namespace MegaFlow.Actors.Training;

/// <summary>
/// Trajectories as a stream: the journal's row events in order (the same by-tag query the task read
/// model follows; every event that ends an attempt is one), each event that ends an attempt turned into its <see cref="Trajectory"/>, which is
/// also stored in the artifact store. The journal is the outbox: nothing is kept in memory between a
/// task finishing and a trainer asking, and a trainer that restarts asks again from the last position it
/// acknowledged. Demand-driven end to end: the query reads the journal only as fast as the consumer pulls.
/// </summary>
public static class TrajectorySource
{
    /// <summary>Trajectories of attempts that ended after journal position <paramref name="afterPosition"/>, following the journal live.</summary>
    /// <param name="parallelism">Trajectories built at once (each replays its task's events and reads its records).</param>
    /// <param name="taskIdPrefix">Only tasks whose id starts with this (null: every task); checked before anything is read or built.</param>
    public static Source<Trajectory, NotUsed> Live(ActorSystem system, IArtifactStore artifacts, long afterPosition, string? taskIdPrefix = null, int parallelism = 4)
    {
        var reader = TaskJournal.Reader(system);
        var materializer = system.Materializer();
        return TaskJournal.RowEvents(system, afterPosition, live: true)
            .Where(envelope => envelope.Event is TaskEvents.ITaskEvent e && TrajectoryAssembly.EndsAttempt(e)
                               && (string.IsNullOrEmpty(taskIdPrefix) || e.TaskId.StartsWith(taskIdPrefix, StringComparison.Ordinal)))
            .SelectAsync(parallelism, envelope => BuildAsync(reader, materializer, artifacts, envelope));
    }

    private static async Task<Trajectory> BuildAsync(Akka.Persistence.Sql.Query.SqlReadJournal reader, IMaterializer materializer, IArtifactStore artifacts, EventEnvelope ending)
    {
        var ended = (TaskEvents.ITaskEvent)ending.Event;
        // The task as it was just before the attempt ended: the steps and calls are still the attempt's.
        var before = TaskState.Empty(ended.TaskId);
        await reader.CurrentEventsByPersistenceId(ending.PersistenceId, 0, ending.SequenceNr - 1)
            .RunForeach(e => { if (e.Event is TaskEvents.ITaskEvent t) before = TaskLogic.Apply(before, t); }, materializer);
        var records = new Dictionary<string, byte[]?>();
        foreach (var call in before.ModelCalls.Where(c => c.Path.Length > 0))
            records[call.Path] = await ReadRecordAsync(artifacts, call.Path);
        var trajectory = TrajectoryAssembly.Assemble(before, ended, TaskJournal.Position(ending), path => records.GetValueOrDefault(path));
        await artifacts.SaveAsync(TrajectoryPaths.For(trajectory.TaskId, trajectory.Attempt), JsonSerializer.SerializeToUtf8Bytes(trajectory), CancellationToken.None);
        return trajectory;
    }

    // A record in another store (the cluster's store changed since) or gone: the turn keeps its
    // numbers from the journal and empty token lists, and the trainer skips it.
    private static async Task<byte[]?> ReadRecordAsync(IArtifactStore artifacts, string location)
    {
        try
        {
            return await artifacts.ReadLocationAsync(location, CancellationToken.None);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }
}

/// <summary>
/// A worker node's trajectory provider: answers <see cref="RequestTrajectories"/> with an Akka.Streams
/// <see cref="ISourceRef{TOut}"/> over <see cref="TrajectorySource.Live"/> — the stream crosses the node
/// hop with backpressure (the reader's demand travels back; at most the stream ref's buffer is in flight).
/// </summary>
public sealed class TrajectoryProvider : ReceiveActor
{
    public const string Name = "trajectories";

    public TrajectoryProvider(IArtifactStore artifacts)
    {
        var materializer = Context.Materializer();
        Receive<RequestTrajectories>(m =>
            TrajectorySource.Live(Context.System, artifacts, m.AfterPosition, m.TaskIdPrefix)
                .RunWith(StreamRefs.SourceRef<Trajectory>(), materializer)
                .PipeTo(Sender));
    }

    public static Props Props(IArtifactStore artifacts) => Akka.Actor.Props.Create(() => new TrajectoryProvider(artifacts));
}
