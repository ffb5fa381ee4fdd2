using Akka.Actor;
using MegaFlow.Protocol.Tasks;
using Akka.Cluster;
using MegaFlow.Actors.Tasks;
using MegaFlow.Domain.Agents;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using static MegaFlow.Contracts.Tasks.TaskProtocol;

namespace MegaFlow.Cluster.Tests.Infrastructure;

/// <summary>Several <see cref="TestNode"/>s joined into one cluster, plus the waits tests need.</summary>
public sealed class TestCluster : IAsyncDisposable
{
    internal TestCluster(List<TestNode> nodes) => Nodes = nodes;

    public List<TestNode> Nodes { get; }

    public IEnumerable<TestNode> Alive => Nodes.Where(n => !n.Crashed);

    /// <summary>Starts <paramref name="workers"/> nodes with every role, and optionally a client-only node.</summary>
    /// <param name="agent">The agent every worker's tasks run (the scripted one when null).</param>
    public static async Task<TestCluster> StartAsync(TestStorage storage, int workers, bool client = false, string extraHocon = "", string provider = "simulated", IAgent? agent = null)
    {
        await storage.EnsureSchemaAsync();
        var nodes = new List<TestNode>();
        for (var i = 0; i < workers; i++)
            nodes.Add(await TestNode.StartAsync(storage.Node(provider: provider, extraHocon: extraHocon), agent: agent));
        if (client)
            nodes.Add(await TestNode.StartAsync(storage.Node(roles: ["client"], provider: provider, extraHocon: extraHocon)));
        var seed = nodes[0].Address;
        foreach (var n in nodes) Akka.Cluster.Cluster.Get(n.System).Join(seed);
        var cluster = new TestCluster(nodes);
        await cluster.WaitForMembersUpAsync(nodes.Count, TimeSpan.FromSeconds(60));
        await cluster.WaitForSchedulerAsync(workers, TimeSpan.FromSeconds(60));
        return cluster;
    }

    /// <summary>
    /// One node in single-node mode (no cluster, no remoting; see MegaFlowNode.WithMegaFlowSingleNode):
    /// for tests of actor behaviour, which the cluster's plumbing only slows down.
    /// </summary>
    public static async Task<TestCluster> StartSingleNodeAsync(TestStorage storage, string extraHocon = "", string provider = "simulated", IAgent? agent = null)
    {
        await storage.EnsureSchemaAsync();
        var cluster = new TestCluster([await TestNode.StartSingleNodeAsync(storage.Node(provider: provider, extraHocon: extraHocon), agent: agent)]);
        await cluster.WaitForSchedulerAsync(1, TimeSpan.FromSeconds(60));
        return cluster;
    }

    public async Task WaitForMembersUpAsync(int count, TimeSpan timeout)
    {
        await Eventually(() => Alive.All(n =>
            Akka.Cluster.Cluster.Get(n.System).State.Members.Count(m => m.Status == MemberStatus.Up) == count), timeout, "all members Up");
    }

    /// <summary>Waits until the scheduler singleton answers and knows <paramref name="workers"/> worker nodes.</summary>
    public async Task WaitForSchedulerAsync(int workers, TimeSpan timeout)
    {
        var node = Alive.First();
        await Eventually(async () =>
        {
            try
            {
                var s = await node.Refs.Scheduler.Ask<SchedulerProtocol.SchedulerStatus>(SchedulerProtocol.GetSchedulerState.Instance, TimeSpan.FromSeconds(2));
                return s.Nodes.Count == workers;
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
            {
                return false;
            }
        }, timeout, $"scheduler knows {workers} workers");
    }

    /// <summary>Asks the task for its state until it is running in a leased environment; returns that state.</summary>
    public static async Task<TaskState> WaitForRunningAsync(IActorRef tasks, string id, TimeSpan timeout)
    {
        TaskState? running = null;
        await Eventually(async () =>
        {
            running = await tasks.Ask<TaskState>(new GetTaskState(id), TimeSpan.FromSeconds(5));
            return running.Status == TaskStatus.Running && running.Lease is not null;
        }, timeout, $"task {id} running");
        return running!;
    }

    /// <summary>Asks every task for its state until all are terminal; returns the final states.</summary>
    public static async Task<IReadOnlyList<TaskState>> WaitForTerminalAsync(IActorRef tasks, IReadOnlyCollection<string> ids, TimeSpan timeout)
    {
        var done = new Dictionary<string, TaskState>();
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            foreach (var chunk in ids.Where(id => !done.ContainsKey(id)).Chunk(100))
            {
                var states = await Task.WhenAll(chunk.Select(async id =>
                {
                    try { return await tasks.Ask<TaskState>(new GetTaskState(id), TimeSpan.FromSeconds(10)); }
                    catch (Exception e) when (e is AskTimeoutException or TaskCanceledException) { return null; }
                }));
                foreach (var s in states)
                    if (s is not null && s.Status.IsTerminal()) done[s.TaskId] = s;
            }
            if (done.Count == ids.Count) return ids.Select(id => done[id]).ToList();
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{ids.Count - done.Count} of {ids.Count} tasks not terminal after {timeout}: " +
                                           string.Join(", ", ids.Where(id => !done.ContainsKey(id)).Take(10)));
            await Task.Delay(1000);
        }
    }

    public static async Task SubmitAllAsync(IActorRef tasks, IEnumerable<TaskSpec> specs)
    {
        await Parallel.ForEachAsync(specs, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (spec, ct) =>
        {
            var reply = await TaskGateway.SubmitAsync(tasks, spec, TimeSpan.FromSeconds(30), ct);
            Assert.IsType<SubmitAccepted>(reply);
        });
    }

    public static async Task Eventually(Func<bool> condition, TimeSpan timeout, string what) =>
        await Eventually(() => Task.FromResult(condition()), timeout, what);

    public static async Task Eventually(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out after {timeout} waiting for: {what}");
            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var n in Nodes) await n.DisposeAsync();
    }
}
