using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Contracts.Results;

/// <summary>
/// Model calls summed up: how many, the tokens they cost, how long they took and which weight
/// versions answered. One shape for a step (the calls of its round), a task, a replica group and a
/// dataset, so every place that shows model usage shows the same numbers.
/// </summary>
/// <param name="Calls">Model calls made.</param>
/// <param name="FailedCalls">Calls whose answer was not a 2xx, or that recorded an error.</param>
/// <param name="PromptTokens">Prompt tokens over all calls.</param>
/// <param name="CompletionTokens">Completion tokens over all calls.</param>
/// <param name="MeanLatencyMs">Mean latency of a call.</param>
/// <param name="P50LatencyMs">Median latency (nearest rank).</param>
/// <param name="P99LatencyMs">99th-percentile latency (nearest rank).</param>
/// <param name="WeightVersions">The distinct weight versions that answered, ascending (calls whose endpoint did not say are not counted here).</param>
public sealed record ModelUsage(
    int Calls,
    int FailedCalls,
    long PromptTokens,
    long CompletionTokens,
    double MeanLatencyMs,
    double P50LatencyMs,
    double P99LatencyMs,
    IReadOnlyList<long> WeightVersions)
{
    public static ModelUsage Of(IEnumerable<ModelCall> calls)
    {
        var all = calls.ToList();
        if (all.Count == 0) return new ModelUsage(0, 0, 0, 0, 0, 0, 0, []);
        var latencies = all.Select(c => c.LatencyMs).Order().ToList();
        return new ModelUsage(
            all.Count,
            all.Count(Failed),
            all.Sum(c => (long)c.PromptTokens),
            all.Sum(c => (long)c.CompletionTokens),
            latencies.Average(),
            Percentile(latencies, 0.50),
            Percentile(latencies, 0.99),
            all.Where(c => c.WeightVersion is not null).Select(c => c.WeightVersion!.Value).Distinct().Order().ToList());
    }

    /// <summary>The usage of each round that made calls, by round (a round's calls belong to the step of that round, if it has one).</summary>
    public static IReadOnlyDictionary<int, ModelUsage> ByRound(IEnumerable<ModelCall> calls) =>
        calls.GroupBy(c => c.Round).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => Of(g));

    /// <summary>A call failed when the caller did not get a 2xx or the gateway noted an error.</summary>
    public static bool Failed(ModelCall c) => c.Status is < 200 or > 299 || c.Error is not null;

    /// <summary>One line for people: "4 calls (1 failed), tokens 400 in / 75 out, latency ms 1295 mean / 60 p50 / 5000 p99".</summary>
    public string Describe() =>
        $"{Calls} calls ({FailedCalls} failed), tokens {PromptTokens} in / {CompletionTokens} out, " +
        $"latency ms {MeanLatencyMs:0} mean / {P50LatencyMs:0} p50 / {P99LatencyMs:0} p99";

    /// <summary>The weight versions as one short text ("3", "3, 4"), empty when none were reported.</summary>
    public string VersionsText() => string.Join(", ", WeightVersions);

    // Nearest rank: the smallest value with at least p of the values at or below it, so p99 of a
    // handful of calls is their slowest rather than an interpolation nobody observed.
    private static double Percentile(IReadOnlyList<double> sorted, double p) =>
        sorted[Math.Max(0, (int)Math.Ceiling(p * sorted.Count) - 1)];
}
