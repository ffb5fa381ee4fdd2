using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Datasets;

/// <summary>The outcome of binding one task record (<see cref="TaskRecordBinder.Bind"/>).</summary>
/// <param name="Specs">The record's tasks, replicas expanded; empty whenever there are errors.</param>
/// <param name="Errors">What is wrong with the record's shape, each naming its field (empty field: the record as a whole).</param>
public sealed record TaskRecordBinding(IReadOnlyList<TaskSpec> Specs, IReadOnlyList<ValidationError> Errors)
{
    /// <summary>True when the record could not be bound.</summary>
    public bool HasErrors => Errors.Count > 0;
}
