using TorchSharp;
using static TorchSharp.torch;

namespace MegaFlow.Training;

/// <summary>What one evaluation of the loss saw, besides the loss tensor itself.</summary>
public sealed record GspoLossResult(Tensor Loss, double[] Ratios, int ClippedSequences) : IDisposable
{
    public void Dispose() => Loss.Dispose();
}

/// <summary>
/// Group Sequence Policy Optimization (Zheng et al., 2025), the loss for one minibatch of sequences:
/// <code>
/// s_i   = exp( (1/|y_i|) Σ_t (log π_θ(y_i,t | x, y_i,&lt;t) − log π_old(y_i,t | …)) )    sequence-level ratio
/// A_i   = (r_i − mean(r_group)) / (std(r_group) + 1e-6)                               sample std (n − 1)
/// loss  = −(1/N) Σ_i min( s_i A_i, clip(s_i, 1 − ε_low, 1 + ε_high) A_i )              no KL term
/// </code>
/// The ratio is a geometric mean over the response's tokens, so its size does not grow with length
/// and the clip range is tiny (3e-4 / 4e-4 in the paper) compared with token-level PPO's.
/// </summary>
public static class GspoLoss
{
    /// <summary>Keeps a group whose rewards barely differ from dividing by ~0.</summary>
    public const double AdvantageEpsilon = 1e-6;

    /// <summary>
    /// Group-normalised advantages: (r − mean) / (sample std + 1e-6). A group of one, or whose rewards
    /// are all equal, gets zeros: it has nothing to compare, so it must not push the policy.
    /// </summary>
    public static double[] GroupAdvantages(IReadOnlyList<double> rewards)
    {
        var n = rewards.Count;
        if (n < 2) return new double[n];
        var mean = rewards.Average();
        var variance = rewards.Sum(r => (r - mean) * (r - mean)) / (n - 1);
        var std = Math.Sqrt(variance);
        if (std == 0) return new double[n];
        return rewards.Select(r => (r - mean) / (std + AdvantageEpsilon)).ToArray();
    }

    /// <summary>
    /// The loss over sequences: <paramref name="newLogProbs"/>[i] are log π_θ of sequence i's response
    /// tokens (with gradients; any float dtype, computed here in float64 because the clip range is
    /// far below float32's resolution of a log-ratio sum), <paramref name="oldLogProbs"/>[i] the
    /// sampler's. <see cref="GspoLossResult.ClippedSequences"/> counts sequences whose clipped term
    /// won the min, i.e. those that give no gradient.
    /// </summary>
    public static GspoLossResult Compute(IReadOnlyList<Tensor> newLogProbs, IReadOnlyList<double[]> oldLogProbs, IReadOnlyList<double> advantages,
        double epsilonLow, double epsilonHigh)
    {
        var n = newLogProbs.Count;
        if (n == 0) throw new ArgumentException("no sequences", nameof(newLogProbs));
        if (oldLogProbs.Count != n || advantages.Count != n)
            throw new ArgumentException($"{n} sequences but {oldLogProbs.Count} old log-prob rows and {advantages.Count} advantages");
        if (!(epsilonLow >= 0 && epsilonLow < 1) || !(epsilonHigh >= 0))
            throw new ArgumentException($"clip range: ε_low {epsilonLow} must be in [0, 1) and ε_high {epsilonHigh} non-negative");

        var ratios = new double[n];
        var clipped = 0;
        var terms = new List<Tensor>(n);
        using var scope = NewDisposeScope();
        for (var i = 0; i < n; i++)
        {
            var current = newLogProbs[i].to_type(ScalarType.Float64);
            if (current.dim() != 1 || current.shape[0] != oldLogProbs[i].Length || oldLogProbs[i].Length == 0)
                throw new ArgumentException($"sequence {i}: {current.shape.FirstOrDefault()} new log-probs but {oldLogProbs[i].Length} old ones (need the same, at least 1)");
            var old = tensor(oldLogProbs[i], dtype: ScalarType.Float64, device: current.device);
            var ratio = (current - old).mean().exp();
            var clippedRatio = ratio.clamp(1 - epsilonLow, 1 + epsilonHigh);
            var a = advantages[i];
            var unclippedTerm = ratio * a;
            var clippedTerm = clippedRatio * a;
            terms.Add(minimum(unclippedTerm, clippedTerm));
            var s = ratio.item<double>();
            ratios[i] = s;
            // The clipped term wins (and the gradient is cut) only when the ratio left the range in the
            // direction the advantage favours.
            if ((a > 0 && s > 1 + epsilonHigh) || (a < 0 && s < 1 - epsilonLow)) clipped++;
        }
        var loss = -stack(terms).mean();
        return new GspoLossResult(loss.MoveToOuterDisposeScope(), ratios, clipped);
    }
}
