using System.Diagnostics;
using MegaFlow.Model.Policy;
using MegaFlow.Model.Weights;
using MegaFlow.Storage;
using TorchSharp;
using static TorchSharp.torch;

namespace MegaFlow.Training;

/// <summary>
/// Trains a policy with GSPO, one batch of groups per <see cref="StepAsync"/>: group-normalised
/// advantages, the batch cut into minibatches for <see cref="GspoOptions.PpoEpochs"/> passes, each
/// update = recompute the response log-probs with the current weights, <see cref="GspoLoss"/>,
/// backward, gradient clipping, AdamW. A step that changed the weights makes them version N + 1 and,
/// with a <see cref="WeightStore"/>, saves them there for the inference engines to load.
/// <para><b>Infrastructure failures.</b> A failed sample's reward says nothing about the policy, so it is
/// dropped from its group before the advantages are computed: the group's other samples are compared
/// among themselves if at least 2 remain (normalising against fewer is meaningless), otherwise the
/// whole group is skipped. Both are counted in the step's stats.</para>
/// <para>Not thread-safe: one trainer, one caller at a time. It owns the policy it was given.</para>
/// </summary>
public sealed class GspoTrainer : IDisposable
{
    private readonly PolicyModel _policy;
    private readonly TorchSharp.Modules.AdamW _optimizer;
    private readonly GspoOptions _options;
    private readonly WeightStore? _weights;
    private bool _torn;

    /// <param name="policy">The weights to start from (its version is the trainer's first); owned by the trainer.</param>
    /// <param name="weights">Where each new version is saved; null keeps versions in memory only (tests, dry runs).</param>
    public GspoTrainer(PolicyModel policy, GspoOptions? options = null, WeightStore? weights = null)
    {
        _options = (options ?? new GspoOptions()).Validated();
        _policy = policy;
        _weights = weights;
        Version = policy.Version;
        _optimizer = optim.AdamW(policy.Parameters(), lr: _options.LearningRate, beta1: _options.Beta1, beta2: _options.Beta2,
            weight_decay: _options.WeightDecay);
    }

    /// <summary>Called after every optimizer update (tests stop a step part-way with it).</summary>
    internal Action? AfterUpdate { get; set; }

    public string ModelName => _policy.Name;

    public PolicyConfig Config => _policy.Config;

    public GspoOptions Options => _options;

    /// <summary>The version of the weights the trainer holds now.</summary>
    public long Version { get; private set; }

    /// <summary>A copy of the current weights as <see cref="Version"/> (e.g. for an engine's SwapWeights); the caller owns it.</summary>
    public PolicyModel Snapshot() => _policy.AsVersion(Version);

    /// <summary>
    /// The current weights' log-probs of each sample's response tokens (no gradients), defined as the
    /// sampler defines them: compare with <see cref="TrajectorySample.OldLogProbs"/>.
    /// </summary>
    public double[][] RecomputeLogProbs(IReadOnlyList<TrajectorySample> samples)
    {
        foreach (var s in samples) s.Validated(_policy.Config.VocabSize);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        return ResponseLogProbs.Compute(_policy, samples)
            .Select(t => t.to_type(ScalarType.Float64).cpu().data<double>().ToArray()).ToArray();
    }

    /// <summary>
    /// Trains on one batch (any number of groups) and publishes the result as the next version. A step
    /// cancelled or failed after its first update leaves weights that are no version at all: the trainer
    /// then refuses further steps (resume from the last saved version instead).
    /// </summary>
    public async Task<GspoStepStats> StepAsync(IReadOnlyList<TrajectorySample> batch, CancellationToken ct = default)
    {
        if (_torn)
            throw new InvalidOperationException($"a step of '{ModelName}' stopped after updating some weights (version {Version} is no longer what it holds); resume from the weight store");
        var stats = Train(batch, ct);
        if (stats.Updated && _weights is not null)
        {
            using var published = _policy.AsVersion(stats.Version);
            await _weights.SaveAsync(published, ct);
        }
        return stats;
    }

    private GspoStepStats Train(IReadOnlyList<TrajectorySample> batch, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        foreach (var s in batch) s.Validated(_policy.Config.VocabSize);

        var items = new List<(TrajectorySample Sample, double Advantage)>();
        int groupsTrained = 0, groupsSkipped = 0, zeroGroups = 0, failures = 0;
        foreach (var group in batch.GroupBy(s => s.GroupId))
        {
            var scored = group.Where(s => !s.IsInfrastructureFailure).ToList();
            failures += group.Count() - scored.Count;
            if (scored.Count < 2)
            {
                groupsSkipped++;
                continue;
            }
            var advantages = GspoLoss.GroupAdvantages(scored.Select(s => s.Reward).ToList());
            if (advantages.All(a => a == 0)) zeroGroups++;
            groupsTrained++;
            items.AddRange(scored.Zip(advantages));
        }
        var scoredRewards = batch.Where(s => !s.IsInfrastructureFailure).Select(s => s.Reward).ToList();
        var stats = new GspoStepStats
        {
            Version = Version,
            GroupsTrained = groupsTrained,
            GroupsSkipped = groupsSkipped,
            ZeroAdvantageGroups = zeroGroups,
            InfrastructureFailures = failures,
            MeanReward = scoredRewards.Count > 0 ? scoredRewards.Average() : 0,
            SequencesTrained = items.Count,
            Tokens = items.Sum(x => (long)x.Sample.ResponseTokenIds.Length),
            MaxStaleness = items.Count > 0 ? Version - items.Min(x => x.Sample.WeightVersion) : 0,
        };
        if (items.Count == 0) return stats with { Elapsed = clock.Elapsed };
        if (items.All(x => x.Advantage == 0))
        {
            // No group tells good from bad: the loss has no gradient, and an AdamW step would still move
            // the weights (momentum, weight decay) with nothing learned. No update, no new version.
            return stats with { SequencesTrained = 0, GroupsTrained = 0, Tokens = 0, MaxStaleness = 0, Elapsed = clock.Elapsed };
        }

        // Seeded by version too: a trainer resumed from a checkpoint cuts the same minibatches.
        var rng = new Random(HashCode.Combine(_options.Seed, Version));
        var losses = new List<double>();
        var gradNorms = new List<double>();
        int evaluations = 0, clipped = 0, nonFinite = 0;
        var firstDeviation = 0.0;
        using var grad = enable_grad();
        for (var epoch = 0; epoch < _options.PpoEpochs; epoch++)
        {
            var order = Enumerable.Range(0, items.Count).ToArray();
            rng.Shuffle(order);
            foreach (var chunk in order.Chunk(_options.MinibatchSize))
            {
                ct.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var minibatch = chunk.Select(i => items[i]).ToList();
                _optimizer.zero_grad();
                var current = ResponseLogProbs.Compute(_policy, minibatch.Select(x => x.Sample).ToList());
                using var loss = GspoLoss.Compute(current, minibatch.Select(x => x.Sample.OldLogProbs).ToList(),
                    minibatch.Select(x => x.Advantage).ToList(), _options.EpsilonLow, _options.EpsilonHigh);
                loss.Loss.backward();
                var norm = _options.MaxGradNorm > 0 ? nn.utils.clip_grad_norm_(_policy.Parameters(), _options.MaxGradNorm) : GradNorm();
                if (!double.IsFinite(norm) || !double.IsFinite(loss.Loss.item<double>()))
                {
                    // One overflowing ratio would turn every weight into NaN for good: drop the update.
                    nonFinite++;
                    continue;
                }
                gradNorms.Add(norm);
                // From here until the version is bumped the weights are between versions.
                _torn = true;
                _optimizer.step();
                AfterUpdate?.Invoke();
                if (losses.Count == 0) firstDeviation = loss.Ratios.Max(r => Math.Abs(r - 1));
                losses.Add(loss.Loss.item<double>());
                evaluations += minibatch.Count;
                clipped += loss.ClippedSequences;
            }
        }
        if (losses.Count == 0) return stats with { NonFiniteUpdatesSkipped = nonFinite, Elapsed = clock.Elapsed };
        Version++;
        _torn = false;
        return stats with
        {
            Version = Version,
            Updated = true,
            FirstLoss = losses[0],
            MeanLoss = losses.Average(),
            ClipFraction = (double)clipped / evaluations,
            FirstUpdateMaxRatioDeviation = firstDeviation,
            Updates = losses.Count,
            NonFiniteUpdatesSkipped = nonFinite,
            MeanGradNorm = gradNorms.Average(),
            Elapsed = clock.Elapsed,
        };
    }

    private double GradNorm()
    {
        using var _ = no_grad();
        var total = 0.0;
        foreach (var p in _policy.Parameters())
        {
            using var g = p.grad;
            if (g is null) continue;
            using var norm = g.norm();
            total += Math.Pow(norm.item<float>(), 2);
        }
        return Math.Sqrt(total);
    }

    /// <summary>AdamW's state (moments and step counts) in TorchSharp's own format.</summary>
    public byte[] SaveOptimizerState()
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            _optimizer.save_state_dict(writer);
        return stream.ToArray();
    }

    /// <summary>Restores state saved by <see cref="SaveOptimizerState"/> for the same architecture.</summary>
    public void LoadOptimizerState(byte[] state)
    {
        using var reader = new BinaryReader(new MemoryStream(state));
        _optimizer.load_state_dict(reader);
    }

    /// <summary>Where a version's optimizer state is kept, beside (not inside) the weight version.</summary>
    public static string OptimizerStateKey(string name, long version) => $"training/{name}/v{version}/optimizer.bin";

    /// <summary>Saves the optimizer state of the current version (the weights go through the weight store).</summary>
    public async Task SaveCheckpointAsync(IArtifactStore artifacts, CancellationToken ct = default) =>
        await artifacts.SaveAsync(OptimizerStateKey(ModelName, Version), SaveOptimizerState(), ct);

    /// <summary>
    /// A trainer continuing from a saved version (the latest when <paramref name="version"/> is null):
    /// its weights from the weight store and, when a checkpoint of that version exists, its optimizer
    /// state (otherwise AdamW starts fresh).
    /// </summary>
    public static async Task<GspoTrainer> ResumeAsync(WeightStore weights, IArtifactStore artifacts, string name, GspoOptions? options = null,
        string device = "cpu", long? version = null, CancellationToken ct = default)
    {
        var policy = await weights.LoadAsync(name, version, device, ct);
        var trainer = new GspoTrainer(policy, options, weights);
        if (await artifacts.ReadAsync(OptimizerStateKey(name, policy.Version), ct) is { } state)
            trainer.LoadOptimizerState(state);
        return trainer;
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _policy.Dispose();
    }
}
