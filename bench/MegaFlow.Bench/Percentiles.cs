namespace MegaFlow.Bench;

/// <summary>Nearest-rank percentiles of a latency sample, in milliseconds.</summary>
public sealed record Percentiles(int Count, double P50, double P99, double Max)
{
    public static Percentiles Of(IEnumerable<TimeSpan> sample)
    {
        var ms = sample.Select(t => t.TotalMilliseconds).Order().ToArray();
        if (ms.Length == 0) return new Percentiles(0, double.NaN, double.NaN, double.NaN);
        double At(double p) => ms[Math.Clamp((int)Math.Ceiling(p * ms.Length) - 1, 0, ms.Length - 1)];
        return new Percentiles(ms.Length, At(0.50), At(0.99), ms[^1]);
    }
}
