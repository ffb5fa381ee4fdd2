using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MegaFlow.Model.Policy;

/// <summary>
/// The network: embedding → GRU (batch first) → linear head giving next-token logits.
/// A GRU rather than a transformer because a request's whole state is one fixed-size hidden vector:
/// decoding a batch is stacking those vectors and running one step, with no KV cache to grow, pad or
/// mask, so batched and unbatched runs compute the same numbers by construction (the log-prob
/// equality the trainer relies on). Prompts of different lengths go through as packed sequences.
/// </summary>
internal sealed class PolicyNetwork : nn.Module<Tensor, Tensor>
{
    private readonly Embedding _embedding;
    private readonly GRU _gru;
    private readonly Linear _head;

    public PolicyNetwork(PolicyConfig config) : base("megaflow_policy")
    {
        _embedding = nn.Embedding(config.VocabSize, config.EmbeddingSize);
        _gru = nn.GRU(config.EmbeddingSize, config.HiddenSize, numLayers: config.Layers, batchFirst: true);
        _head = nn.Linear(config.HiddenSize, config.VocabSize);
        RegisterComponents();
    }

    /// <summary>Logits at every position of equal-length sequences: [B, T] → [B, T, V].</summary>
    public override Tensor forward(Tensor tokens)
    {
        var (output, hidden) = _gru.call(_embedding.call(tokens));
        hidden.Dispose();
        return _head.call(output);
    }

    /// <summary>
    /// Runs sequences of different lengths (rows of <paramref name="padded"/> [B, T], right-padded,
    /// sorted by length, longest first) from <paramref name="h0"/> ([L, B, H] or null for zeros).
    /// Returns the logits at every valid position ([B, T, V]; padded positions hold garbage; null when
    /// <paramref name="allLogits"/> is false, as in a prefill that needs only the last state) and the
    /// hidden state after each row's last token ([L, B, H]).
    /// </summary>
    public (Tensor? Logits, Tensor Hidden) ForwardPacked(Tensor padded, long[] lengths, Tensor? h0, bool allLogits = true)
    {
        using var lengthTensor = tensor(lengths, dtype: ScalarType.Int64);
        using var packed = nn.utils.rnn.pack_padded_sequence(_embedding.call(padded), lengthTensor, batch_first: true, enforce_sorted: true);
        var (packedOut, hidden) = _gru.call(packed, h0);
        using (packedOut)
        {
            if (!allLogits) return (null, hidden);
            var (output, _) = nn.utils.rnn.pad_packed_sequence(packedOut, batch_first: true);
            return (_head.call(output), hidden);
        }
    }

    /// <summary>One decode step for a batch: tokens [B] and hidden [L, B, H] → logits [B, V] and the new hidden.</summary>
    public (Tensor Logits, Tensor Hidden) Step(Tensor tokens, Tensor hidden)
    {
        var (output, next) = _gru.call(_embedding.call(tokens.unsqueeze(1)), hidden);
        return (_head.call(output.squeeze(1)), next);
    }

    /// <summary>Next-token logits from hidden states alone (the top layer's state is the GRU's output): [L, B, H] → [B, V].</summary>
    public Tensor LogitsFromHidden(Tensor hidden) => _head.call(hidden[-1]);
}
