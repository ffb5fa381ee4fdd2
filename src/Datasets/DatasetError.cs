namespace MegaFlow.Datasets;

/// <summary>
/// One problem in a dataset file. <paramref name="Line"/> is 1-based and counts every physical line,
/// blank and comment lines included, so it matches what an editor shows.
/// </summary>
/// <param name="Line">1-based line number in the file.</param>
/// <param name="Field">The field the problem is about (e.g. <c>mode</c>, <c>actions[2]</c>), or null for the line as a whole.</param>
/// <param name="Message">What is wrong, in words a dataset author can act on.</param>
public sealed record DatasetError(int Line, string? Field, string Message)
{
    /// <summary>Formats as <c>line 12: mode: unknown mode 'turbo' (expected ephemeral or persistent)</c>.</summary>
    public override string ToString() =>
        Field is null ? $"line {Line}: {Message}" : $"line {Line}: {Field}: {Message}";
}
