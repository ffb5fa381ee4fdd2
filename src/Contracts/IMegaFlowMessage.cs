namespace MegaFlow.Contracts;

/// <summary>
/// Marker for every type that crosses a process boundary or lands in the journal: remote messages,
/// persisted events and snapshots. The serializer binding keys on it, so forgetting the marker
/// fails loudly (no silent fallback to a default serializer) instead of shipping an unstable format.
/// </summary>
public interface IMegaFlowMessage;

/// <summary>Messages routed to a task's sharded entity.</summary>
public interface ITaskMessage : IMegaFlowMessage
{
    string TaskId { get; }
}

/// <summary>Messages routed to an environment's sharded entity.</summary>
public interface IEnvironmentMessage : IMegaFlowMessage
{
    string EnvironmentId { get; }
}

/// <summary>Messages for the scheduler singleton.</summary>
public interface ISchedulerMessage : IMegaFlowMessage;
