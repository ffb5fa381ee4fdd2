namespace MegaFlow.Management.Metrics;

/// <summary>A thread-safe histogram with fixed upper bounds (seconds), as Prometheus expects.</summary>
public sealed class Histogram
{
    /// <summary>From 10 ms (a warm environment) to 10 min (an image pull plus a long queue).</summary>
    public static readonly IReadOnlyList<double> LatencyBounds = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

    private readonly double[] _bounds;
    private readonly long[] _counts;
    private readonly object _lock = new();
    private double _sum;
    private long _count;

    public Histogram(IReadOnlyList<double>? bounds = null)
    {
        _bounds = (bounds ?? LatencyBounds).ToArray();
        if (_bounds.Length == 0 || _bounds.Zip(_bounds.Skip(1)).Any(p => p.Item1 >= p.Item2))
            throw new ArgumentException("histogram bounds must be non-empty and strictly increasing", nameof(bounds));
        _counts = new long[_bounds.Length];
    }

    public void Observe(double value)
    {
        lock (_lock)
        {
            // Counts per bucket are kept non-cumulative; the writer accumulates them.
            var i = Array.FindIndex(_bounds, b => value <= b);
            if (i >= 0) _counts[i]++;
            _sum += value;
            _count++;
        }
    }

    public HistogramSnapshot Snapshot()
    {
        lock (_lock) return new HistogramSnapshot(_bounds, _counts.ToArray(), _sum, _count);
    }
}

/// <summary>Bucket counts (not cumulative; values above the last bound only count in <see cref="Count"/>).</summary>
public sealed record HistogramSnapshot(IReadOnlyList<double> Bounds, IReadOnlyList<long> Counts, double Sum, long Count);
