namespace MegaFlow.Contracts.Tasks;

/// <summary>Metadata keys with a meaning to MegaFlow itself.</summary>
public static class TaskMetadataKeys
{
    /// <summary>The replica group a task belongs to (its spec's original id); results and training aggregate per group.</summary>
    public const string Group = "group";

    /// <summary>The 0-based index of the task in its replica group.</summary>
    public const string Replica = "replica";
}
