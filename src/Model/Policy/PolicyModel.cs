using TorchSharp;
using static TorchSharp.torch;

namespace MegaFlow.Model.Policy;

/// <summary>
/// One weight version of a named policy on one device. Owned by whoever holds it (the inference
/// engine, the trainer); disposing it frees its tensors.
/// </summary>
public sealed class PolicyModel : IDisposable
{
    // torch.manual_seed and the generator it seeds are process-wide, and building a network draws
    // from that generator (its initial weights): every construction holds this lock, so a seeded
    // version 0 never has its draws interleaved with another thread's network (CI saw 0.6 nats of
    // difference between two "identical" seed-21 models when a FromWeights ran alongside).
    private static readonly Lock SeedLock = new();

    internal PolicyNetwork Network { get; }

    public string Name { get; }

    public long Version { get; }

    public PolicyConfig Config { get; }

    public Device Device { get; }

    private PolicyModel(string name, long version, PolicyConfig config, Device device, PolicyNetwork network)
    {
        Name = name;
        Version = version;
        Config = config;
        Device = device;
        Network = network;
    }

    /// <summary>Version 0: freshly initialised weights, the same for the same seed and config.</summary>
    public static PolicyModel CreateInitial(string name, PolicyConfig config, long seed, string device = "cpu")
    {
        config.Validated();
        var dev = ParseDevice(device);
        var network = NewNetwork(config, seed);
        network.to(dev);
        return new PolicyModel(name, 0, config, dev, network);
    }

    /// <summary>Weights saved by <see cref="SaveWeights"/>, loaded into a network of <paramref name="config"/>'s shape.</summary>
    public static PolicyModel FromWeights(string name, long version, PolicyConfig config, byte[] weights, string device = "cpu")
    {
        config.Validated();
        var dev = ParseDevice(device);
        var network = NewNetwork(config, seed: null);
        using (var reader = new BinaryReader(new MemoryStream(weights)))
            network.load(reader, strict: true);
        network.to(dev);
        return new PolicyModel(name, version, config, dev, network);
    }

    private static PolicyNetwork NewNetwork(PolicyConfig config, long? seed)
    {
        lock (SeedLock)
        {
            if (seed is { } s) torch.manual_seed(s);
            return new PolicyNetwork(config);
        }
    }

    /// <summary>The same weights as a new version number (what a trainer publishes after a step).</summary>
    public PolicyModel AsVersion(long version) => FromWeights(Name, version, Config, SaveWeights(), Device.ToString());

    /// <summary>TorchSharp's own format (Module.save): exact bytes of every parameter.</summary>
    public byte[] SaveWeights()
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            if (Device.type == DeviceType.CPU) Network.save(writer);
            else
            {
                // Saved from a CPU copy so the bytes do not depend on the device trained on.
                using var cpu = NewNetwork(Config, seed: null);
                using var _ = torch.no_grad();
                foreach (var ((_, src), (_, dst)) in Network.named_parameters().Zip(cpu.named_parameters()))
                    dst.copy_(src.cpu());
                cpu.save(writer);
            }
        }
        return stream.ToArray();
    }

    /// <summary>The trainable parameters (for an optimizer).</summary>
    public IEnumerable<TorchSharp.Modules.Parameter> Parameters() => Network.parameters();

    /// <summary>
    /// The training forward pass: for each token sequence, log p(token[t] | token[..t]) for t = 1..len-1
    /// under these weights at temperature 1, with gradients (call it outside no_grad). One packed
    /// forward pass for all sequences. These are the numbers the inference engine returns as the
    /// log-probs of sampled tokens (within float rounding).
    /// </summary>
    public Tensor[] TokenLogProbs(IReadOnlyList<int[]> sequences)
    {
        if (sequences.Count == 0) return [];
        for (var i = 0; i < sequences.Count; i++)
        {
            if (sequences[i].Length < 2) throw new ArgumentException($"sequences[{i}]: needs at least 2 tokens (a context and a target)", nameof(sequences));
            if (sequences[i].Any(t => t < 0 || t >= Config.VocabSize)) throw new ArgumentException($"sequences[{i}]: token id outside the vocabulary", nameof(sequences));
        }
        // Packed sequences must be sorted longest first; results go back in the caller's order.
        var order = Enumerable.Range(0, sequences.Count).OrderByDescending(i => sequences[i].Length).ToArray();
        var inputs = order.Select(i => sequences[i][..^1]).ToArray();
        using var padded = Padded(inputs);
        var (logits, hidden) = Network.ForwardPacked(padded, inputs.Select(s => (long)s.Length).ToArray(), null);
        hidden.Dispose();
        using var logProbs = nn.functional.log_softmax(logits!, -1);
        logits!.Dispose();
        var result = new Tensor[sequences.Count];
        for (var k = 0; k < order.Length; k++)
        {
            var targets = sequences[order[k]][1..];
            using var rowTargets = tensor(targets.Select(t => (long)t).ToArray(), dtype: ScalarType.Int64, device: Device);
            using var row = logProbs[k].narrow(0, 0, targets.Length);
            result[order[k]] = row.gather(1, rowTargets.unsqueeze(1)).squeeze(1);
        }
        return result;
    }

    /// <summary>
    /// For each prompt and each of its continuations, log p(c[m] | prompt, c[..m]) for every token of
    /// the continuation, with gradients: what a constrained choice's log-prob is made of. The prompts
    /// go through one packed pass and every continuation starts from its prompt's final state, so a
    /// prompt with k allowed answers costs one pass over the prompt, not k (the same numbers as running
    /// prompt + answer as one sequence, up to float rounding).
    /// </summary>
    public Tensor[][] ContinuationLogProbs(IReadOnlyList<int[]> prompts, IReadOnlyList<IReadOnlyList<int[]>> continuations)
    {
        if (prompts.Count == 0) return [];
        if (prompts.Count != continuations.Count) throw new ArgumentException("one list of continuations per prompt", nameof(continuations));
        for (var i = 0; i < prompts.Count; i++)
        {
            if (prompts[i].Length == 0) throw new ArgumentException($"prompts[{i}]: empty", nameof(prompts));
            if (continuations[i].Any(c => c.Length == 0)) throw new ArgumentException($"continuations[{i}]: an empty continuation", nameof(continuations));
            if (prompts[i].Concat(continuations[i].SelectMany(c => c)).Any(t => t < 0 || t >= Config.VocabSize))
                throw new ArgumentException($"prompts[{i}]: token id outside the vocabulary", nameof(prompts));
        }
        var order = Enumerable.Range(0, prompts.Count).OrderByDescending(i => prompts[i].Length).ToArray();
        var position = new int[prompts.Count];
        for (var k = 0; k < order.Length; k++) position[order[k]] = k;
        using var padded = Padded(order.Select(i => prompts[i]).ToArray());
        var (_, hidden) = Network.ForwardPacked(padded, order.Select(i => (long)prompts[i].Length).ToArray(), null, allLogits: false);
        using var _h = hidden;
        using var first = nn.functional.log_softmax(Network.LogitsFromHidden(hidden), -1); // [B, V]: the answer's first token

        // Every continuation longer than one token runs on from its prompt's state, all in one packed pass.
        var pairs = Enumerable.Range(0, prompts.Count).SelectMany(i => continuations[i].Select((c, j) => (Prompt: i, Choice: j, Tokens: c)))
            .Where(p => p.Tokens.Length >= 2).OrderByDescending(p => p.Tokens.Length).ToArray();
        var rest = new Dictionary<(int, int), Tensor>();
        Tensor? contLogProbs = null;
        if (pairs.Length > 0)
        {
            using var index = tensor(pairs.Select(p => (long)position[p.Prompt]).ToArray(), dtype: ScalarType.Int64, device: Device);
            using var h0 = hidden.index_select(1, index);
            using var contPadded = Padded(pairs.Select(p => p.Tokens[..^1]).ToArray());
            var (logits, h) = Network.ForwardPacked(contPadded, pairs.Select(p => (long)p.Tokens.Length - 1).ToArray(), h0);
            h.Dispose();
            contLogProbs = nn.functional.log_softmax(logits!, -1);
            logits!.Dispose();
            for (var k = 0; k < pairs.Length; k++)
            {
                var targets = pairs[k].Tokens[1..];
                using var rowTargets = tensor(targets.Select(t => (long)t).ToArray(), dtype: ScalarType.Int64, device: Device);
                using var row = contLogProbs[k].narrow(0, 0, targets.Length);
                rest[(pairs[k].Prompt, pairs[k].Choice)] = row.gather(1, rowTargets.unsqueeze(1)).squeeze(1);
            }
        }
        var result = new Tensor[prompts.Count][];
        for (var i = 0; i < prompts.Count; i++)
        {
            result[i] = new Tensor[continuations[i].Count];
            for (var j = 0; j < continuations[i].Count; j++)
            {
                var head = first[position[i]][continuations[i][j][0]].unsqueeze(0);
                result[i][j] = rest.TryGetValue((i, j), out var tail) ? cat([head, tail], 0) : head;
            }
        }
        contLogProbs?.Dispose();
        return result;
    }

    /// <summary>Right-padded [B, T] token tensor on this model's device.</summary>
    internal Tensor Padded(IReadOnlyList<int[]> rows)
    {
        var width = rows.Max(r => r.Length);
        var flat = new long[rows.Count * width];
        for (var r = 0; r < rows.Count; r++)
            for (var t = 0; t < rows[r].Length; t++)
                flat[r * width + t] = rows[r][t];
        return tensor(flat, [rows.Count, width], dtype: ScalarType.Int64, device: Device);
    }

    /// <summary>"cpu", "cuda" or "cuda:N". CUDA needs a CUDA build of libtorch, which this project does not reference.</summary>
    public static Device ParseDevice(string device)
    {
        var d = device.Trim().ToLowerInvariant();
        if (d == "cpu") return CPU;
        if (d == "cuda" || (d.StartsWith("cuda:") && int.TryParse(d[5..], out _)))
        {
            if (!torch.cuda.is_available())
                throw new ArgumentException($"device: '{device}' requested but CUDA is not available (this build references libtorch-cpu-linux-x64; a CUDA build of libtorch and a GPU are needed)");
            return torch.device(d);
        }
        throw new ArgumentException($"device: '{device}' is not cpu, cuda or cuda:N");
    }

    public void Dispose() => Network.Dispose();
}
