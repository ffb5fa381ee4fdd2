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
/// Imports SWE-bench records — as published (SWE-bench, Lite, Verified, SWE-Gym: FAIL_TO_PASS and
/// PASS_TO_PASS as JSON-encoded strings, no test command) or in our extended shape (arrays, an image,
/// setup and test commands). From a record: instance_id, repo, base_commit, problem_statement, version,
/// FAIL_TO_PASS / PASS_TO_PASS, test_patch, and optionally image, setup, test_cmd. Other fields are
/// ignored; the gold <c>patch</c> in particular never reaches the task.
/// <para>The test command is the record's <c>test_cmd</c> (or <c>test_command</c>), else the
/// <see cref="SweBenchOptions.TestCommands"/> entry for its repository and version, else
/// <see cref="DefaultTestCommand"/>; the tests of FAIL_TO_PASS then PASS_TO_PASS follow it as arguments.
/// The image is the record's, else the official harness's name (<see cref="ImageName"/>).</para>
/// </summary>
public static partial class SweBenchImport
{
    /// <summary>Record fields that must be present.</summary>
    public static IReadOnlyList<string> RequiredFields { get; } =
        ["instance_id", "repo", "base_commit", "problem_statement", "FAIL_TO_PASS"];

    /// <summary>
    /// The test command when neither the record nor the test map has one: pytest, reporting every
    /// test's outcome (<c>-rA</c>, as the official harness runs pytest repositories). Test ids in the
    /// pytest form (<c>tests/test_x.py::test_y</c>) work as they are; repositories with another runner
    /// (django's runtests.py, sympy's bin/test) need a test map entry.
    /// </summary>
    public const string DefaultTestCommand = "pytest -rA";

    /// <summary>
    /// The image the official harness builds for <paramref name="instanceId"/>, as published on Docker Hub:
    /// <c>&lt;prefix&gt;sweb.eval.x86_64.&lt;instance id lowercased, "__" replaced by "_1776_"&gt;:latest</c>
    /// (Docker Hub names may not hold "__"), e.g. <c>swebench/sweb.eval.x86_64.django_1776_django-11099:latest</c>.
    /// </summary>
    public static string ImageName(string instanceId, string prefix = "swebench/") =>
        $"{prefix}sweb.eval.x86_64.{instanceId.ToLowerInvariant().Replace("__", "_1776_", StringComparison.Ordinal)}:latest";

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
        if (problem is null)
            // Its absence is already reported; the model agent's own check on metadata would repeat it.
            errors.Cover("metadata");

        var image = OptionalString(record, "image", errors);
        if (image is null && instanceId is not null)
            image = ImageName(instanceId, options.ImagePrefix);
        else if (image is null)
            errors.Cover("image");

        var version = record.TryGetProperty("version", out var v) && v.ValueKind is JsonValueKind.String or JsonValueKind.Number
            ? v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText()
            : null;
        var testCmd = TestCommand(record, errors);
        if (testCmd is null && !errors.Covers("test_cmd") && !errors.Covers("test_command"))
            testCmd = (repo is null ? null : options.TestCommands.Lookup(repo, version)) ?? DefaultTestCommand;
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
        var agent = options.Agent ?? (actions.Count > 0 ? null : new AgentSpec { Kind = AgentKinds.Model });
        if (agent?.IsModel == true && actions.Count > 0)
            // The model agent runs no scripted commands: setup would be silently skipped.
            errors.Add("setup", "the model agent does not run setup commands; bake them into the image or use the scripted agent");

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
            Agent = agent,
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
