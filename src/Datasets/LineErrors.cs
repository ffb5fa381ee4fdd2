using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Datasets;

/// <summary>
/// The errors of one record. Remembers which spec fields already have an error so the domain
/// validator, run afterwards, does not report the same field a second time in other words
/// (a missing <c>image</c> would otherwise also be "image: is required").
/// </summary>
internal sealed class LineErrors
{
    private readonly List<ValidationError> _errors = [];
    private readonly HashSet<string> _covered = new(StringComparer.Ordinal);

    public IReadOnlyList<ValidationError> All => _errors;
    public bool Any => _errors.Count > 0;

    /// <summary>Adds an error; <paramref name="field"/> null means the record as a whole.</summary>
    public void Add(string? field, string message)
    {
        _errors.Add(new ValidationError(field ?? "", message));
        if (field is not null)
            _covered.Add(RootOf(field));
    }

    /// <summary>Marks a spec field as already explained by an error under another name.</summary>
    public void Cover(string specField) => _covered.Add(specField);

    public bool Covers(string field) => _covered.Contains(RootOf(field));

    /// <summary>Adds the validator's errors for fields not already reported.</summary>
    public void AddValidation(TaskSpec spec)
    {
        foreach (var e in TaskSpecValidator.Validate(spec))
            if (!Covers(e.Field))
                _errors.Add(e);
    }

    // "actions[2]" and "metadata.group" belong to "actions" and "metadata".
    private static string RootOf(string field)
    {
        var end = field.IndexOfAny(['[', '.']);
        return end < 0 ? field : field[..end];
    }
}
