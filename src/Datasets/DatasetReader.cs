using System.Text;
using System.Text.Json;
using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Datasets;

/// <summary>
/// Reads the JSONL task format (one <see cref="TaskSpec"/> per line, camelCase fields, plus
/// <c>replicas</c> and <c>dataset</c>; see docs/datasets.md and schemas/task.schema.json). Each line
/// is bound by <see cref="TaskRecordBinder"/>, as the management API's submissions are.
/// Every line is validated and every error reported with its line number before anything is
/// returned for submission.
/// </summary>
public static class DatasetReader
{
    /// <summary>Fields every record must have. <c>actions</c> is required too unless the agent is a model (<see cref="AgentBinder"/>).</summary>
    public static IReadOnlyList<string> RequiredFields { get; } =
        ["taskId", "mode", "image", "scoreCommand"];

    /// <summary>Every field a record may have; anything else is an error.</summary>
    public static IReadOnlyList<string> Fields { get; } =
    [
        "taskId", "mode", "image", "pool", "quota", "actions", "scoreCommand", "maxRounds",
        "setupTimeoutSeconds", "runTimeoutSeconds", "scoringTimeoutSeconds", "execTimeoutSeconds",
        "maxInfraRetries", "cpuLimit", "memoryLimitMb", "pidsLimit", "network", "metadata", "agent", "replicas", "dataset",
    ];

    /// <summary>Metadata key the <c>dataset</c> field is stored under.</summary>
    public const string DatasetKey = "dataset";

    private static readonly HashSet<string> FieldSet = new(Fields, StringComparer.Ordinal);

    /// <summary>Reads a dataset from <paramref name="reader"/>, one line at a time.</summary>
    public static DatasetReadResult Read(TextReader reader, DatasetOptions? options = null)
    {
        options ??= DatasetOptions.Default;
        return JsonlPipeline.Read(
            reader,
            (JsonElement record, LineErrors errors, out int replicas) =>
                TaskRecordBinder.BindRecord(record, TaskRecordSource.DatasetFile, options.DefaultDataset, errors, out replicas),
            options.SkipInvalidLines, options.MaxErrors, options.MaxLineLength);
    }

    /// <summary>Reads the dataset file at <paramref name="path"/> (UTF-8, streamed).</summary>
    public static DatasetReadResult Read(string path, DatasetOptions? options = null)
    {
        using var reader = OpenText(path);
        return Read(reader, options);
    }

    internal static StreamReader OpenText(string path) =>
        new(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, FileOptions.SequentialScan),
            new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false),
            detectEncodingFromByteOrderMarks: true, bufferSize: 64 * 1024);

    /// <summary>True when <paramref name="name"/> is a field of the format.</summary>
    public static bool IsField(string name) => FieldSet.Contains(name);
}
