using Akka.Actor;
using MegaFlow.Cluster.Tests.Infrastructure;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using MegaFlow.Hosting;
using MegaFlow.Verification;
using static MegaFlow.Contracts.Scheduling.SchedulerEvents;

namespace MegaFlow.Cluster.Tests;

/// <summary>
/// Named quotas on a real one-node cluster (SQLite, local-process environments): a long training
/// backlog and an evaluation batch submitted after it both progress.
/// </summary>
public sealed class NamedQuotaTests
{
    private const int TrainTasks = 30;
    private const int EvalTasks = 3;

    private const string Hocon = """
        megaflow.scheduler.quotas { train = 2, eval = 1 }
        megaflow.scheduler.delete-obsolete = off
        """;

    [Fact]
    public async Task An_eval_batch_submitted_behind_a_train_backlog_finishes_while_train_tasks_are_still_queued()
    {
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartAsync(storage, workers: 1, provider: "local", extraHocon: Hocon);
        var tasks = cluster.Nodes[0].Refs.Tasks;
        var train = Enumerable.Range(0, TrainTasks).Select(i => Specs.Simple($"train-{i:D2}", actions: ["sleep 1"]) with { Quota = "train" }).ToList();
        var eval = Enumerable.Range(0, EvalTasks).Select(i => Specs.Simple($"eval-{i}", actions: ["echo eval"]) with { Quota = "eval" }).ToList();

        // The whole train backlog is queued before the first eval task arrives.
        await TestCluster.SubmitAllAsync(tasks, train);
        await TestCluster.Eventually(async () =>
        {
            var s = await cluster.Nodes[0].Refs.Scheduler.Ask<SchedulerProtocol.SchedulerStatus>(SchedulerProtocol.GetSchedulerState.Instance, TimeSpan.FromSeconds(10));
            return s.QueueDepth + s.Running == TrainTasks;
        }, TimeSpan.FromSeconds(60), "every train task queued or admitted");
        foreach (var spec in eval) await TestCluster.SubmitAllAsync(tasks, [spec]); // in order: e0, e1, e2

        var evalDone = await TestCluster.WaitForTerminalAsync(tasks, eval.Select(s => s.TaskId!).ToList(), TimeSpan.FromSeconds(120));
        var trainWhenEvalDone = await Task.WhenAll(train.Select(s => tasks.Ask<TaskState>(new TaskProtocol.GetTaskState(s.TaskId!), TimeSpan.FromSeconds(10))));

        Assert.All(evalDone, s => Assert.Equal(TaskStatus.Completed, s.Status));
        var stillQueued = trainWhenEvalDone.Count(s => s.Status is TaskStatus.Submitted or TaskStatus.Queued);
        Assert.True(stillQueued >= TrainTasks / 2, $"only {stillQueued} train tasks were still queued when the eval batch had finished");

        // The backlog drains too: every train task completes.
        var trainDone = await TestCluster.WaitForTerminalAsync(tasks, train.Select(s => s.TaskId!).ToList(), TimeSpan.FromSeconds(240));
        Assert.All(trainDone, s => Assert.Equal(TaskStatus.Completed, s.Status));

        // From the scheduler's journal: neither quota ever held more leases than its cap, each quota was
        // admitted in submission order, and every eval task was admitted ahead of train tasks submitted before it.
        IReadOnlyList<ISchedulerEvent> journal = [];
        await TestCluster.Eventually(async () =>
        {
            journal = (await storage.Journal().ReadAllAsync(JournalReader.SchedulerId)).Select(r => (ISchedulerEvent)r.Event).ToList();
            return journal.OfType<Released>().Select(r => r.TaskId).Distinct().Count() == TrainTasks + EvalTasks;
        }, TimeSpan.FromSeconds(30), "every lease released in the scheduler's journal");

        var held = new Dictionary<string, string?>();
        var peak = new Dictionary<string, int>();
        foreach (var e in journal)
        {
            if (e is Admitted a) held[a.Lease.TaskId] = a.Lease.Quota;
            else if (e is Released r) held.Remove(r.TaskId);
            foreach (var g in held.Values.Where(q => q is not null).GroupBy(q => q!))
                peak[g.Key] = Math.Max(peak.GetValueOrDefault(g.Key), g.Count());
        }
        Assert.Equal(2, peak["train"]);
        Assert.Equal(1, peak["eval"]);

        var enqueued = journal.OfType<Enqueued>().ToList();
        var admitted = journal.OfType<Admitted>().Select(a => a.Lease).ToList();
        foreach (var quota in new[] { "train", "eval" })
            Assert.Equal(
                enqueued.Where(e => e.Quota == quota).OrderBy(e => e.Seq).Select(e => e.TaskId),
                admitted.Where(l => l.Quota == quota).Select(l => l.TaskId));
        var admissionOrder = admitted.Select(l => l.TaskId).ToList();
        var lastEval = admissionOrder.IndexOf($"eval-{EvalTasks - 1}");
        Assert.True(admissionOrder.Skip(lastEval + 1).Count(id => id.StartsWith("train-", StringComparison.Ordinal)) >= TrainTasks / 2,
            "the eval tasks were admitted behind the train backlog: " + string.Join(" ", admissionOrder));
    }
}
