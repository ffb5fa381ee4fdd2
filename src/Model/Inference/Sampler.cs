namespace MegaFlow.Model.Inference;

/// <summary>
/// Turns one row of logits into log-probs and a sampled token. Plain C# over the vocabulary (259
/// entries): cheaper than a round of small tensor ops, and a per-request <see cref="Random"/> makes
/// seeded requests reproducible whatever else shares the batch.
/// </summary>
internal static class Sampler
{
    /// <summary>log_softmax in double precision.</summary>
    public static double[] LogSoftmax(ReadOnlySpan<float> logits)
    {
        var max = double.NegativeInfinity;
        foreach (var l in logits) max = Math.Max(max, l);
        var sum = 0.0;
        foreach (var l in logits) sum += Math.Exp(l - max);
        var lse = max + Math.Log(sum);
        var result = new double[logits.Length];
        for (var i = 0; i < logits.Length; i++) result[i] = logits[i] - lse;
        return result;
    }

    /// <summary>
    /// Draws an index from the distribution softmax(logProbs / temperature) restricted to its top-p
    /// nucleus; temperature 0 is argmax. Only the draw uses temperature and top-p: the log-probs
    /// reported for the token are the raw policy's (see InferenceEngine).
    /// </summary>
    public static int Sample(ReadOnlySpan<double> logProbs, double temperature, double topP, Random rng)
    {
        if (temperature == 0) return ArgMax(logProbs);
        var n = logProbs.Length;
        var max = double.NegativeInfinity;
        for (var i = 0; i < n; i++) max = Math.Max(max, logProbs[i] / temperature);
        var probs = new double[n];
        var total = 0.0;
        for (var i = 0; i < n; i++) total += probs[i] = Math.Exp(logProbs[i] / temperature - max);
        if (topP >= 1.0)
        {
            // No nucleus: draw over the whole vocabulary without sorting it (the common case, and per token).
            var v = rng.NextDouble() * total;
            for (var i = 0; i < n; i++)
            {
                v -= probs[i];
                if (v <= 0) return i;
            }
            return ArgMax(logProbs);
        }
        var order = Enumerable.Range(0, n).ToArray();
        Array.Sort(order, (a, b) => probs[b].CompareTo(probs[a]));
        // The nucleus: most likely first, until its mass reaches top_p (at least one token).
        var kept = 0;
        var mass = 0.0;
        while (kept < n && (kept == 0 || mass < topP * total))
            mass += probs[order[kept++]];
        var u = rng.NextDouble() * mass;
        for (var k = 0; k < kept; k++)
        {
            u -= probs[order[k]];
            if (u <= 0) return order[k];
        }
        return order[kept - 1];
    }

    public static int ArgMax(ReadOnlySpan<double> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }

    /// <summary>The k most likely entries, most likely first.</summary>
    public static IReadOnlyList<TokenLogProb> Top(ReadOnlySpan<double> logProbs, int k)
    {
        if (k <= 0) return [];
        var all = new TokenLogProb[logProbs.Length];
        for (var i = 0; i < all.Length; i++) all[i] = new TokenLogProb(i, logProbs[i]);
        return all.OrderByDescending(t => t.LogProb).ThenBy(t => t.TokenId).Take(k).ToArray();
    }

    public static double LogSumExp(IEnumerable<double> values)
    {
        var list = values as IReadOnlyList<double> ?? values.ToList();
        var max = list.Max();
        if (double.IsNegativeInfinity(max)) return max;
        return max + Math.Log(list.Sum(v => Math.Exp(v - max)));
    }
}
