using System.Globalization;

namespace MegaFlow.Environments.Simulated;

/// <summary>
/// A distribution of operation latencies in milliseconds, written in configuration as
/// <c>0</c>, <c>fixed:50</c> (or just <c>50</c>), <c>uniform:10-100</c> or <c>lognormal:200,0.5</c>
/// (median ms, sigma of the underlying normal). <see cref="ToString"/> gives the same form back.
/// </summary>
public abstract record LatencyDistribution
{
    private LatencyDistribution()
    {
    }

    /// <summary>No latency: operations complete synchronously, without timers.</summary>
    public static LatencyDistribution Zero { get; } = new ZeroLatency();

    /// <summary>Always <paramref name="ms"/> milliseconds (0 gives <see cref="Zero"/>).</summary>
    public static LatencyDistribution Fixed(double ms)
    {
        RequireFinite(ms, nameof(ms));
        ArgumentOutOfRangeException.ThrowIfNegative(ms);
        return ms == 0 ? Zero : new FixedLatency(ms);
    }

    /// <summary>Uniform between <paramref name="minMs"/> and <paramref name="maxMs"/> inclusive.</summary>
    public static LatencyDistribution Uniform(double minMs, double maxMs)
    {
        RequireFinite(minMs, nameof(minMs));
        RequireFinite(maxMs, nameof(maxMs));
        ArgumentOutOfRangeException.ThrowIfNegative(minMs);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMs, minMs);
        return maxMs == 0 ? Zero : new UniformLatency(minMs, maxMs);
    }

    /// <summary>Log-normal with the given median and sigma: long-tailed, like real container starts.</summary>
    public static LatencyDistribution LogNormal(double medianMs, double sigma)
    {
        RequireFinite(medianMs, nameof(medianMs));
        RequireFinite(sigma, nameof(sigma));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(medianMs);
        ArgumentOutOfRangeException.ThrowIfNegative(sigma);
        return new LogNormalLatency(medianMs, sigma);
    }

    /// <summary>True if every sample is zero.</summary>
    public bool IsZero => this is ZeroLatency;

    /// <summary>Draws one latency in milliseconds (never negative). <paramref name="random"/> is not locked here.</summary>
    public abstract double SampleMs(Random random);

    /// <summary>Parses the configuration form; throws <see cref="FormatException"/> naming the bad text.</summary>
    public static LatencyDistribution Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var result, out var error) ? result : throw new FormatException(error);
    }

    /// <summary>Parses the configuration form; on failure <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParse(string text, out LatencyDistribution result, out string error)
    {
        result = Zero;
        error = "";
        var s = (text ?? "").Trim();
        var colon = s.IndexOf(':');
        var kind = colon < 0 ? "" : s[..colon].Trim().ToLowerInvariant();
        var args = colon < 0 ? s : s[(colon + 1)..];
        string? problem;

        switch (kind)
        {
            case "" when s is "zero" or "none":
                return true;
            case "" or "fixed":
                if (Number(args) is { } ms && ms >= 0)
                {
                    result = Fixed(ms);
                    return true;
                }
                problem = "expected a non-negative number of milliseconds";
                break;
            case "uniform":
                var dash = args.IndexOf('-');
                if (dash > 0 && Number(args[..dash]) is { } min && Number(args[(dash + 1)..]) is { } max && min >= 0 && max >= min)
                {
                    result = Uniform(min, max);
                    return true;
                }
                problem = "expected uniform:<min ms>-<max ms> with 0 <= min <= max";
                break;
            case "lognormal":
                var comma = args.IndexOf(',');
                if (comma > 0 && Number(args[..comma]) is { } median && Number(args[(comma + 1)..]) is { } sigma && median > 0 && sigma >= 0)
                {
                    result = LogNormal(median, sigma);
                    return true;
                }
                problem = "expected lognormal:<median ms>,<sigma> with median > 0 and sigma >= 0";
                break;
            default:
                problem = $"unknown distribution '{kind}'";
                break;
        }

        error = $"invalid latency \"{text}\": {problem} (forms: 0, fixed:50, uniform:10-100, lognormal:200,0.5)";
        return false;
    }

    private static double? Number(string s) =>
        double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : null;

    private static void RequireFinite(double value, string name)
    {
        if (!double.IsFinite(value)) throw new ArgumentOutOfRangeException(name, value, "must be a finite number");
    }

    private static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private sealed record ZeroLatency : LatencyDistribution
    {
        public override double SampleMs(Random random) => 0;
        public override string ToString() => "0";
    }

    private sealed record FixedLatency(double Ms) : LatencyDistribution
    {
        public override double SampleMs(Random random) => Ms;
        public override string ToString() => $"fixed:{F(Ms)}";
    }

    private sealed record UniformLatency(double MinMs, double MaxMs) : LatencyDistribution
    {
        public override double SampleMs(Random random) => MinMs + (MaxMs - MinMs) * random.NextDouble();
        public override string ToString() => $"uniform:{F(MinMs)}-{F(MaxMs)}";
    }

    private sealed record LogNormalLatency(double MedianMs, double Sigma) : LatencyDistribution
    {
        public override double SampleMs(Random random)
        {
            // Box–Muller; 1 - NextDouble() is in (0, 1], so the log is finite.
            var u1 = 1.0 - random.NextDouble();
            var u2 = random.NextDouble();
            var normal = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
            return MedianMs * Math.Exp(Sigma * normal);
        }

        public override string ToString() => $"lognormal:{F(MedianMs)},{F(Sigma)}";
    }
}
