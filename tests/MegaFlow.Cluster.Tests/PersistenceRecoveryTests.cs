using MegaFlow.Actors.Tasks.ReadModel;
using Akka.Actor;
using MegaFlow.Protocol.Tasks;
using MegaFlow.Hosting;
using MegaFlow.Actors.Tasks;
using MegaFlow.Cluster.Tests.Infrastructure;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using static MegaFlow.Contracts.Tasks.TaskProtocol;

namespace MegaFlow.Cluster.Tests;

/// <summary>
/// Submit, complete, restart the ActorSystem on the same storage: the state comes back from the
/// journal. Against a real SQLite file and a real PostgreSQL server.
/// </summary>
public sealed class PersistenceRecoveryTests
{
    [Theory]
    [InlineData(PersistenceBackend.Sqlite)]
    [InlineData(PersistenceBackend.Postgres)]
    public async Task Finished_tasks_and_scheduler_state_survive_a_restart(PersistenceBackend backend)
    {
        await using var storage = await TestStorage.CreateAsync(backend);
        var specs = new[]
        {
            Specs.Simple("recover-eph", "ephemeral", actions: ["echo hello > note.txt", "cat note.txt"], score: "grep -q hello note.txt"),
            Specs.Simple("recover-per", "persistent", actions: ["echo 1"], score: "true"),
            Specs.Simple("recover-fail", "ephemeral", actions: ["echo broken"], score: "exit 3"),
        };
        var ids = specs.Select(s => s.TaskId!).ToList();

        IReadOnlyList<TaskState> before;
        await using (var first = await TestCluster.StartAsync(storage, workers: 1, provider: "local"))
        {
            await TestCluster.SubmitAllAsync(first.Nodes[0].Refs.Tasks, specs);
            before = await TestCluster.WaitForTerminalAsync(first.Nodes[0].Refs.Tasks, ids, TimeSpan.FromMinutes(2));
        }

        await using var second = await TestCluster.StartAsync(storage, workers: 1, provider: "local");
        var tasks = second.Nodes[0].Refs.Tasks;
        foreach (var old in before)
        {
            var now = await tasks.Ask<TaskState>(new GetTaskState(old.TaskId), TimeSpan.FromSeconds(30));
            Assert.Equal(old.Status, now.Status);
            Assert.Equal(old.Score, now.Score);
            Assert.Equal(old.Steps.Select(s => (s.Command, s.ExitCode, s.Output)), now.Steps.Select(s => (s.Command, s.ExitCode, s.Output)));
            Assert.Null(now.PendingRelease);
        }
        var passed = await tasks.Ask<TaskState>(new GetTaskState("recover-eph"), TimeSpan.FromSeconds(10));
        Assert.Equal(TaskStatus.Completed, passed.Status);
        Assert.True(passed.Score!.Passed);
        Assert.Contains("hello", passed.Steps[1].Output);
        var failed = await tasks.Ask<TaskState>(new GetTaskState("recover-fail"), TimeSpan.FromSeconds(10));
        Assert.Equal(3, failed.Score!.ExitCode);

        // Idempotent submission across the restart: known, not executed again.
        var again = await TaskGateway.SubmitAsync(tasks, specs[0], TimeSpan.FromSeconds(10));
        var accepted = Assert.IsType<SubmitAccepted>(again);
        Assert.True(accepted.AlreadyKnown);
        Assert.Equal(TaskStatus.Completed, accepted.Status);

        // The task list by status comes from the journal's task tag.
        var listing = await TaskReadModels.ListAsync(second.Nodes[0].System);
        Assert.Equal(3, listing.Counts[TaskStatus.Completed]);
        Assert.Equal(3, listing.Total);
        var completed = await TaskReadModels.ListAsync(second.Nodes[0].System, TaskStatus.Completed);
        Assert.Equal(ids.Order(), completed.Tasks.Select(t => t.TaskId).Order());
        Assert.Empty((await TaskReadModels.ListAsync(second.Nodes[0].System, TaskStatus.Running)).Tasks);

        var scheduler = await second.Nodes[0].Refs.Scheduler.Ask<SchedulerProtocol.SchedulerStatus>(SchedulerProtocol.GetSchedulerState.Instance, TimeSpan.FromSeconds(10));
        Assert.Equal(0, scheduler.QueueDepth);
        Assert.Equal(0, scheduler.Running);
    }

    [Theory]
    [InlineData(PersistenceBackend.Sqlite)]
    [InlineData(PersistenceBackend.Postgres)]
    public async Task Tasks_interrupted_by_a_restart_resume_from_the_journal_and_finish(PersistenceBackend backend)
    {
        await using var storage = await TestStorage.CreateAsync(backend);
        // Slow commands so that the restart lands mid-run.
        var specs = Enumerable.Range(0, 6)
            .Select(i => Specs.Simple($"resume-{i}", i % 2 == 0 ? "ephemeral" : "persistent", actions: ["sleep 1", "sleep 1", "echo done"], score: "true"))
            .ToList();
        var ids = specs.Select(s => s.TaskId!).ToList();

        await using (var first = await TestCluster.StartAsync(storage, workers: 1, provider: "local"))
        {
            await TestCluster.SubmitAllAsync(first.Nodes[0].Refs.Tasks, specs);
            await TestCluster.Eventually(async () => (await storage.Journal().ReadAllAsync("task-")).Any(e => e.Event is TaskEvents.StepRecorded),
                TimeSpan.FromSeconds(60), "some step recorded");
            await first.Nodes[0].Crash();
        }

        await using var second = await TestCluster.StartAsync(storage, workers: 1, provider: "local");
        // Nobody resubmits: remember-entities brings the unfinished tasks back on their own.
        var states = await TestCluster.WaitForTerminalAsync(second.Nodes[0].Refs.Tasks, ids, TimeSpan.FromMinutes(2));
        Assert.All(states, s => Assert.Equal(TaskStatus.Completed, s.Status));
        Assert.Contains(states, s => s.Attempt > 1 && s.History.Any(h => h.Outcome == "infrastructure-failure"));
    }
}
