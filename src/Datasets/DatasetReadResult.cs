using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Datasets;

/// <summary>The outcome of reading a dataset file.</summary>
/// <param name="Specs">
/// The tasks to submit, replicas expanded, in file order. Empty whenever the file had an error and
/// invalid lines were not to be skipped.
/// </param>
/// <param name="Errors">Every error (up to the configured maximum), in line order.</param>
/// <param name="ErrorCount">How many errors there were, including any not kept in <paramref name="Errors"/>.</param>
/// <param name="Records">Lines that held a record (not blank, not a comment).</param>
/// <param name="InvalidRecords">Records that had at least one error.</param>
public sealed record DatasetReadResult(
    IReadOnlyList<TaskSpec> Specs,
    IReadOnlyList<DatasetError> Errors,
    int ErrorCount,
    int Records,
    int InvalidRecords)
{
    /// <summary>True when any line had an error.</summary>
    public bool HasErrors => ErrorCount > 0;
}
