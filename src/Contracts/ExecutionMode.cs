namespace MegaFlow.Contracts;

/// <summary>How a task gets its environment.</summary>
public enum ExecutionMode
{
    /// <summary>A fresh environment for the task, destroyed afterwards (safest).</summary>
    Ephemeral,

    /// <summary>A warm environment from the task's pool, reset and reused afterwards (fastest start).</summary>
    Persistent,
}
