namespace MegaFlow.Protocol;

/// <summary>Sharded entity type names: a region and its proxies must agree on them cluster-wide.</summary>
public static class EntityTypes
{
    public const string Task = "task";
    public const string Environment = "environment";
}

/// <summary>Distributed pub-sub topics and registered paths that nodes and clients share.</summary>
public static class Topics
{
    /// <summary>Every task status change, published by the node running the task's actor.</summary>
    public const string TaskEvents = "megaflow.task-events";

    /// <summary>The scheduler's queue depth changes.</summary>
    public const string SchedulerStatus = "megaflow.scheduler";

    /// <summary>Name of the per-worker actor that answers task listings.</summary>
    public const string TaskQueriesName = "task-queries";

    /// <summary>Its path, registered with the mediator; reach any live instance with <c>Send(TaskQueries, …)</c>.</summary>
    public const string TaskQueries = "/user/" + TaskQueriesName;
}
