namespace MegaFlow.Client;

/// <summary>How a host program reaches the cluster.</summary>
public sealed record ClientOptions
{
    /// <summary>Seed node addresses, e.g. "akka.tcp://megaflow@10.0.0.5:4053". Several: the client survives losing any one.</summary>
    public required IReadOnlyList<string> Seeds { get; init; }

    /// <summary>Address this client binds (other nodes must reach it back).</summary>
    public string Hostname { get; init; } = "127.0.0.1";

    /// <summary>0 picks a free port.</summary>
    public int Port { get; init; }

    public string SystemName { get; init; } = "megaflow";

    /// <summary>
    /// Submission waits while the cluster's queue holds this many tasks or more (or fails at once with
    /// <see cref="ClusterBusyException"/> when the caller asks not to wait).
    /// </summary>
    public int QueueBound { get; init; } = 10_000;

    /// <summary>Per request timeout for a single submit, cancel or query.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long starting an experiment waits: the trainer answers once it has loaded the weights.</summary>
    public TimeSpan TrainerStartTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How long <see cref="MegaFlowClient.ConnectAsync"/> waits for the cluster.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Extra HOCON for the client's ActorSystem (logging, timeouts).</summary>
    public string? ExtraHocon { get; init; }
}

/// <summary>The cluster's queue is at its bound and the caller asked not to wait.</summary>
public sealed class ClusterBusyException(int queueDepth, int bound)
    : Exception($"cluster busy: {queueDepth} tasks queued (bound {bound}); retry later or submit with wait")
{
    public int QueueDepth { get; } = queueDepth;
    public int Bound { get; } = bound;
}

/// <summary>A submission the cluster refused, with every problem named.</summary>
public sealed class TaskRejectedException(string taskId, IReadOnlyList<MegaFlow.Contracts.Tasks.ValidationError> errors)
    : Exception($"task '{taskId}' rejected: {string.Join("; ", errors)}")
{
    public string TaskId { get; } = taskId;
    public IReadOnlyList<MegaFlow.Contracts.Tasks.ValidationError> Errors { get; } = errors;
}

/// <summary>An experiment spec refused (by the client's check or by the trainer), with every problem named by its field.</summary>
public sealed class ExperimentRejectedException(string experimentId, IReadOnlyList<MegaFlow.Contracts.Tasks.ValidationError> errors)
    : Exception($"experiment '{experimentId}' rejected: {string.Join("; ", errors)}")
{
    public string ExperimentId { get; } = experimentId;
    public IReadOnlyList<MegaFlow.Contracts.Tasks.ValidationError> Errors { get; } = errors;
}
