using MegaFlow.Model.Policy;
using TorchSharp;
using static TorchSharp.torch;

namespace MegaFlow.Training;

/// <summary>
/// log π_θ of each sample's response tokens, defined exactly as the sampler defined the old
/// log-probs it reported (otherwise the ratio would compare two different distributions):
/// <list type="bullet">
/// <item>free sampling: the raw policy's log softmax at temperature 1 (what the engine reports whatever
/// temperature it drew with);</item>
/// <item>guided_choice: the constrained distribution q_j = softmax_j(log p(c_j | prompt)) over the allowed
/// answers, factorised along their prefix tree as the engine does: token t after prefix u gets
/// log Σ{q_j : c_j starts with u·t} − log Σ{q_j : c_j starts with u}.</item>
/// </list>
/// Every sequence needed (one per free sample, one per choice of a guided sample) goes through a single
/// packed forward pass of <see cref="PolicyModel.TokenLogProbs"/>.
/// </summary>
internal static class ResponseLogProbs
{
    public static Tensor[] Compute(PolicyModel policy, IReadOnlyList<TrajectorySample> samples)
    {
        var sequences = new List<int[]>();
        var firstSequence = new int[samples.Count];
        for (var i = 0; i < samples.Count; i++)
        {
            var s = samples[i];
            firstSequence[i] = sequences.Count;
            if (s.GuidedChoices is { } choices)
                foreach (var c in choices) sequences.Add([.. s.PromptTokenIds, .. c]);
            else sequences.Add([.. s.PromptTokenIds, .. s.ResponseTokenIds]);
        }
        var all = policy.TokenLogProbs(sequences);
        var result = new Tensor[samples.Count];
        for (var i = 0; i < samples.Count; i++)
        {
            var s = samples[i];
            // TokenLogProbs' entry k is log p(seq[k+1] | seq[..k]): the continuation starts at prompt length − 1.
            Tensor Tail(int sequence, int length) => all[sequence].narrow(0, s.PromptTokenIds.Length - 1, length);
            if (s.GuidedChoices is not { } choices)
            {
                result[i] = Tail(firstSequence[i], s.ResponseTokenIds.Length);
                continue;
            }
            var scores = stack(choices.Select((c, j) => Tail(firstSequence[i] + j, c.Length).sum()).ToArray());
            var q = scores - scores.logsumexp(0);
            result[i] = Factorised(q, choices, s.ChoiceIndex);
        }
        return result;
    }

    private static Tensor Factorised(Tensor q, IReadOnlyList<int[]> choices, int chosen)
    {
        var c = choices[chosen];
        var perToken = new Tensor[c.Length];
        for (var m = 0; m < c.Length; m++)
        {
            var alive = Enumerable.Range(0, choices.Count)
                .Where(j => choices[j].Length > m && choices[j].AsSpan(0, m).SequenceEqual(c.AsSpan(0, m))).ToArray();
            var branch = alive.Where(j => choices[j][m] == c[m]).ToArray();
            perToken[m] = LogSumExp(q, branch) - LogSumExp(q, alive);
        }
        return stack(perToken);
    }

    private static Tensor LogSumExp(Tensor q, int[] indices)
    {
        using var index = tensor(indices.Select(i => (long)i).ToArray(), dtype: ScalarType.Int64, device: q.device);
        return q.index_select(0, index).logsumexp(0);
    }
}
