using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using MegaFlow.Cluster.Tests.Infrastructure;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Contracts.Training;
using MegaFlow.Hosting;

namespace MegaFlow.Cluster.Tests.Training;

/// <summary>
/// Trajectories flow from a worker node to a reader on another node through an Akka.Streams stream
/// reference: every finished attempt becomes one, with its model calls' token ids and log-probs; the
/// flow is demand-driven across the hop (a stalled reader stalls the worker's journal query, not its
/// memory); a reader that comes back asks again from the last position it took and loses nothing.
/// </summary>
public sealed class TrajectoryStreamTests
{
    private static IReadOnlyList<TaskSpec> Groups(string prefix, int groups, int replicas) =>
        ChoiceTaskSet.Specs(prefix, groups * replicas, s =>
        {
            var index = int.Parse(s.TaskId![(s.TaskId!.LastIndexOf('-') + 1)..]);
            return s with
            {
                Metadata = new Dictionary<string, string>(s.Metadata!)
                {
                    [TaskMetadataKeys.Group] = $"{prefix}-g{index / replicas}",
                    [TaskMetadataKeys.Replica] = (index % replicas).ToString(),
                },
            };
        });

    private static async Task<ISourceRef<Trajectory>> RequestAsync(TestNode reader, TestNode worker, long after) =>
        await reader.System.ActorSelection(new RootActorPath(worker.Address) / "user" / "trajectories")
            .Ask<ISourceRef<Trajectory>>(new RequestTrajectories(after), TimeSpan.FromSeconds(20));

    private static int StoredTrajectories(TestStorage storage) =>
        Directory.Exists(Path.Combine(storage.DataDir, "artifacts", "trajectories"))
            ? Directory.GetFiles(Path.Combine(storage.DataDir, "artifacts", "trajectories"), "*.json", SearchOption.AllDirectories).Length
            : 0;

    [Fact]
    public async Task Every_finished_attempt_reaches_a_reader_on_another_node_with_its_tokens_group_and_replica()
    {
        await using var model = await LocalModelService.StartAsync();
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartAsync(storage, workers: 2, provider: "local", extraHocon: model.Hocon);
        var (worker, reader) = (cluster.Nodes[0], cluster.Nodes[1]);
        var specs = Groups("trj", groups: 3, replicas: 4);

        await TestCluster.SubmitAllAsync(worker.Refs.Tasks, specs);
        var states = (await TestCluster.WaitForTerminalAsync(worker.Refs.Tasks, specs.Select(s => s.TaskId!).ToList(), TimeSpan.FromSeconds(120))).ToDictionary(s => s.TaskId);
        var source = await RequestAsync(reader, worker, after: 0);
        var trajectories = await source.Source.Take(specs.Count).RunWith(Sink.Seq<Trajectory>(), reader.System.Materializer()).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(specs.Select(s => s.TaskId!).Order(), trajectories.Select(t => t.TaskId).Order());
        Assert.Equal(trajectories.Select(t => t.Position).Order(), trajectories.Select(t => t.Position)); // in journal order
        foreach (var t in trajectories)
        {
            var state = states[t.TaskId];
            Assert.Equal(("completed", state.Score!.Reward, 1), (t.Outcome, t.Reward, t.Attempt));
            Assert.Equal(state.Spec!.Metadata![TaskMetadataKeys.Group], t.Group);
            Assert.Equal(int.Parse(state.Spec.Metadata[TaskMetadataKeys.Replica]), t.Replica);
            Assert.Equal(state.ModelCalls.Select(c => c.Round), t.Turns.Select(turn => turn.Round));
            Assert.All(t.Turns, turn =>
            {
                Assert.Equal(LocalModelService.WeightVersion, turn.WeightVersion);
                Assert.NotEmpty(turn.PromptTokenIds);
                Assert.NotEmpty(turn.ResponseTokenIds);
                Assert.Equal(turn.ResponseTokenIds.Count, turn.ResponseLogProbs.Count);
                Assert.Equal([.. ChoiceTaskSet.Actions, "submit"], turn.GuidedChoice); // the constrained call's answers, for the trainer's recomputation
            });
            Assert.True(File.Exists(Path.Combine(storage.DataDir, "artifacts", TrajectoryPaths.For(t.TaskId, t.Attempt))), t.Id);
        }
    }

    [Fact]
    public async Task A_stalled_reader_stalls_the_worker_within_its_buffer_and_a_reader_that_comes_back_resumes_without_a_gap()
    {
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartAsync(storage, workers: 2, provider: "simulated");
        var (worker, reader) = (cluster.Nodes[0], cluster.Nodes[1]);
        var specs = Enumerable.Range(0, 120).Select(i => Specs.Simple($"stall-{i:D3}", actions: ["echo x"])).ToList();
        await TestCluster.SubmitAllAsync(worker.Refs.Tasks, specs);
        await TestCluster.WaitForTerminalAsync(worker.Refs.Tasks, specs.Select(s => s.TaskId!).ToList(), TimeSpan.FromSeconds(120));
        var materializer = reader.System.Materializer();

        // A reader that takes 10, then stops pulling.
        var taken = new List<Trajectory>();
        var gate = new TaskCompletionSource();
        var first = await RequestAsync(reader, worker, after: 0);
        var stalled = first.Source
            .SelectAsync(1, async t =>
            {
                lock (taken) taken.Add(t);
                if (taken.Count >= 10) await gate.Task; // the trainer is busy
                return t;
            })
            .RunWith(Sink.Ignore<Trajectory>(), materializer);
        await TestCluster.Eventually(() => Task.FromResult(taken.Count >= 10), TimeSpan.FromSeconds(30), "the reader took 10");
        await Task.Delay(TimeSpan.FromSeconds(3));

        // The worker built (and stored) only what the stream's buffers hold beyond what was taken:
        // the stream ref's buffer (32) and the builder's parallelism (4), far fewer than the 120 ready.
        var built = StoredTrajectories(storage);
        Assert.InRange(built, 10, 10 + 32 + 4 + 2);

        // The reader goes away (a trainer restart) having kept only the first 10; it asks again from
        // the position of the last one it kept, and gets the other 110, each once, in order.
        var kept = taken.Take(10).ToList();
        gate.SetResult();
        var again = await RequestAsync(reader, worker, after: kept[^1].Position);
        var rest = await again.Source.Take(110).RunWith(Sink.Seq<Trajectory>(), materializer).WaitAsync(TimeSpan.FromSeconds(60));
        var all = kept.Concat(rest).Select(t => t.TaskId).ToList();
        Assert.Equal(specs.Select(s => s.TaskId!).Order(), all.Order());
        Assert.Equal(all.Count, all.Distinct().Count());
        _ = stalled;
    }

    [Fact]
    public async Task When_the_worker_serving_a_reader_crashes_the_reader_resumes_from_another_worker_without_a_gap()
    {
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartAsync(storage, workers: 2, provider: "simulated");
        var (worker, reader) = (cluster.Nodes[0], cluster.Nodes[1]);
        var specs = Enumerable.Range(0, 60).Select(i => Specs.Simple($"crash-{i:D2}", actions: ["echo x"])).ToList();
        await TestCluster.SubmitAllAsync(worker.Refs.Tasks, specs);
        await TestCluster.WaitForTerminalAsync(worker.Refs.Tasks, specs.Select(s => s.TaskId!).ToList(), TimeSpan.FromSeconds(120));
        var materializer = reader.System.Materializer();

        var kept = new List<Trajectory>();
        var first = await RequestAsync(reader, worker, after: 0);
        var failed = first.Source
            .Select(t => { lock (kept) kept.Add(t); return t; })
            .Throttle(1, TimeSpan.FromMilliseconds(100), 1, ThrottleMode.Shaping) // a reader slower than the worker
            .RunWith(Sink.Ignore<Trajectory>(), materializer);
        await TestCluster.Eventually(() => Task.FromResult(kept.Count >= 10), TimeSpan.FromSeconds(30), "the reader took 10");
        await worker.Crash();
        await Assert.ThrowsAnyAsync<Exception>(() => failed.WaitAsync(TimeSpan.FromSeconds(60)));

        List<Trajectory> before;
        lock (kept) before = [.. kept];
        var again = await RequestAsync(reader, reader, after: before[^1].Position);
        var rest = await again.Source.Take(60 - before.Count).RunWith(Sink.Seq<Trajectory>(), materializer).WaitAsync(TimeSpan.FromSeconds(60));
        var all = before.Concat(rest).Select(t => t.TaskId).ToList();
        Assert.Equal(specs.Select(s => s.TaskId!).Order(), all.Order());
    }

    [Fact]
    public async Task The_trainer_recomputes_the_sampled_log_probs_of_trajectories_that_went_through_the_gateway_and_the_journal()
    {
        // Token capture end to end: sampled by the model service, recorded by the gateway, journalled,
        // assembled into trajectories from the journal, turned into samples: the trainer's forward pass
        // over the same weights gives the log-probs the sampler returned (the constrained distribution
        // of each guided choice), within 1e-4 — nothing was re-tokenized or lost on the way.
        await using var model = await LocalModelService.StartAsync();
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await using var cluster = await TestCluster.StartSingleNodeAsync(storage, provider: "local", extraHocon: model.Hocon);
        var node = cluster.Nodes[0];
        var specs = Groups("fid", groups: 2, replicas: 4);
        await TestCluster.SubmitAllAsync(node.Refs.Tasks, specs);
        await TestCluster.WaitForTerminalAsync(node.Refs.Tasks, specs.Select(s => s.TaskId!).ToList(), TimeSpan.FromSeconds(120));
        var source = await node.System.ActorSelection("/user/trajectories").Ask<ISourceRef<Trajectory>>(new RequestTrajectories(0), TimeSpan.FromSeconds(20));
        var trajectories = await source.Source.Take(specs.Count).RunWith(Sink.Seq<Trajectory>(), node.System.Materializer()).WaitAsync(TimeSpan.FromSeconds(60));

        var samples = trajectories.SelectMany(MegaFlow.Training.TrajectorySamples.From).ToList();
        Assert.Equal(trajectories.Sum(t => t.Turns.Count), samples.Count);
        using var trainer = new MegaFlow.Training.GspoTrainer(MegaFlow.Model.Policy.PolicyModel.FromWeights(LocalModelService.ModelName, LocalModelService.WeightVersion, model.Config, model.Weights));
        var recomputed = trainer.RecomputeLogProbs(samples);
        for (var i = 0; i < samples.Count; i++)
        {
            Assert.NotNull(samples[i].GuidedChoices);
            Assert.True(samples[i].ChoiceIndex >= 0, $"sample {i}: the response is one of its choices");
            Assert.Equal(samples[i].OldLogProbs.Length, recomputed[i].Length);
            for (var j = 0; j < recomputed[i].Length; j++)
                Assert.True(Math.Abs(samples[i].OldLogProbs[j] - recomputed[i][j]) < 1e-4, $"sample {i} token {j}: sampler {samples[i].OldLogProbs[j]}, trainer {recomputed[i][j]}");
        }
    }
}
