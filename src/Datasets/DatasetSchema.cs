namespace MegaFlow.Datasets;

/// <summary>The JSON Schema (draft 2020-12) of one line of the JSONL task format, as shipped in schemas/task.schema.json.</summary>
public static class DatasetSchema
{
    /// <summary>The schema's text.</summary>
    public static string Json { get; } = Load();

    private static string Load()
    {
        using var stream = typeof(DatasetSchema).Assembly.GetManifestResourceStream("MegaFlow.Datasets.task.schema.json")
            ?? throw new InvalidOperationException("task.schema.json is not embedded in MegaFlow.Datasets");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
