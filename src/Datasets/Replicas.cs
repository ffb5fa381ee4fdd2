using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Datasets;

/// <summary>
/// Replica groups: a spec asked for N times becomes N tasks <c>&lt;taskId&gt;#r0</c> …
/// <c>&lt;taskId&gt;#r{N-1}</c> that share <c>metadata["group"] = taskId</c> and carry their index in
/// <c>metadata["replica"]</c>. Results aggregate per group (mean reward, pass@k).
/// </summary>
public static class Replicas
{
    /// <summary>Metadata key holding the group id (the spec's original task id).</summary>
    public const string GroupKey = TaskMetadataKeys.Group;

    /// <summary>Metadata key holding the 0-based replica index.</summary>
    public const string ReplicaKey = TaskMetadataKeys.Replica;

    /// <summary>Separator between the group id and the replica index in expanded task ids.</summary>
    public const string IdSeparator = "#r";

    /// <summary>Upper bound on replicas of one spec; guards against a typo creating millions of tasks.</summary>
    public const int MaxReplicas = 10_000;

    /// <summary>
    /// Expands <paramref name="spec"/> into <paramref name="count"/> replicas. A count of 1 returns
    /// the spec unchanged: a single task is its own group and keeps its id.
    /// </summary>
    public static List<TaskSpec> Expand(TaskSpec spec, int count)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (count == 1)
            return [spec];

        var list = new List<TaskSpec>(count);
        for (var k = 0; k < count; k++)
        {
            var metadata = spec.Metadata is null
                ? new Dictionary<string, string>(2, StringComparer.Ordinal)
                : new Dictionary<string, string>(spec.Metadata, StringComparer.Ordinal);
            metadata[GroupKey] = spec.TaskId ?? "";
            metadata[ReplicaKey] = k.ToString(System.Globalization.CultureInfo.InvariantCulture);
            list.Add(spec with { TaskId = $"{spec.TaskId}{IdSeparator}{k}", Metadata = metadata });
        }
        return list;
    }
}
