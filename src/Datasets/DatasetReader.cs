using System.Text;
using System.Text.Json;
using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Datasets;

/// <summary>
/// Reads the JSONL task format (one <see cref="TaskSpec"/> per line, camelCase fields, plus
/// <c>replicas</c> and <c>dataset</c>; see docs/datasets.md and schemas/task.schema.json).
/// Every line is validated and every error reported with its line number before anything is
/// returned for submission.
/// </summary>
public static class DatasetReader
{
    /// <summary>Fields a record must have.</summary>
    public static IReadOnlyList<string> RequiredFields { get; } =
        ["taskId", "mode", "image", "actions", "scoreCommand"];

    /// <summary>Every field a record may have; anything else is an error.</summary>
    public static IReadOnlyList<string> Fields { get; } =
    [
        "taskId", "mode", "image", "pool", "actions", "scoreCommand", "maxRounds",
        "setupTimeoutSeconds", "runTimeoutSeconds", "scoringTimeoutSeconds", "execTimeoutSeconds",
        "maxInfraRetries", "cpuLimit", "memoryLimitMb", "pidsLimit", "network", "metadata", "replicas", "dataset",
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
            (JsonElement record, LineErrors errors, out int replicas) => MapRecord(record, errors, options, out replicas),
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

    private static TaskSpec MapRecord(JsonElement record, LineErrors errors, DatasetOptions options, out int replicas)
    {
        var spec = new TaskSpec();
        var present = new HashSet<string>(StringComparer.Ordinal);
        replicas = 1;
        string? dataset = null;

        foreach (var p in record.EnumerateObject())
        {
            if (!present.Add(p.Name))
            {
                errors.Add(p.Name, "appears more than once");
                continue;
            }
            var v = p.Value;
            switch (p.Name)
            {
                case "taskId": spec = spec with { TaskId = JsonValues.String(v, p.Name, errors) }; break;
                case "mode": spec = spec with { Mode = JsonValues.String(v, p.Name, errors) }; break;
                case "image": spec = spec with { Image = JsonValues.String(v, p.Name, errors) }; break;
                case "pool": spec = spec with { Pool = JsonValues.String(v, p.Name, errors) }; break;
                case "scoreCommand": spec = spec with { ScoreCommand = JsonValues.String(v, p.Name, errors) }; break;
                case "actions": spec = spec with { Actions = JsonValues.StringArray(v, p.Name, errors) }; break;
                case "metadata": spec = spec with { Metadata = JsonValues.StringMap(v, p.Name, errors) }; break;
                case "maxRounds":
                    if (JsonValues.Integer(v, p.Name, errors) is { } rounds) spec = spec with { MaxRounds = rounds };
                    break;
                case "maxInfraRetries":
                    if (JsonValues.Integer(v, p.Name, errors) is { } retries) spec = spec with { MaxInfraRetries = retries };
                    break;
                case "setupTimeoutSeconds":
                    if (JsonValues.Number(v, p.Name, errors) is { } setup) spec = spec with { SetupTimeoutSeconds = setup };
                    break;
                case "runTimeoutSeconds":
                    if (JsonValues.Number(v, p.Name, errors) is { } run) spec = spec with { RunTimeoutSeconds = run };
                    break;
                case "scoringTimeoutSeconds":
                    if (JsonValues.Number(v, p.Name, errors) is { } scoring) spec = spec with { ScoringTimeoutSeconds = scoring };
                    break;
                case "execTimeoutSeconds":
                    if (JsonValues.Number(v, p.Name, errors) is { } exec) spec = spec with { ExecTimeoutSeconds = exec };
                    break;
                case "cpuLimit":
                    if (JsonValues.Number(v, p.Name, errors) is { } cpu) spec = spec with { CpuLimit = cpu };
                    break;
                case "memoryLimitMb":
                    if (JsonValues.Integer(v, p.Name, errors) is { } memory) spec = spec with { MemoryLimitMb = memory };
                    break;
                case "pidsLimit":
                    if (JsonValues.Integer(v, p.Name, errors) is { } pids) spec = spec with { PidsLimit = pids };
                    break;
                case "network":
                    if (JsonValues.String(v, p.Name, errors) is { } network) spec = spec with { Network = network };
                    break;
                case "replicas":
                    if (JsonValues.Integer(v, p.Name, errors) is { } n)
                    {
                        if (n < 1)
                            errors.Add(p.Name, $"must be at least 1 (got {n})");
                        else if (n > Replicas.MaxReplicas)
                            errors.Add(p.Name, $"must be at most {Replicas.MaxReplicas} (got {n})");
                        else
                            replicas = n;
                    }
                    break;
                case "dataset":
                    dataset = JsonValues.String(v, p.Name, errors);
                    if (dataset is { Length: 0 })
                    {
                        errors.Add(p.Name, "must not be empty");
                        dataset = null;
                    }
                    break;
                default:
                    errors.Add(null, UnknownField(p.Name));
                    break;
            }
        }

        foreach (var field in RequiredFields)
            if (!present.Contains(field))
                errors.Add(field, "missing required field");

        return spec with { Metadata = MergeMetadata(spec.Metadata, dataset, options.DefaultDataset, replicas, errors) };
    }

    private static IReadOnlyDictionary<string, string>? MergeMetadata(
        IReadOnlyDictionary<string, string>? metadata, string? dataset, string? defaultDataset, int replicas, LineErrors errors)
    {
        if (replicas > 1 && metadata is not null)
            foreach (var reserved in new[] { Replicas.GroupKey, Replicas.ReplicaKey })
                if (metadata.ContainsKey(reserved))
                    errors.Add($"metadata.{reserved}", "is set from replicas; remove it from metadata");

        if (dataset is not null && metadata is not null && metadata.TryGetValue(DatasetKey, out var inMetadata)
            && inMetadata != dataset)
            errors.Add("dataset", $"'{dataset}' differs from metadata.dataset '{inMetadata}'; give it once");

        var effective = dataset ?? (metadata is not null && metadata.ContainsKey(DatasetKey) ? null : defaultDataset);
        if (effective is null)
            return metadata;
        var merged = metadata is null
            ? new Dictionary<string, string>(StringComparer.Ordinal)
            : new Dictionary<string, string>(metadata, StringComparer.Ordinal);
        merged[DatasetKey] = effective;
        return merged;
    }

    private static string UnknownField(string name)
    {
        // The common mistake is the case (task_id, TaskId, scorecommand): point at the real name.
        var squashed = Squash(name);
        var suggestion = Fields.FirstOrDefault(f => Squash(f) == squashed);
        return suggestion is null
            ? $"unknown field '{name}'"
            : $"unknown field '{name}' (did you mean '{suggestion}'?)";
    }

    private static string Squash(string name) =>
        new string(name.Where(char.IsLetterOrDigit).ToArray()).ToLowerInvariant();

    /// <summary>True when <paramref name="name"/> is a field of the format.</summary>
    public static bool IsField(string name) => FieldSet.Contains(name);
}
