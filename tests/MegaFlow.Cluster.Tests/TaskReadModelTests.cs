using Akka.Actor;
using Akka.Persistence;
using MegaFlow.Actors.Tasks.ReadModel;
using MegaFlow.Cluster.Tests.Infrastructure;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Hosting;
using MegaFlow.Hosting.Persistence;
using MegaFlow.Protocol;
using MegaFlow.Protocol.Tasks;
using static MegaFlow.Contracts.Tasks.TaskProtocol;

namespace MegaFlow.Cluster.Tests;

/// <summary>
/// The task read model: resumes from its saved offset after a restart, and a watch that starts after
/// the tasks finished still reports every final state, once.
/// </summary>
public sealed class TaskReadModelTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(PersistenceBackend.Sqlite)]
    [InlineData(PersistenceBackend.Postgres)]
    public async Task A_restarted_read_model_resumes_from_its_saved_offset_instead_of_the_start(PersistenceBackend backend)
    {
        await using var storage = await TestStorage.CreateAsync(backend);
        await storage.EnsureSchemaAsync();
        var settings = new TaskReadModelSettings(TimeSpan.FromMilliseconds(200));
        const string id = "task-read-model-test:1";

        using (var first = LocalSystem(storage))
        {
            for (var i = 0; i < 3; i++) await WriteAsync(first, $"done-{i}", Finished($"done-{i}"));
            var model = first.ActorOf(TaskReadModel.Props(id, settings));
            var status = await CaughtUpAsync(model);
            Assert.Equal(0, status.RecoveredOffset);
            Assert.Equal(15, status.EventsFolded);
            // A second snapshot replaces the first (the read model persists no events, so both have sequence number 0).
            await WriteAsync(first, "mid", [new TaskEvents.Submitted("mid", Specs.Simple("mid"), T0)]);
            await model.Ask<TaskListing>(new ListTasks(null), TimeSpan.FromSeconds(30));
            await Task.Delay(1000); // snapshots are saved every 200 ms when something changed; give the write a moment
            await first.Terminate();
        }

        using var second = LocalSystem(storage);
        await WriteAsync(second, "late", [new TaskEvents.Submitted("late", Specs.Simple("late"), T0), new TaskEvents.Queued("late", 1, T0.AddSeconds(1))]);
        var restarted = second.ActorOf(TaskReadModel.Props(id, settings));
        var resumed = await CaughtUpAsync(restarted);
        Assert.True(resumed.RecoveredOffset >= 16, $"the latest snapshot's offset was loaded (got {resumed.RecoveredOffset})");
        Assert.Equal(2, resumed.EventsFolded); // only the events written after the snapshot, not the 18 in the journal
        var listing = await restarted.Ask<TaskListing>(new ListTasks(null), TimeSpan.FromSeconds(30));
        Assert.Equal(3, listing.Counts[TaskStatus.Completed]);
        Assert.Equal(1, listing.Counts[TaskStatus.Queued]);
        Assert.Equal(1, listing.Counts[TaskStatus.Submitted]);
        Assert.Equal(5, listing.Total);
        Assert.Equal(1.0, listing.Tasks.Single(t => t.TaskId == "done-1").Reward);
        await second.Terminate();
    }

    [Theory]
    [InlineData(PersistenceBackend.Sqlite)]
    [InlineData(PersistenceBackend.Postgres)]
    public async Task A_journal_made_before_row_tags_is_upgraded_at_start_and_every_task_in_it_is_read(PersistenceBackend backend)
    {
        await using var storage = await TestStorage.CreateAsync(backend);
        await storage.EnsureSchemaAsync();
        using (var old = LocalSystem(storage))
        {
            for (var i = 0; i < 3; i++)
                await WriteAsync(old, $"old-{i}", [.. Finished($"old-{i}"), new TaskEvents.LeaseReleased($"old-{i}", 1, T0.AddSeconds(5))]);
            await old.Terminate();
        }
        // The journal as earlier versions left it: no tags column, no event tagged.
        await storage.SqlAsync("ALTER TABLE journal DROP COLUMN tags");

        await SchemaInitializer.EnsureAsync(storage.Node(), TimeSpan.FromMinutes(1));
        var tags = (await storage.SqlAsync("SELECT manifest, tags FROM journal WHERE persistence_id LIKE 'task-old-%'"))
            .GroupBy(r => (string)r[0]!).ToDictionary(g => g.Key, g => g.Select(r => r[1] as string).Distinct().Single());
        Assert.Equal(new Dictionary<string, string?>
        {
            ["te.sub"] = ";task-row;", ["te.que"] = ";task-row;", ["te.adm"] = ";task-row;", ["te.run"] = ";task-row;", ["te.cmp"] = ";task-row;",
            ["te.rel"] = null, // a lease release changes no row
        }, tags);

        // A read model that never saw the journal reads every task from it, and new writes are tagged as before.
        using var upgraded = LocalSystem(storage);
        await WriteAsync(upgraded, "new", [new TaskEvents.Submitted("new", Specs.Simple("new"), T0)]);
        var model = upgraded.ActorOf(TaskReadModel.Props("task-read-model-upgrade:1", new TaskReadModelSettings(TimeSpan.FromSeconds(30))));
        var listing = await model.Ask<TaskListing>(new ListTasks(null), TimeSpan.FromSeconds(30));
        Assert.Equal(3, listing.Counts[TaskStatus.Completed]);
        Assert.Equal(1, listing.Counts[TaskStatus.Submitted]);
        // A second start finds the column and changes nothing.
        await SchemaInitializer.EnsureAsync(storage.Node(), TimeSpan.FromMinutes(1));
        Assert.Equal(16L, Convert.ToInt64((await storage.SqlAsync("SELECT COUNT(*) FROM journal WHERE tags = ';task-row;'"))[0][0]));
        await upgraded.Terminate();
    }

    [Fact]
    public async Task Changes_since_a_sequence_are_the_rows_changed_after_it_and_unknown_ids_are_named()
    {
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await storage.EnsureSchemaAsync();
        using var system = LocalSystem(storage);
        await WriteAsync(system, "a", Finished("a"));
        var model = system.ActorOf(TaskReadModel.Props("task-read-model-since:1", new TaskReadModelSettings(TimeSpan.FromSeconds(30))));
        await CaughtUpAsync(model);
        var all = await model.Ask<TaskChanges>(new ReadTaskChanges(["a", "nobody"], 0, Subscribe: false), TimeSpan.FromSeconds(10));
        var row = Assert.Single(all.Tasks);
        Assert.Equal(TaskStatus.Completed, row.Status);
        Assert.Equal(["nobody"], all.Unknown);

        await WriteAsync(system, "b", [new TaskEvents.Submitted("b", Specs.Simple("b"), T0)]);
        await model.Ask<TaskListing>(new ListTasks(null), TimeSpan.FromSeconds(30)); // reads the journal to its end
        var since = await model.Ask<TaskChanges>(new ReadTaskChanges(["a", "b"], all.Sequence, Subscribe: false), TimeSpan.FromSeconds(10));
        Assert.Equal(["b"], since.Tasks.Select(t => t.TaskId));
        Assert.Equal(all.Sequence, since.After);
        Assert.True(since.Sequence > all.Sequence);
        await system.Terminate();
    }

    [Fact]
    public async Task A_watch_that_starts_after_the_tasks_finished_reports_every_final_state_once()
    {
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartAsync(storage, workers: 1);
        var specs = Enumerable.Range(0, 6).Select(i => Specs.Simple($"late-{i}", i % 2 == 0 ? "ephemeral" : "persistent", score: i == 5 ? "exit 1" : "exit 0")).ToList();
        var ids = specs.Select(s => s.TaskId!).ToList();
        await TestCluster.SubmitAllAsync(cluster.Nodes[0].Refs.Tasks, specs);
        await TestCluster.WaitForTerminalAsync(cluster.Nodes[0].Refs.Tasks, ids, TimeSpan.FromMinutes(1));

        var reported = new List<TaskWatchItem>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await foreach (var item in TaskWatchFeed.WatchAsync(cluster.Nodes[0].System, ids.Append("never-submitted"), ct: timeout.Token))
            reported.Add(item);

        var finals = reported.Where(r => r.Row is { } row && row.Status.IsTerminal()).ToList();
        Assert.Equal(ids.Order(), finals.Select(r => r.TaskId).Order());
        Assert.All(finals, f => Assert.Single(reported, r => r.TaskId == f.TaskId));
        Assert.Equal(["never-submitted"], reported.Where(r => r.Unknown).Select(r => r.TaskId));
    }

    private static IReadOnlyList<TaskEvents.ITaskEvent> Finished(string id) =>
    [
        new TaskEvents.Submitted(id, Specs.Simple(id), T0),
        new TaskEvents.Queued(id, 1, T0.AddSeconds(1)),
        new TaskEvents.Admitted(id, 1, new MegaFlow.Contracts.Scheduling.Lease(id, 1, "lease-" + id, "pool-a", MegaFlow.Contracts.ExecutionMode.Ephemeral, "env-" + id, "node-a:1", Starting: false, Reused: false, 1, T0.AddSeconds(1), T0.AddSeconds(2)), "node-a:1", T0.AddSeconds(2)),
        new TaskEvents.RunStarted(id, 1, T0.AddSeconds(3)),
        new TaskEvents.Completed(id, 1, new Score(0, "ok", 1.0), T0.AddSeconds(4)),
    ];

    private static ActorSystem LocalSystem(TestStorage storage) =>
        ActorSystem.Create("read-model-test", MegaFlowConfig.Setup(storage.Node(extraHocon: "akka.actor.provider = local")));

    private static async Task<TaskReadModel.ReadModelStatus> CaughtUpAsync(IActorRef model)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var status = await model.Ask<TaskReadModel.ReadModelStatus>(TaskReadModel.GetReadModelStatus.Instance, TimeSpan.FromSeconds(10));
            if (status.CaughtUp) return status;
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the read model did not catch up");
            await Task.Delay(50);
        }
    }

    private static async Task WriteAsync(ActorSystem system, string taskId, IReadOnlyList<TaskEvents.ITaskEvent> events)
    {
        var writer = system.ActorOf(Props.Create(() => new Writer("task-" + taskId)));
        await writer.Ask<Akka.Done>(events, TimeSpan.FromSeconds(30));
        await writer.GracefulStop(TimeSpan.FromSeconds(5));
    }

    /// <summary>Persists the events it is sent, as a task actor would, and answers when they are written.</summary>
    private sealed class Writer : ReceivePersistentActor
    {
        public Writer(string persistenceId)
        {
            PersistenceId = persistenceId;
            Command<IReadOnlyList<TaskEvents.ITaskEvent>>(events =>
            {
                var sender = Sender;
                PersistAll(events, _ => { });
                DeferAsync(Akka.Done.Instance, d => sender.Tell(d));
            });
        }

        public override string PersistenceId { get; }
    }
}
