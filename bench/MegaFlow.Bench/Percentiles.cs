namespace MegaFlow.Bench;

/// <summary>Nearest-rank percentiles of a latency sample, in milliseconds.</summary>
public sealed record Percentiles(int Count, double P50, double P99, double Max)
{
    public static Percentiles Of(IEnumerable<TimeSpan> sample)
    {
        var ms = Sorted(sample);
        if (ms.Length == 0) return new Percentiles(0, double.NaN, double.NaN, double.NaN);
        return new Percentiles(ms.Length, Rank(ms, 0.50), Rank(ms, 0.99), ms[^1]);
    }

    /// <summary>The sample in milliseconds, ascending: what <see cref="Rank"/> reads.</summary>
    public static double[] Sorted(IEnumerable<TimeSpan> sample) => sample.Select(t => t.TotalMilliseconds).Order().ToArray();

    /// <summary>The nearest-rank <paramref name="p"/> quantile (0–1) of an ascending, non-empty sample.</summary>
    public static double Rank(IReadOnlyList<double> ascending, double p) =>
        ascending[Math.Clamp((int)Math.Ceiling(p * ascending.Count) - 1, 0, ascending.Count - 1)];
}
