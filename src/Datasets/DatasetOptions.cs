namespace MegaFlow.Datasets;

/// <summary>How a JSONL task file is read.</summary>
public sealed record DatasetOptions
{
    /// <summary>The defaults: a file with any error yields no tasks.</summary>
    public static DatasetOptions Default { get; } = new();

    /// <summary>
    /// When false (the default) a file with any error yields no specs at all, so a half-broken
    /// dataset is never half submitted. When true, valid lines are kept and errors still reported.
    /// </summary>
    public bool SkipInvalidLines { get; init; }

    /// <summary>
    /// Dataset name for lines that name none (neither <c>dataset</c> nor <c>metadata.dataset</c>);
    /// null leaves such lines without one.
    /// </summary>
    public string? DefaultDataset { get; init; }

    /// <summary>
    /// At most this many errors are kept in <see cref="DatasetReadResult.Errors"/>; all are counted
    /// in <see cref="DatasetReadResult.ErrorCount"/>. Bounds memory when a large file is garbage.
    /// </summary>
    public int MaxErrors { get; init; } = 10_000;

    /// <summary>Longer lines are rejected without being parsed (a spec is at most 64 KiB of strings anyway).</summary>
    public int MaxLineLength { get; init; } = 1024 * 1024;
}
