using MegaFlow.Contracts.Tasks;
using MegaFlow.Contracts;

namespace MegaFlow.Contracts.Results;

/// <summary>Outcome of one group of replicas (the same task run N times) or of a whole dataset.</summary>
/// <param name="Key">The group id (or dataset name).</param>
/// <param name="Tasks">Replicas in the group.</param>
/// <param name="Finished">Replicas in a terminal state.</param>
/// <param name="Passed">Replicas whose score passed.</param>
/// <param name="InfraFailed">Replicas that ended on infrastructure failures: excluded from rewards, so they do not bias training.</param>
/// <param name="MeanReward">Mean reward over the replicas that produced a result (infra failures excluded).</param>
/// <param name="PassAt1">Unbiased pass@1 estimate.</param>
/// <param name="PassAtK">Unbiased pass@k estimate for k = <see cref="K"/>.</param>
/// <param name="Model">The model calls of all its replicas (of each one's last attempt: a retried attempt's calls are not in its state), pooled: a dataset's latency percentiles are over all its calls.</param>
public sealed record GroupStat(string Key, int Tasks, int Finished, int Passed, int InfraFailed, double MeanReward, double PassAt1, int K, double PassAtK, ModelUsage Model);

/// <summary>
/// Aggregates finished tasks per replica group and per dataset. Groups come from task metadata
/// ("group", "dataset"); a task without a group is a group of one.
/// </summary>
public static class GroupStats
{
    public const string GroupKey = "group";
    public const string DatasetKey = "dataset";

    public static IReadOnlyList<GroupStat> ByGroup(IEnumerable<TaskState> tasks, int k) =>
        Aggregate(tasks, s => s.Spec?.Metadata?.GetValueOrDefault(GroupKey) ?? s.TaskId, k);

    /// <summary>
    /// Per dataset: counts and mean reward over all its tasks; pass@1 and pass@k are the mean of its
    /// groups' estimates (pass@k is a per-problem quantity, so tasks of different problems are not pooled).
    /// </summary>
    public static IReadOnlyList<GroupStat> ByDataset(IEnumerable<TaskState> tasks, int k) =>
        tasks.GroupBy(s => s.Spec?.Metadata?.GetValueOrDefault(DatasetKey) ?? "(none)").OrderBy(g => g.Key, StringComparer.Ordinal).Select(d =>
        {
            var pooled = Aggregate(d, _ => d.Key, k)[0];
            var groups = ByGroup(d, k);
            return pooled with { PassAt1 = groups.Average(g => g.PassAt1), PassAtK = groups.Average(g => g.PassAtK) };
        }).ToList();

    private static List<GroupStat> Aggregate(IEnumerable<TaskState> tasks, Func<TaskState, string> key, int k) =>
        tasks.GroupBy(key).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
        {
            var all = g.ToList();
            var infra = all.Count(s => s is { Status: TaskStatus.Failed, FailureKind: FailureKind.Infrastructure });
            var scored = all.Where(s => s.Status.IsTerminal() && s is not { Status: TaskStatus.Failed, FailureKind: FailureKind.Infrastructure } && s.Status != TaskStatus.Cancelled).ToList();
            var passed = scored.Count(s => s.Score?.Passed == true);
            var mean = scored.Count == 0 ? 0 : scored.Average(s => s.Score?.Reward ?? 0);
            return new GroupStat(g.Key, all.Count, all.Count(s => s.Status.IsTerminal()), passed, infra, mean,
                PassAtK(scored.Count, passed, 1), k, PassAtK(scored.Count, passed, k), ModelUsage.Of(all.SelectMany(s => s.ModelCalls)));
        }).ToList();

    /// <summary>
    /// The unbiased pass@k estimator: 1 − C(n−c, k) / C(n, k) for n samples of which c passed
    /// (Chen et al., 2021), computed as a product to stay exact for large n. With fewer than k samples
    /// it is the plain pass rate over what exists.
    /// </summary>
    public static double PassAtK(int n, int c, int k)
    {
        if (n <= 0) return 0;
        if (k > n) return c > 0 ? 1 : 0;
        if (n - c < k) return 1;
        var fail = 1.0;
        for (var i = n - c + 1; i <= n; i++) fail *= 1.0 - (double)k / i;
        return 1 - fail;
    }
}
