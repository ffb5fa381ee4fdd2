using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Dashboard.Tests.Infrastructure;

/// <summary>
/// Writes many finished tasks straight into the node's journal, through the journal plugin's own
/// batched write path (<see cref="WriteMessages"/>, as persistent actors use it): each task's
/// Submitted and terminal events under its task actor's persistence id. The node's read model folds
/// them as it folds any task's events. Only terminal tasks are written, so nothing tries to run them.
/// </summary>
public static class JournalFiller
{
    private static readonly string[] Outcomes = ["completed", "completed", "completed", "failed", "timedout", "cancelled"];

    /// <summary>The status the i-th filled task ends in.</summary>
    public static string StatusOf(int i) => Outcomes[i % Outcomes.Length];

    public static string IdOf(int i) => $"bulk-{i:D6}";

    public static async Task FillAsync(ActorSystem system, int count, int batch = 2000)
    {
        var journal = Persistence.Instance.Apply(system).JournalFor(null);
        var start = DateTimeOffset.UtcNow.AddHours(-count / 10_000.0 - 1);
        var writer = Guid.NewGuid().ToString();
        for (var from = 0; from < count; from += batch)
        {
            var writes = new List<IPersistentEnvelope>();
            for (var i = from; i < Math.Min(count, from + batch); i++)
            {
                var id = IdOf(i);
                var at = start.AddMilliseconds(i * 36);
                var spec = new TaskSpec { TaskId = id, Mode = "ephemeral", Image = "bulk", Actions = ["true"], ScoreCommand = "exit 0" };
                object end = StatusOf(i) switch
                {
                    "completed" => new TaskEvents.Completed(id, 1, new Score(i % 2, "", i % 2 == 0 ? 1 : 0), at.AddSeconds(20)),
                    "failed" => new TaskEvents.Failed(id, 1, FailureKind.Agent, "the agent gave up", at.AddSeconds(20)),
                    "timedout" => new TaskEvents.TimedOut(id, 1, TaskPhase.Run, at.AddSeconds(20)),
                    _ => new TaskEvents.Cancelled(id, 1, "cancelled by operator", at.AddSeconds(20)),
                };
                var pid = "task-" + id;
                writes.Add(new AtomicWrite(ImmutableList.Create<IPersistentRepresentation>(
                    new Persistent(new TaskEvents.Submitted(id, spec, at), 1, pid, "", false, ActorRefs.NoSender, writer),
                    new Persistent(end, 2, pid, "", false, ActorRefs.NoSender, writer))));
            }
            var done = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
            var replies = system.ActorOf(Props.Create(() => new WriteReplies(done, writes.Count * 2)));
            journal.Tell(new WriteMessages(writes, replies, 1));
            var failure = await done.Task.WaitAsync(TimeSpan.FromMinutes(2));
            system.Stop(replies);
            if (failure is not null) throw new InvalidOperationException($"the journal refused tasks {IdOf(from)}…: {failure.Message}", failure);
        }
    }

    private sealed class WriteReplies : ReceiveActor
    {
        // Done when every event's own success has come back (two per task; the journal answers each after the batch).
        public WriteReplies(TaskCompletionSource<Exception?> done, int writes)
        {
            var written = 0;
            Receive<WriteMessageSuccess>(_ => { if (++written == writes) done.TrySetResult(null); });
            Receive<WriteMessagesFailed>(f => done.TrySetResult(f.Cause));
            Receive<WriteMessageRejected>(r => done.TrySetResult(r.Cause));
            Receive<WriteMessageFailure>(f => done.TrySetResult(f.Cause));
            ReceiveAny(_ => { });
        }
    }
}
