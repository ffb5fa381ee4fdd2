using MegaFlow.Model.Policy;
using MegaFlow.Model.Tokenization;
using MegaFlow.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MegaFlow.Bench;

/// <summary>
/// The baseline: GSPO written directly against TorchSharp for the batches this benchmark makes, with
/// none of the trainer's generality or bookkeeping. Its own network of the policy's shape (loaded from
/// the same weight bytes), the same minibatch cut (the trainer's shuffle, seeded the same way), epochs,
/// AdamW, gradient clipping and loss; but every minibatch is a handful of whole-batch tensor ops: one
/// packed pass over the prompts, one GRU step for the four letters from each prompt's state, the
/// constrained distribution and the loss as [n, 4] and [n, 2] tensors.
/// <para>Only for guided choices whose answers are one distinct token followed by the turn's end (the
/// built-in suite's letters): their factorised log-probs are then [log q_c, 0] exactly, which the
/// trainer's general prefix-tree code also computes.</para>
/// </summary>
internal sealed class BareGspo : IDisposable
{
    private readonly Network _network;
    private readonly AdamW _optimizer;
    private readonly GspoOptions _options;

    public BareGspo(PolicyConfig config, byte[] weights, GspoOptions options)
    {
        _options = options;
        _network = new Network(config);
        using (var reader = new BinaryReader(new MemoryStream(weights)))
            _network.load(reader, strict: true);
        _optimizer = optim.AdamW(_network.parameters(), lr: options.LearningRate, beta1: options.Beta1, beta2: options.Beta2, weight_decay: options.WeightDecay);
    }

    /// <summary>The weights as <see cref="PolicyModel.SaveWeights"/> writes them (to compare with the trainer's).</summary>
    public byte[] SaveWeights()
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            _network.save(writer);
        return stream.ToArray();
    }

    /// <summary>One step over <paramref name="batch"/> from weight version <paramref name="version"/>; returns each update's loss.</summary>
    public List<double> Step(IReadOnlyList<TrajectorySample> batch, long version)
    {
        // Group-normalised advantages (sample std + 1e-6), infrastructure failures left out.
        var items = new List<(TrajectorySample Sample, double Advantage)>();
        foreach (var group in batch.GroupBy(s => s.GroupId))
        {
            var scored = group.Where(s => !s.IsInfrastructureFailure).ToList();
            if (scored.Count < 2) continue;
            var mean = scored.Average(s => s.Reward);
            var std = Math.Sqrt(scored.Sum(s => (s.Reward - mean) * (s.Reward - mean)) / (scored.Count - 1));
            items.AddRange(scored.Select(s => (s, std == 0 ? 0 : (s.Reward - mean) / (std + GspoLoss.AdvantageEpsilon))));
        }
        var losses = new List<double>();
        if (items.All(x => x.Advantage == 0)) return losses;

        var rng = new Random(HashCode.Combine(_options.Seed, version));
        using var grad = enable_grad();
        for (var epoch = 0; epoch < _options.PpoEpochs; epoch++)
        {
            var order = Enumerable.Range(0, items.Count).ToArray();
            rng.Shuffle(order);
            foreach (var chunk in order.Chunk(_options.MinibatchSize))
            {
                using var scope = NewDisposeScope();
                var minibatch = chunk.Select(i => items[i]).OrderByDescending(x => x.Sample.PromptTokenIds.Length).ToArray();
                _optimizer.zero_grad();
                using var loss = Loss(minibatch);
                loss.backward();
                var norm = nn.utils.clip_grad_norm_(_network.parameters(), _options.MaxGradNorm);
                var value = loss.item<double>();
                if (!double.IsFinite(norm) || !double.IsFinite(value)) continue;
                _optimizer.step();
                losses.Add(value);
            }
        }
        return losses;
    }

    private Tensor Loss((TrajectorySample Sample, double Advantage)[] minibatch)
    {
        var n = minibatch.Length;
        var k = Rollouts.Choices.Count;
        var width = minibatch[0].Sample.PromptTokenIds.Length;
        var flat = new long[n * width];
        for (var r = 0; r < n; r++)
            for (var t = 0; t < minibatch[r].Sample.PromptTokenIds.Length; t++)
                flat[r * width + t] = minibatch[r].Sample.PromptTokenIds[t];
        var letters = new long[n * k];
        var chosen = new long[n];
        var old = new double[n * 2];
        var advantages = new double[n];
        for (var r = 0; r < n; r++)
        {
            var s = minibatch[r].Sample;
            for (var j = 0; j < k; j++) letters[r * k + j] = s.GuidedChoices![j][0];
            chosen[r] = s.ChoiceIndex;
            old[2 * r] = s.OldLogProbs[0];
            old[2 * r + 1] = s.OldLogProbs[1];
            advantages[r] = minibatch[r].Advantage;
        }

        // The prompts in one packed pass; only the final state is needed.
        var lengths = tensor(minibatch.Select(x => (long)x.Sample.PromptTokenIds.Length).ToArray(), dtype: ScalarType.Int64);
        using var packed = nn.utils.rnn.pack_padded_sequence(_network.Embedding.call(tensor(flat, [n, width], dtype: ScalarType.Int64)), lengths, batch_first: true, enforce_sorted: true);
        var (packedOut, hidden) = _network.Gru.call(packed, null);
        packedOut.Dispose();
        var first = nn.functional.log_softmax(_network.Head.call(hidden[-1]), -1);                        // [n, V]
        // Each letter, one GRU step on from its prompt's state: the log-prob of the turn's end after it.
        var letterIds = tensor(letters, [n * k], dtype: ScalarType.Int64);
        var (stepOut, _) = _network.Gru.call(_network.Embedding.call(letterIds.unsqueeze(1)), hidden.repeat_interleave(k, 1));
        var second = nn.functional.log_softmax(_network.Head.call(stepOut.squeeze(1)), -1);               // [n·k, V]
        var scores = first.gather(1, letterIds.view(n, k)) + second[.., ByteTokenizer.TurnEnd].view(n, k); // log p(letter, end | prompt)
        var q = scores - scores.logsumexp(1, keepdim: true);                                               // the constrained distribution
        var index = tensor(chosen, [n, 1], dtype: ScalarType.Int64);
        var head = q.gather(1, index).squeeze(1) - q.logsumexp(1);
        var current = stack([head, zeros_like(head)], 1).to_type(ScalarType.Float64);                     // [log q_c, 0]

        var ratio = (current - tensor(old, [n, 2], dtype: ScalarType.Float64)).mean([1]).exp();
        var a = tensor(advantages, dtype: ScalarType.Float64);
        var clipped = ratio.clamp(1 - _options.EpsilonLow, 1 + _options.EpsilonHigh);
        return (-minimum(ratio * a, clipped * a).mean()).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _network.Dispose();
    }

    /// <summary>The policy's architecture, its parameters named as the policy names them (so the same bytes load).</summary>
    private sealed class Network : nn.Module<Tensor, Tensor>
    {
        private readonly Embedding _embedding;
        private readonly GRU _gru;
        private readonly Linear _head;

        public Network(PolicyConfig config) : base("megaflow_policy")
        {
            _embedding = nn.Embedding(config.VocabSize, config.EmbeddingSize);
            _gru = nn.GRU(config.EmbeddingSize, config.HiddenSize, numLayers: config.Layers, batchFirst: true);
            _head = nn.Linear(config.HiddenSize, config.VocabSize);
            RegisterComponents();
        }

        public Embedding Embedding => _embedding;

        public GRU Gru => _gru;

        public Linear Head => _head;

        public override Tensor forward(Tensor tokens) => _head.call(_gru.call(_embedding.call(tokens)).Item1);
    }
}
