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
/// Free samples go through one packed forward pass of <see cref="PolicyModel.TokenLogProbs"/>; guided
/// samples through <see cref="PolicyModel.ContinuationLogProbs"/>, which runs each prompt once for all
/// of its answers (a prompt of hundreds of tokens with four one-letter answers costs one pass, not four).
/// </summary>
internal static class ResponseLogProbs
{
    public static Tensor[] Compute(PolicyModel policy, IReadOnlyList<TrajectorySample> samples)
    {
        var free = Enumerable.Range(0, samples.Count).Where(i => samples[i].GuidedChoices is null).ToArray();
        var guided = Enumerable.Range(0, samples.Count).Where(i => samples[i].GuidedChoices is not null).ToArray();
        var result = new Tensor[samples.Count];
        // Free samples: prompt + response as one sequence; entry k is log p(seq[k+1] | seq[..k]), so the response starts at prompt length − 1.
        var freeLogProbs = policy.TokenLogProbs(free.Select(i => (int[])[.. samples[i].PromptTokenIds, .. samples[i].ResponseTokenIds]).ToList());
        for (var k = 0; k < free.Length; k++)
        {
            var s = samples[free[k]];
            result[free[k]] = freeLogProbs[k].narrow(0, s.PromptTokenIds.Length - 1, s.ResponseTokenIds.Length);
        }
        // Guided samples: each allowed answer's tokens after the prompt, the prompt run once for all of them.
        var choiceLogProbs = policy.ContinuationLogProbs(guided.Select(i => samples[i].PromptTokenIds).ToList(),
            guided.Select(i => (IReadOnlyList<int[]>)samples[i].GuidedChoices!).ToList());
        for (var k = 0; k < guided.Length; k++)
        {
            var s = samples[guided[k]];
            var scores = stack(choiceLogProbs[k].Select(t => t.sum()).ToArray());
            var q = scores - scores.logsumexp(0);
            result[guided[k]] = Factorised(q, s.GuidedChoices!, s.ChoiceIndex);
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
