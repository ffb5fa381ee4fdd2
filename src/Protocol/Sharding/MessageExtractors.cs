using Akka.Cluster.Sharding;
using MegaFlow.Contracts;
using MegaFlow.Contracts.Scheduling;

namespace MegaFlow.Protocol.Sharding;

/// <summary>Tasks: hashed over a fixed number of shards so they spread over the worker nodes.</summary>
public sealed class TaskMessageExtractor(int shards) : HashCodeMessageExtractor(shards)
{
    public override string? EntityId(object message) => message switch
    {
        ITaskMessage m => m.TaskId,
        _ => null,
    };
}

/// <summary>Environments: the shard is the node named in the environment id (see <see cref="NodePinnedAllocationStrategy"/>).</summary>
public sealed class EnvironmentMessageExtractor : IMessageExtractor
{
    public string? EntityId(object message) => message switch
    {
        IEnvironmentMessage m => m.EnvironmentId,
        _ => null,
    };

    public object? EntityMessage(object message) => message;

    public string? ShardId(object message) => EntityId(message) is { } id ? ShardOf(id) : null;

    public string ShardId(string entityId, object? messageHint = null) => ShardOf(entityId);

    private static string ShardOf(string environmentId)
    {
        var node = EnvironmentIds.NodeOf(environmentId);
        return node.Length == 0 ? "unplaced" : node;
    }
}
