namespace MegaFlow.Model.Inference;

/// <summary>Bounds of the batching engine: together they cap its memory whatever the load.</summary>
public sealed record EngineOptions
{
    /// <summary>Most sequences decoded in one forward pass (a request with n samples takes n rows).</summary>
    public int MaxBatchRows { get; init; } = 64;

    /// <summary>Most requests waiting to be admitted; one more is refused with <see cref="QueueFullException"/>.</summary>
    public int QueueCapacity { get; init; } = 256;

    /// <summary>What a refused caller is told to wait (HTTP Retry-After).</summary>
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Most alternatives per token a request may ask for (OpenAI's limit is 20).</summary>
    public int MaxTopLogprobs { get; init; } = 20;

    public EngineOptions Validated()
    {
        if (MaxBatchRows < 1) throw new ArgumentException($"max batch rows: {MaxBatchRows} is below 1");
        if (QueueCapacity < 0) throw new ArgumentException($"queue capacity: {QueueCapacity} is negative");
        return this;
    }
}

/// <summary>What the engine has done so far (read with <see cref="InferenceEngine.Counters"/>).</summary>
public sealed record EngineCounters(long ForwardPasses, long RequestsCompleted, long RequestsRejected, long TokensGenerated, int LargestBatch, int Queued, int ActiveRows);
