using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Datasets;

/// <summary>The outcome of mapping one SWE-bench-style record.</summary>
/// <param name="Spec">The task (one replica's worth, before expansion); null when the record had errors.</param>
/// <param name="Errors">Every problem, naming the record field (e.g. <c>FAIL_TO_PASS</c>) or the spec field.</param>
public sealed record SweBenchRecordResult(TaskSpec? Spec, IReadOnlyList<ValidationError> Errors)
{
    /// <summary>True when the record mapped to a valid spec.</summary>
    public bool IsValid => Spec is not null;
}

/// <summary>
/// Imports SWE-bench-style records: instance_id, repo, base_commit, problem_statement, image (or a
/// name derived from instance_id), setup and test commands, FAIL_TO_PASS / PASS_TO_PASS. Other
/// fields of the record are ignored; the gold <c>patch</c> in particular never reaches the task.
/// </summary>
public static partial class SweBenchImport
{
    /// <summary>Record fields that must be present.</summary>
    public static IReadOnlyList<string> RequiredFields { get; } =
        ["instance_id", "repo", "base_commit", "problem_statement", "test_cmd", "FAIL_TO_PASS"];

    /// <summary>Heredoc delimiter for the test patch inside the score command.</summary>
    public const string TestPatchDelimiter = "MEGAFLOW_TEST_PATCH_EOF";

    /// <summary>Maps one record to a spec, validated like any submitted spec.</summary>
    public static SweBenchRecordResult FromRecord(JsonElement record, SweBenchOptions? options = null)
    {
        options ??= SweBenchOptions.Default;
        var errors = new LineErrors();
        TaskSpec? spec = null;
        if (record.ValueKind != JsonValueKind.Object)
            errors.Add(null, $"expected a JSON object (got {TaskRecordBinder.Describe(record)})");
        else
        {
            spec = Map(record, errors, options);
            errors.AddValidation(spec);
        }
        return new SweBenchRecordResult(errors.Any ? null : spec, errors.All.ToList());
    }

    /// <summary>Reads JSONL of records; errors carry line numbers exactly as in <see cref="DatasetReader"/>.</summary>
    public static DatasetReadResult Read(TextReader reader, SweBenchOptions? options = null)
    {
        options ??= SweBenchOptions.Default;
        if (options.Replicas is < 1 or > Replicas.MaxReplicas)
            throw new ArgumentOutOfRangeException(nameof(options), options.Replicas,
                $"replicas must be between 1 and {Replicas.MaxReplicas}");
        return JsonlPipeline.Read(
            reader,
            (JsonElement record, LineErrors errors, out int replicas) =>
            {
                replicas = options.Replicas;
                return Map(record, errors, options);
            },
            options.SkipInvalidLines, options.MaxErrors, options.MaxLineLength);
    }

    /// <summary>Reads the JSONL file at <paramref name="path"/> (UTF-8, streamed).</summary>
    public static DatasetReadResult Read(string path, SweBenchOptions? options = null)
    {
        using var reader = DatasetReader.OpenText(path);
        return Read(reader, options);
    }

    private static TaskSpec Map(JsonElement record, LineErrors errors, SweBenchOptions options)
    {
        var instanceId = RequiredString(record, "instance_id", "taskId", errors);
        var repo = RequiredString(record, "repo", null, errors);
        var baseCommit = RequiredString(record, "base_commit", null, errors);
        var problem = RequiredString(record, "problem_statement", null, errors);

        var image = OptionalString(record, "image", errors);
        if (image is null && instanceId is not null)
            image = options.ImagePrefix + instanceId.ToLowerInvariant();
        else if (image is null)
            errors.Cover("image");

        var testCmd = TestCommand(record, errors);
        var failToPass = Tests(record, "FAIL_TO_PASS", required: true, errors);
        var passToPass = Tests(record, "PASS_TO_PASS", required: false, errors) ?? [];
        if (failToPass is not null && failToPass.Count + passToPass.Count == 0)
            errors.Add("FAIL_TO_PASS", "lists no tests (and neither does PASS_TO_PASS)");
        var testPatch = options.ApplyTestPatch ? OptionalString(record, "test_patch", errors) : null;

        string? scoreCommand = null;
        if (testCmd is not null && failToPass is not null)
            scoreCommand = ScoreCommand(testCmd, failToPass.Concat(passToPass).Distinct(StringComparer.Ordinal), testPatch);
        else
            errors.Cover("scoreCommand");

        var actions = Setup(record, errors);

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [DatasetReader.DatasetKey] = options.Dataset,
            ["fail_to_pass"] = JsonSerializer.Serialize(failToPass ?? []),
            ["pass_to_pass"] = JsonSerializer.Serialize(passToPass),
        };
        if (repo is not null) metadata["repo"] = repo;
        if (baseCommit is not null) metadata["base_commit"] = baseCommit;
        if (problem is not null) metadata["problem_statement"] = problem;
        foreach (var extra in new[] { "version", "environment_setup_commit" })
            if (record.TryGetProperty(extra, out var value) && value.ValueKind is JsonValueKind.String or JsonValueKind.Number)
                metadata[extra] = value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();

        return options.Template with
        {
            TaskId = instanceId,
            Mode = options.Mode,
            Image = image,
            Actions = actions,
            ScoreCommand = scoreCommand,
            Metadata = metadata,
        };
    }

    private static string? RequiredString(JsonElement record, string field, string? specField, LineErrors errors)
    {
        string? value = null;
        if (!record.TryGetProperty(field, out var element))
            errors.Add(field, "missing required field");
        else if (TaskRecordBinder.Value<string>(element, field, errors) is { } s)
        {
            if (string.IsNullOrWhiteSpace(s))
                errors.Add(field, "must not be empty");
            else
                value = s;
        }
        if (value is null && specField is not null)
            errors.Cover(specField);
        return value;
    }

    private static string? OptionalString(JsonElement record, string field, LineErrors errors) =>
        record.TryGetProperty(field, out var element) && element.ValueKind != JsonValueKind.Null
            ? TaskRecordBinder.Value<string>(element, field, errors) is { Length: > 0 } s ? s : null
            : null;

    private static string? TestCommand(JsonElement record, LineErrors errors)
    {
        var a = OptionalString(record, "test_cmd", errors);
        var b = OptionalString(record, "test_command", errors);
        if (a is not null && b is not null && a != b)
        {
            errors.Add("test_cmd", $"differs from test_command ('{a}' vs '{b}'); give one");
            return null;
        }
        if (a is null && b is null && !errors.Covers("test_cmd") && !errors.Covers("test_command"))
            errors.Add("test_cmd", "missing required field (test_cmd or test_command)");
        return a ?? b;
    }

    /// <summary>An array of test names, or (as in the published dataset) a string holding one as JSON.</summary>
    private static List<string>? Tests(JsonElement record, string field, bool required, LineErrors errors)
    {
        if (!record.TryGetProperty(field, out var element))
        {
            if (required)
                errors.Add(field, "missing required field");
            return null;
        }
        if (element.ValueKind == JsonValueKind.String)
        {
            try
            {
                using var doc = JsonDocument.Parse(element.GetString()!);
                if (doc.RootElement.ValueKind != JsonValueKind.Array)
                {
                    errors.Add(field, $"must be an array of test names or a string holding one as JSON (the string holds {TaskRecordBinder.Describe(doc.RootElement)})");
                    return null;
                }
                return TaskRecordBinder.Value<List<string>>(doc.RootElement, field, errors);
            }
            catch (JsonException e)
            {
                errors.Add(field, $"is a string but not a JSON array of test names: {TaskRecordBinder.Malformed(e)}");
                return null;
            }
        }
        if (element.ValueKind != JsonValueKind.Array)
        {
            errors.Add(field, $"must be an array of test names or a string holding one as JSON (got {TaskRecordBinder.Describe(element)})");
            return null;
        }
        return TaskRecordBinder.Value<List<string>>(element, field, errors);
    }

    private static List<string> Setup(JsonElement record, LineErrors errors)
    {
        if (!record.TryGetProperty("setup", out var element) || element.ValueKind == JsonValueKind.Null)
            return [];
        if (element.ValueKind == JsonValueKind.String)
            return string.IsNullOrWhiteSpace(element.GetString()) ? [] : [element.GetString()!];
        if (element.ValueKind != JsonValueKind.Array)
        {
            errors.Add("setup", $"must be a command or an array of commands (got {TaskRecordBinder.Describe(element)})");
            errors.Cover("actions");
            return [];
        }
        var list = TaskRecordBinder.Value<List<string>>(element, "setup", errors);
        if (list is null)
            errors.Cover("actions");
        return list ?? [];
    }

    /// <summary>
    /// <c>&lt;test_cmd&gt; &lt;tests...&gt;</c>, each test name quoted for /bin/sh, preceded by the test
    /// patch applied from a heredoc when there is one.
    /// </summary>
    public static string ScoreCommand(string testCommand, IEnumerable<string> tests, string? testPatch = null)
    {
        var sb = new StringBuilder();
        if (!string.IsNullOrEmpty(testPatch))
        {
            sb.Append("git apply -v - <<'").Append(TestPatchDelimiter).Append("'\n").Append(testPatch);
            if (!testPatch.EndsWith('\n'))
                sb.Append('\n');
            sb.Append(TestPatchDelimiter).Append('\n');
        }
        sb.Append(testCommand);
        foreach (var test in tests)
            sb.Append(' ').Append(ShellQuote(test));
        return sb.ToString();
    }

    /// <summary>Quotes <paramref name="word"/> for /bin/sh unless it is plainly safe.</summary>
    public static string ShellQuote(string word) =>
        word.Length > 0 && SafeWord().IsMatch(word) ? word : "'" + word.Replace("'", "'\\''") + "'";

    [GeneratedRegex(@"^[A-Za-z0-9_./:=+,@%-]+$")]
    private static partial Regex SafeWord();
}
