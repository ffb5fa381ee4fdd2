using MegaFlow.Model.Inference;
using MegaFlow.Model.Policy;
using MegaFlow.Model.Tokenization;
using MegaFlow.Model.Weights;
using MegaFlow.Storage;

namespace MegaFlow.Training.Tests;

public sealed class TrainerTests : IDisposable
{
    private static readonly PolicyConfig Config = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("megaflow-training-").FullName;

    public TrainerTests() => TestSetup.Torch();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>An engine and a trainer holding the same seeded version-0 weights.</summary>
    private static (InferenceEngine Engine, GspoTrainer Trainer) Pair(long seed, GspoOptions? options = null, WeightStore? store = null)
    {
        var initial = PolicyModel.CreateInitial("policy", Config, seed);
        var trainer = new GspoTrainer(PolicyModel.FromWeights("policy", 0, Config, initial.SaveWeights()), options, store);
        return (new InferenceEngine(initial), trainer);
    }

    private static async Task<List<TrajectorySample>> FreeSamplesAsync(InferenceEngine engine, string group, string text, int n, int seed)
    {
        var request = new GenerationRequest(ChatTemplate.Render([new ChatMessage("user", text)]),
            new SamplingOptions { Temperature = 1, MaxTokens = 24, N = n, Seed = seed, StopTokenIds = [ByteTokenizer.TurnEnd] });
        var result = await engine.GenerateAsync(request);
        // Any reward that differs within the group: here, the length of the answer.
        return Enumerable.Range(0, n).Select(i => TrajectorySample.FromGeneration(group, request, result, result.Sequences[i].Tokens.Count, i)).ToList();
    }

    [Fact]
    public async Task Before_the_first_update_the_trainer_recomputes_the_sampler_log_probs_and_every_ratio_is_1()
    {
        var (engine, trainer) = Pair(seed: 3);
        using var _ = engine;
        using var __ = trainer;
        // Free sampling (raw policy log-probs, stop token included) and guided_choice (the constrained
        // distribution, with "cat"/"car" sharing a prefix so it spreads over several tokens).
        var batch = new List<TrajectorySample>();
        batch.AddRange(await FreeSamplesAsync(engine, "free-a", "hello there", 4, seed: 11));
        batch.AddRange(await FreeSamplesAsync(engine, "free-b", "what is 2+2?", 4, seed: 12));
        var guided = await Bandit.SharedPrefix.SampleAsync(engine, replicas: 4, seed: 5);
        batch.AddRange(guided);

        var recomputed = trainer.RecomputeLogProbs(batch);
        var worst = 0.0;
        for (var i = 0; i < batch.Count; i++)
        {
            Assert.Equal(batch[i].OldLogProbs.Length, recomputed[i].Length);
            for (var t = 0; t < recomputed[i].Length; t++) worst = Math.Max(worst, Math.Abs(recomputed[i][t] - batch[i].OldLogProbs[t]));
        }
        Assert.True(worst < 1e-4, $"largest log-prob difference {worst}");
        // The guided samples' log-probs are the constrained distribution's: they sum to log q of the choice.
        var g = guided[0];
        Assert.Equal(g.OldLogProbs.Sum(), recomputed[batch.IndexOf(g)].Sum(), 1e-4);
        Assert.True(guided.Any(s => s.OldLogProbs.Count(l => l != 0) > 1), "no sample split its choice's mass over two tokens");

        var stats = await trainer.StepAsync(batch);
        Assert.True(stats.FirstUpdateMaxRatioDeviation < 1e-4, $"first update's ratios are off 1 by up to {stats.FirstUpdateMaxRatioDeviation}");
        Assert.Equal(batch.Count, stats.SequencesTrained);
        Assert.Equal(2 + Bandit.SharedPrefix.Prompts.Count, stats.GroupsTrained);
        Assert.Equal(batch.Sum(s => (long)s.ResponseTokenIds.Length), stats.Tokens);
        Assert.True(stats.Updated);
        Assert.Equal(1, stats.Version);
        Assert.Equal((int)Math.Ceiling(batch.Count / 32.0) * 2, stats.Updates); // default minibatches of 32, 2 epochs
    }

    [Fact]
    public async Task Infrastructure_failures_leave_their_group_and_a_group_with_fewer_than_two_left_is_skipped()
    {
        // MaxGradNorm 0: no clipping, the norm is still measured.
        var (engine, trainer) = Pair(seed: 4, new GspoOptions { MinibatchSize = 4, MaxGradNorm = 0 });
        using var _ = engine;
        using var __ = trainer;
        var three = (await FreeSamplesAsync(engine, "three", "alpha", 3, seed: 1)).Select((s, i) => s with { Reward = i }).ToList();
        var two = await FreeSamplesAsync(engine, "two", "beta", 2, seed: 2);
        var same = (await FreeSamplesAsync(engine, "same", "gamma", 2, seed: 3)).Select(s => s with { Reward = 1 }).ToList();
        var batch = new List<TrajectorySample>
        {
            three[0], three[1], TrajectorySample.Failed("three", 0, "container exited 137"),
            two[0], TrajectorySample.Failed("two", 0, "gateway timeout"),
            TrajectorySample.Failed("lost", 0, "node down"), TrajectorySample.Failed("lost", 0, "node down"),
            same[0], same[1],
        };

        var stats = await trainer.StepAsync(batch);
        Assert.Equal(4, stats.InfrastructureFailures);
        Assert.Equal(2, stats.GroupsTrained);       // "three" (2 left) and "same"
        Assert.Equal(2, stats.GroupsSkipped);       // "two" (1 left) and "lost" (none)
        Assert.Equal(1, stats.ZeroAdvantageGroups); // "same": equal rewards
        Assert.Equal(4, stats.SequencesTrained);
        Assert.Equal(new[] { three[0], three[1], two[0], same[0], same[1] }.Average(s => s.Reward), stats.MeanReward, 1e-12);
        Assert.Equal(2, stats.Updates);
        Assert.Equal(1, stats.Version);
        Assert.True(stats.MeanGradNorm > 0);

        // Nothing left to train: no update, no new version.
        var nothing = await trainer.StepAsync([two[1], TrajectorySample.Failed("two", 1, "timeout")]);
        Assert.False(nothing.Updated);
        Assert.Equal(1, nothing.Version);
        Assert.Equal(1, nothing.GroupsSkipped);

        // Only equal rewards: no gradient, and no AdamW step either (momentum would still move the weights).
        var before = trainer.RecomputeLogProbs(same);
        var flat = await trainer.StepAsync(same);
        Assert.False(flat.Updated);
        Assert.Equal(1, flat.ZeroAdvantageGroups);
        Assert.Equal(1, flat.Version);
        Assert.Equal(before, trainer.RecomputeLogProbs(same));
    }

    [Fact]
    public async Task A_step_saves_version_N_plus_1_and_a_resumed_trainer_continues_exactly()
    {
        var first = Path.Combine(_dir, "a");
        var store = new LocalFolderArtifactStore(first);
        var options = new GspoOptions { MinibatchSize = 8, LearningRate = 3e-3, Seed = 9 };
        var (engine, trainer) = Pair(seed: 5, options, new WeightStore(store));
        using var _ = engine;
        using var __ = trainer;
        var batch1 = await Bandit.SharedPrefix.SampleAsync(engine, replicas: 4, seed: 1);
        var batch2 = await Bandit.SharedPrefix.SampleAsync(engine, replicas: 4, seed: 2);

        var stats = await trainer.StepAsync(batch1);
        Assert.Equal(1, stats.Version);
        var weights = new WeightStore(store);
        Assert.Equal(1, await weights.LatestVersionAsync("policy"));
        using (var v1 = await weights.LoadAsync("policy", 1))
        using (var snapshot = trainer.Snapshot())
        {
            Assert.Equal(snapshot.SaveWeights(), v1.SaveWeights());
            using var v0 = PolicyModel.CreateInitial("policy", Config, 5);
            Assert.NotEqual(v0.SaveWeights(), v1.SaveWeights());
        }
        await trainer.SaveCheckpointAsync(store);
        Assert.True(File.Exists(Path.Combine(first, "training", "policy", "v1", "optimizer.bin")));

        // Two copies of the store: one resumes with the optimizer state, one without it.
        var second = Path.Combine(_dir, "b");
        var third = Path.Combine(_dir, "c");
        CopyFolder(first, second);
        CopyFolder(first, third);
        File.Delete(Path.Combine(third, "training", "policy", "v1", "optimizer.bin"));
        var resumedStore = new LocalFolderArtifactStore(second);
        using var resumed = await GspoTrainer.ResumeAsync(new WeightStore(resumedStore), resumedStore, "policy", options);
        var freshStore = new LocalFolderArtifactStore(third);
        using var fresh = await GspoTrainer.ResumeAsync(new WeightStore(freshStore), freshStore, "policy", options);
        Assert.Equal(1, resumed.Version);

        // batch2 was sampled with version 0 and is trained at version 1: one version stale, so the
        // first update's ratios are no longer 1 (the old log-probs are version 0's).
        var stale = await trainer.StepAsync(batch2);
        Assert.Equal(1, stale.MaxStaleness);
        Assert.True(stale.FirstUpdateMaxRatioDeviation > 1e-4, $"ratio deviation {stale.FirstUpdateMaxRatioDeviation}");
        await resumed.StepAsync(batch2);
        await fresh.StepAsync(batch2);
        using var a = trainer.Snapshot();
        using var b = await new WeightStore(resumedStore).LoadAsync("policy", 2);
        using var c = fresh.Snapshot();
        Assert.Equal(a.SaveWeights(), b.SaveWeights());
        // AdamW's moments matter: without them the same batch moves the weights elsewhere.
        Assert.NotEqual(a.SaveWeights(), c.SaveWeights());
    }

    [Fact]
    public async Task A_step_stopped_after_an_update_leaves_a_trainer_that_refuses_to_go_on()
    {
        var (engine, trainer) = Pair(seed: 6, new GspoOptions { MinibatchSize = 8 });
        using var _ = engine;
        using var __ = trainer;
        var batch = await Bandit.SharedPrefix.SampleAsync(engine, replicas: 4, seed: 3);
        using var cts = new CancellationTokenSource();
        trainer.AfterUpdate = cts.Cancel;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => trainer.StepAsync(batch, cts.Token));
        Assert.Equal(0, trainer.Version);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => trainer.StepAsync(batch));
        Assert.Contains("resume from the weight store", e.Message);
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    [Fact]
    public void Inconsistent_samples_are_refused_naming_their_group()
    {
        using var trainer = new GspoTrainer(PolicyModel.CreateInitial("policy", Config, 1));
        var ok = new TrajectorySample { GroupId = "g", PromptTokenIds = [256, 65], ResponseTokenIds = [66, 67], OldLogProbs = [-1, -2], WeightVersion = 0 };
        var e = Assert.Throws<ArgumentException>(() => trainer.RecomputeLogProbs([ok with { OldLogProbs = [-1] }]));
        Assert.Contains("group g", e.Message);
        Assert.Throws<ArgumentException>(() => trainer.RecomputeLogProbs([ok with { ResponseTokenIds = [66, 999] }]));
        Assert.Throws<ArgumentException>(() => trainer.RecomputeLogProbs([ok with { GuidedChoices = [[70, 71], [72, 73]] }]));
        Assert.Throws<ArgumentException>(() => trainer.RecomputeLogProbs([ok with { Reward = double.NaN }]));
        Assert.Equal(2, trainer.RecomputeLogProbs([ok])[0].Length);
    }
}
