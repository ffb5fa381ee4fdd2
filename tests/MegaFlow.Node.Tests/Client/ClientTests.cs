using System.Diagnostics;
using MegaFlow.Protocol.Tasks;
using MegaFlow.Actors.Tasks;
using MegaFlow.Client;
using MegaFlow.Contracts.Results;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;

namespace MegaFlow.Node.Tests.Client;

/// <summary>The client library against two real `megaflow node` processes.</summary>
public sealed class ClientTests
{
    private const string Latency = """megaflow.simulated { provision-latency = "uniform:20-80", exec-latency = "uniform:10-50" }""";

    private static TaskSpec Spec(string id, string? group = null, string mode = "ephemeral") => new()
    {
        TaskId = id,
        Mode = mode,
        Image = "img-" + (Math.Abs(id.GetHashCode()) % 3),
        Actions = ["echo a", "echo b"],
        ScoreCommand = id.GetHashCode() % 4 == 0 ? "exit 1" : "exit 0",
        MaxInfraRetries = 5,
        Metadata = group is null ? null : new Dictionary<string, string> { ["group"] = group, ["dataset"] = "client-test" },
    };

    private static Task<MegaFlowClient> Connect(NodeProcessCluster cluster, int bound = 10_000) =>
        MegaFlowClient.ConnectAsync(new ClientOptions { Seeds = cluster.Seeds, QueueBound = bound, ExtraHocon = "akka.cluster.split-brain-resolver.stable-after = 5s" });

    [Fact]
    public async Task A_host_program_submits_replica_groups_and_receives_every_result_exactly_once()
    {
        await using var cluster = await NodeProcessCluster.StartAsync(2, Latency);
        await using var client = await Connect(cluster);
        var specs = Enumerable.Range(0, 25).SelectMany(g => Enumerable.Range(1, 4).Select(r => Spec($"grp{g:D2}#r{r}", $"grp{g:D2}", r % 2 == 0 ? "persistent" : "ephemeral"))).ToList();

        await client.SubmitBatchAsync(specs);
        var results = new List<TaskState>();
        await foreach (var r in client.ResultsAsync(specs.Select(s => s.TaskId!)).WithCancellation(new CancellationTokenSource(TimeSpan.FromMinutes(3)).Token))
            results.Add(r);

        Assert.Equal(specs.Count, results.Count);
        Assert.Equal(specs.Count, results.Select(r => r.TaskId).Distinct().Count());
        Assert.All(results, r => Assert.Equal(TaskStatus.Completed, r.Status));
        var groups = GroupStats.ByGroup(results, k: 4);
        Assert.Equal(25, groups.Count);
        Assert.All(groups, g => Assert.Equal(4, g.Tasks));

        var listing = await client.ListAsync(TaskStatus.Completed);
        Assert.Equal(specs.Count, listing.Counts[TaskStatus.Completed]);
    }

    [Fact]
    public async Task When_a_node_is_killed_mid_run_the_client_carries_on_through_the_other_and_gets_every_result_once()
    {
        await using var cluster = await NodeProcessCluster.StartAsync(2, Latency + "\nmegaflow.scheduler.max-running = 20");
        await using var client = await Connect(cluster);
        var specs = Enumerable.Range(0, 150).Select(i => Spec($"kill-{i:D3}")).ToList();
        await client.SubmitBatchAsync(specs);

        var seen = new Dictionary<string, int>();
        var killed = false;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await foreach (var r in client.ResultsAsync(specs.Select(s => s.TaskId!), timeout.Token))
        {
            seen[r.TaskId] = seen.GetValueOrDefault(r.TaskId) + 1;
            if (!killed && seen.Count >= 30)
            {
                // The first seed: the node the client joined through, holding the scheduler singleton.
                cluster.Nodes[0].Signal("KILL");
                killed = true;
            }
        }
        Assert.True(killed);
        Assert.Equal(specs.Count, seen.Count);
        Assert.All(seen, kv => Assert.Equal(1, kv.Value));
        foreach (var id in specs.Select(s => s.TaskId!).Take(20))
            Assert.True((await client.GetStateAsync(id)).Status.IsTerminal());
    }

    [Fact]
    public async Task A_late_subscriber_still_gets_the_final_state_of_every_task()
    {
        await using var cluster = await NodeProcessCluster.StartAsync(2, Latency);
        await using var client = await Connect(cluster);
        var specs = Enumerable.Range(0, 20).Select(i => Spec($"late-{i:D2}")).ToList();
        await client.SubmitBatchAsync(specs);
        await foreach (var _ in client.ResultsAsync(specs.Select(s => s.TaskId!))) { }

        // Everything is finished; a new watcher still sees every task's final state.
        var finals = new List<Contracts.Tasks.TaskProtocol.TaskStatusChanged>();
        await foreach (var e in client.WatchAsync(specs.Select(s => s.TaskId!)))
            finals.Add(e);
        Assert.Equal(specs.Count, finals.Count);
        Assert.All(finals, e => Assert.True(e.Status.IsTerminal()));
    }

    [Fact]
    public async Task Submitting_20000_tasks_with_a_queue_bound_of_1000_keeps_the_client_bounded_and_completes_everything()
    {
        // Fewer running slots than the submit rate needs, so the queue fills up to the bound and stays there.
        await using var cluster = await NodeProcessCluster.StartAsync(2, "megaflow.scheduler { max-running = 40, max-starting = 40 }");
        await using var client = await Connect(cluster, bound: 1000);
        const int count = 20_000;
        var ids = Enumerable.Range(0, count).Select(i => $"many-{i:D5}").ToList();

        var maxDepth = 0;
        var peakHeap = 0L;
        // Listen before submitting, and keep reading while submitting, so no completion is missed;
        // only ids are kept, never states.
        await using var feed = await TaskEventFeed.SubscribeAsync(client.System, capacity: 4 * count);
        var completed = new HashSet<string>();
        using var stopListening = new CancellationTokenSource();
        var listener = Task.Run(async () =>
        {
            try
            {
                while (completed.Count < count)
                {
                    var e = await feed.Reader.ReadAsync(stopListening.Token);
                    if (e.Status == TaskStatus.Completed) lock (completed) completed.Add(e.TaskId);
                }
            }
            catch (OperationCanceledException) { }
        });
        // Specs are made lazily: the client never holds all 20,000 at once.
        var submitter = Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (id, ct) =>
            await client.SubmitAsync(new TaskSpec { TaskId = id, Mode = "ephemeral", Image = "img", Actions = ["echo x"], ScoreCommand = "exit 0" }, ct: ct));
        while (!submitter.IsCompleted)
        {
            maxDepth = Math.Max(maxDepth, (await client.GetSchedulerStatusAsync()).QueueDepth);
            peakHeap = Math.Max(peakHeap, GC.GetTotalMemory(false));
            await Task.WhenAny(submitter, Task.Delay(250));
        }
        await submitter;

        // Wait for the stream to go quiet (15 s without a new completion) or finish.
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(8);
        var last = -1;
        while (DateTime.UtcNow < deadline)
        {
            int now;
            lock (completed) now = completed.Count;
            if (now >= count || now == last) break;
            last = now;
            await Task.WhenAny(listener, Task.Delay(TimeSpan.FromSeconds(15)));
        }
        stopListening.Cancel();
        await listener;
        var heard = completed.Count;
        // Pub-sub is at-most-once: ask the state of anything whose completion was not seen.
        foreach (var id in ids.Where(id => !completed.Contains(id)).ToList())
            if ((await client.GetStateAsync(id)).Status == TaskStatus.Completed) completed.Add(id);
        Assert.Equal(count, completed.Count);
        Assert.True(heard > count / 2, $"only {heard} completions arrived as events");
        // The bound holds up to the submissions already in flight when the queue filled.
        Assert.True(maxDepth <= 1000 + 32 + 50, $"queue depth reached {maxDepth} with a bound of 1000");
        Assert.True(maxDepth >= 500, $"queue depth only reached {maxDepth}: the bound was never exercised");
        Assert.True(peakHeap < 300L * 1024 * 1024, $"client heap peaked at {peakHeap / 1024 / 1024} MiB");
    }

    [Fact]
    public async Task A_1000_line_file_submits_in_one_call_and_past_the_bound_a_no_wait_submit_says_busy()
    {
        // Two running slots: the queue drains slowly, so it stays deep for the second client.
        await using var cluster = await NodeProcessCluster.StartAsync(2, "megaflow.scheduler { max-running = 2 }\n" + Latency);
        var file = Path.Combine(Path.GetTempPath(), $"tasks-{Guid.NewGuid():N}.jsonl");
        await File.WriteAllLinesAsync(file, Enumerable.Range(0, 1000).Select(i =>
            $"{{\"taskId\":\"file-{i:D4}\",\"mode\":\"ephemeral\",\"image\":\"img\",\"actions\":[\"echo {i}\"],\"scoreCommand\":\"exit 0\"}}"));
        try
        {
            await using var submitter = await Connect(cluster);
            var submission = await submitter.SubmitFileAsync(file);
            Assert.False(submission.File.HasErrors);
            Assert.Equal(1000, submission.Accepted.Count(a => !a.AlreadyKnown));

            await using var bounded = await Connect(cluster, bound: 50);
            var busy = await Assert.ThrowsAsync<ClusterBusyException>(() =>
                bounded.SubmitAsync(Spec("one-more"), waitIfBusy: false));
            Assert.True(busy.QueueDepth >= 50, $"depth {busy.QueueDepth}");
            Assert.Contains("busy", busy.Message);
            // Nothing was persisted for the refused submission.
            Assert.Equal(TaskStatus.Unknown, (await bounded.GetStateAsync("one-more")).Status);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
