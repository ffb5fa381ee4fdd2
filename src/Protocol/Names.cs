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

    /// <summary>Name of the per-node task read model (<c>TaskReadModel</c>), which answers listings and watches.</summary>
    public const string TaskReadModelName = "task-read-model";

    /// <summary>Its path, registered with the mediator; reach a live instance with <c>Send(TaskReadModel, …)</c>.</summary>
    public const string TaskReadModel = "/user/" + TaskReadModelName;
}
