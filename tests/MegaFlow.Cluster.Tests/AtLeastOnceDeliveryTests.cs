using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using MegaFlow.Hosting;
using MegaFlow.Actors.Tasks;
using MegaFlow.Cluster.Tests.Infrastructure;
using MegaFlow.Domain.Agents;
using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Environments;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using static MegaFlow.Contracts.Environments.EnvironmentProtocol;

namespace MegaFlow.Cluster.Tests;

/// <summary>
/// Messages a task must get through to its environment are resent until answered. A task actor runs
/// against the node's real environment region through a link that drops chosen messages, with the
/// test playing the scheduler.
/// </summary>
public sealed class AtLeastOnceDeliveryTests
{
    [Theory]
    [InlineData("ephemeral")]
    [InlineData("persistent")]
    public async Task A_dropped_provision_destroy_or_reset_is_resent_and_the_task_completes_without_a_retry(string mode)
    {
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        // Lease checks off for this test: the task here is not in the task region it would ask.
        await using var cluster = await TestCluster.StartAsync(storage, workers: 1, extraHocon: "megaflow.environment.check-interval = 10m");
        var node = cluster.Nodes[0];
        var system = node.System;
        var envId = EnvironmentIds.New(node.Incarnation);
        var link = system.ActorOf(Props.Create(() => new LossyLink(node.Refs.Environments)), "lossy-link");
        var scheduler = system.ActorOf(Props.Create(() => new OneLeaseScheduler(envId)), "one-lease-scheduler");
        var refs = new TaskActorRefs(scheduler, link, DistributedPubSub.Get(system).Mediator, system.DeadLetters);
        var settings = new TaskActorSettings { Node = node.Key, RetryInterval = TimeSpan.FromMilliseconds(300) };
        var id = $"dropped-{mode}";
        var task = system.ActorOf(TaskActor.Props(id, refs, settings, ScriptedAgent.Instance), id);

        var spec = Specs.Simple(id, mode: mode) with { SetupTimeoutSeconds = 60 };
        Assert.IsType<TaskProtocol.SubmitAccepted>(await task.Ask<object>(new TaskProtocol.SubmitTask(spec), TimeSpan.FromSeconds(10)));

        TaskState state = null!;
        await TestCluster.Eventually(async () =>
        {
            state = await task.Ask<TaskState>(new TaskProtocol.GetTaskState(id), TimeSpan.FromSeconds(5));
            return state.Status.IsTerminal() && state.PendingRelease is null;
        }, TimeSpan.FromSeconds(30), "the task finished and released its lease");

        Assert.Equal(TaskStatus.Completed, state.Status);
        Assert.Equal(1, state.Attempt); // the first Provision was lost, yet no infrastructure retry was needed
        var delivered = await link.Ask<LossyLink.Counts>(LossyLink.GetCounts.Instance, TimeSpan.FromSeconds(5));
        Assert.Equal(1, delivered.DroppedProvisions);
        Assert.True(delivered.Provisions >= 2, $"{delivered.Provisions} provisions sent");

        // The environment ends as the mode says, although the first Destroy or Reset was dropped too.
        var expected = mode == "ephemeral" ? typeof(EnvironmentEvents.Destroyed) : typeof(EnvironmentEvents.ResetCompleted);
        await TestCluster.Eventually(async () =>
        {
            var rows = await storage.Journal().ReadAllAsync("env-" + envId);
            return rows.Count > 0 && rows[^1].Event.GetType() == expected;
        }, TimeSpan.FromSeconds(20), $"environment ended with {expected.Name}");
        delivered = await link.Ask<LossyLink.Counts>(LossyLink.GetCounts.Instance, TimeSpan.FromSeconds(5));
        Assert.Equal(1, delivered.DroppedEndings);
    }

    /// <summary>Forwards to the environment region, dropping the first Provision and the first Destroy or Reset.</summary>
    private sealed class LossyLink : ReceiveActor
    {
        private int _provisions, _droppedProvisions, _droppedEndings;

        public LossyLink(IActorRef environments)
        {
            Receive<GetCounts>(_ => Sender.Tell(new Counts(_provisions, _droppedProvisions, _droppedEndings)));
            Receive<Provision>(m =>
            {
                if (_provisions++ == 0) _droppedProvisions++;
                else environments.Forward(m);
            });
            Receive<object>(m =>
            {
                if (m is Destroy or Reset && _droppedEndings == 0) _droppedEndings++;
                else environments.Forward(m);
            });
        }

        public sealed record GetCounts
        {
            public static readonly GetCounts Instance = new();
        }

        public sealed record Counts(int Provisions, int DroppedProvisions, int DroppedEndings);
    }

    /// <summary>Plays the scheduler for one task: confirms the queue entry, admits with a fresh environment, confirms the release.</summary>
    private sealed class OneLeaseScheduler : ReceiveActor
    {
        public OneLeaseScheduler(string environmentId)
        {
            var admitted = false;
            Receive<SchedulerProtocol.EnqueueTask>(m =>
            {
                Sender.Tell(new TaskProtocol.QueueConfirmed(m.TaskId, m.Attempt));
                if (admitted) return;
                admitted = true;
                var now = DateTimeOffset.UtcNow;
                var lease = new MegaFlow.Contracts.Scheduling.Lease(m.TaskId, m.Attempt, "lease-1", m.Pool, m.Mode, environmentId,
                    EnvironmentIds.NodeOf(environmentId), Starting: true, Reused: false, 1, now, now);
                Sender.Tell(new TaskProtocol.AdmitTask(m.TaskId, m.Attempt, lease));
            });
            Receive<SchedulerProtocol.ReleaseTask>(m => Sender.Tell(new TaskProtocol.ReleaseConfirmed(m.TaskId, m.Attempt)));
            ReceiveAny(_ => { });
        }
    }
}
