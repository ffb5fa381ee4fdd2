using System.Text.Json;
using MegaFlow.Contracts;
using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Datasets.Tests;

/// <summary>Records here are made up for the tests; they only have the shape of SWE-bench records.</summary>
public sealed class SweBenchImportTests
{
    // Test lists as arrays, setup as an array, an explicit image, a test patch.
    private const string ArrayRecord =
        """{"instance_id":"acme__widgets-101","repo":"acme/widgets","base_commit":"0123abc","problem_statement":"Widget.size() returns -1 for empty widgets.","image":"registry.local/acme-widgets:101","setup":["pip install -e .","git status"],"test_cmd":"pytest -rA","FAIL_TO_PASS":["tests/test_size.py::test_empty"],"PASS_TO_PASS":["tests/test_size.py::test_one","tests/test_size.py::test_many[3-items]"],"test_patch":"diff --git a/tests/test_size.py b/tests/test_size.py\n","patch":"GOLD PATCH MUST NOT LEAK","version":"1.2"}""";

    // Test lists as JSON-encoded strings (as in the published dataset), setup as a string, no image,
    // test_command instead of test_cmd, and the test lists with a quote in a name.
    private const string StringRecord =
        """{"instance_id":"Gizmo__Parser-7","repo":"gizmo/parser","base_commit":"fedcba9","problem_statement":"Parsing 'a,,b' drops the empty field.","environment_setup_commit":"55aa","setup":"make deps","test_command":"python -m pytest","FAIL_TO_PASS":"[\"tests/test_split.py::test_empty_field\"]","PASS_TO_PASS":"[\"tests/test_split.py::test_it's_fine\"]"}""";

    private const string MinimalRecord =
        """{"instance_id":"tiny__lib-1","repo":"tiny/lib","base_commit":"abc","problem_statement":"x","test_cmd":"./run-tests","FAIL_TO_PASS":["t1"]}""";

    private static JsonElement Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    private static DatasetReadResult Read(SweBenchOptions? options, params string[] lines) =>
        SweBenchImport.Read(new StringReader(string.Join("\n", lines)), options);

    [Fact]
    public void A_record_with_array_test_lists_maps_to_a_task()
    {
        var result = SweBenchImport.FromRecord(Parse(ArrayRecord));

        Assert.Empty(result.Errors);
        var spec = result.Spec!;
        Assert.Equal("acme__widgets-101", spec.TaskId);
        Assert.Equal("ephemeral", spec.Mode);
        Assert.Equal("registry.local/acme-widgets:101", spec.Image);
        Assert.Equal(["pip install -e .", "git status"], spec.Actions!);
        Assert.Equal(
            "git apply -v - <<'MEGAFLOW_TEST_PATCH_EOF'\ndiff --git a/tests/test_size.py b/tests/test_size.py\nMEGAFLOW_TEST_PATCH_EOF\n"
            + "pytest -rA tests/test_size.py::test_empty tests/test_size.py::test_one 'tests/test_size.py::test_many[3-items]'",
            spec.ScoreCommand);
        var md = spec.Metadata!;
        Assert.Equal("acme/widgets", md["repo"]);
        Assert.Equal("0123abc", md["base_commit"]);
        Assert.Equal("Widget.size() returns -1 for empty widgets.", md["problem_statement"]);
        Assert.Equal(["tests/test_size.py::test_empty"], JsonSerializer.Deserialize<string[]>(md["fail_to_pass"])!);
        Assert.Equal(2, JsonSerializer.Deserialize<string[]>(md["pass_to_pass"])!.Length);
        Assert.Equal("swe-bench", md["dataset"]);
        Assert.Equal("1.2", md["version"]);
        Assert.DoesNotContain(md.Values, v => v.Contains("GOLD PATCH", StringComparison.Ordinal));
        Assert.DoesNotContain("GOLD PATCH", spec.ScoreCommand, StringComparison.Ordinal);
    }

    [Fact]
    public void A_record_with_string_encoded_test_lists_maps_to_a_task()
    {
        var result = SweBenchImport.FromRecord(Parse(StringRecord));

        Assert.Empty(result.Errors);
        var spec = result.Spec!;
        // Derived image: the official harness's name, lowercased, "__" as "_1776_".
        Assert.Equal("swebench/sweb.eval.x86_64.gizmo_1776_parser-7:latest", spec.Image);
        Assert.Equal(["make deps"], spec.Actions!);
        Assert.Equal("python -m pytest tests/test_split.py::test_empty_field 'tests/test_split.py::test_it'\\''s_fine'", spec.ScoreCommand);
        Assert.Equal(["tests/test_split.py::test_empty_field"], JsonSerializer.Deserialize<string[]>(spec.Metadata!["fail_to_pass"])!);
        Assert.Equal("55aa", spec.Metadata!["environment_setup_commit"]);
    }

    [Fact]
    public void The_score_command_runs_the_tests_through_the_shell_with_names_intact()
    {
        if (!File.Exists("/bin/sh"))
            return;
        var command = SweBenchImport.ScoreCommand("printf '%s\\n'", ["plain", "with space", "it's", "a[1-2]", "$HOME"]);
        var psi = new System.Diagnostics.ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(command);
        using var process = System.Diagnostics.Process.Start(psi)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.Equal("plain\nwith space\nit's\na[1-2]\n$HOME\n", output);
    }

    [Fact]
    public void A_minimal_record_has_no_setup_and_an_empty_pass_to_pass()
    {
        var spec = SweBenchImport.FromRecord(Parse(MinimalRecord)).Spec!;
        Assert.Empty(spec.Actions!);
        Assert.Equal("./run-tests t1", spec.ScoreCommand);
        Assert.Equal("[]", spec.Metadata!["pass_to_pass"]);
    }

    [Fact]
    public void Options_choose_mode_dataset_image_prefix_and_budgets()
    {
        var options = new SweBenchOptions
        {
            Mode = "persistent",
            Dataset = "swe-mini",
            ImagePrefix = "local/",
            ApplyTestPatch = false,
            Template = new TaskSpec { MaxRounds = 50, RunTimeoutSeconds = 3600, Pool = "swe" },
        };
        var spec = SweBenchImport.FromRecord(Parse(StringRecord), options).Spec!;
        Assert.Equal(ExecutionMode.Persistent, spec.ExecutionMode);
        Assert.Equal("swe-mini", spec.Metadata!["dataset"]);
        Assert.Equal("local/sweb.eval.x86_64.gizmo_1776_parser-7:latest", spec.Image);
        Assert.Equal(50, spec.MaxRounds);
        Assert.Equal(3600, spec.RunTimeoutSeconds);
        Assert.Equal("swe", spec.Pool);

        var withoutPatch = SweBenchImport.FromRecord(Parse(ArrayRecord), options).Spec!;
        Assert.StartsWith("pytest -rA ", withoutPatch.ScoreCommand);
    }

    [Theory]
    [InlineData("instance_id")]
    [InlineData("repo")]
    [InlineData("base_commit")]
    [InlineData("problem_statement")]
    [InlineData("FAIL_TO_PASS")]
    public void A_missing_required_field_is_named_once(string field)
    {
        var record = System.Text.Json.Nodes.JsonNode.Parse(MinimalRecord)!.AsObject();
        record.Remove(field);
        var result = SweBenchImport.FromRecord(Parse(record.ToJsonString()));
        Assert.Null(result.Spec);
        Assert.Equal($"{field}: missing required field", Assert.Single(result.Errors).ToString());
    }

    [Fact]
    public void A_missing_test_command_is_no_longer_an_error_but_the_documented_default()
    {
        // Issue 11 item 6: published records carry no test command (it was required before).
        var record = System.Text.Json.Nodes.JsonNode.Parse(MinimalRecord)!.AsObject();
        record.Remove("test_cmd");
        var result = SweBenchImport.FromRecord(Parse(record.ToJsonString()));
        Assert.Empty(result.Errors);
        Assert.Equal("pytest -rA t1", result.Spec!.ScoreCommand);
    }

    [Theory]
    [InlineData("\"FAIL_TO_PASS\":[\"t1\"]", "\"FAIL_TO_PASS\":\"not json\"", "FAIL_TO_PASS: is a string but not a JSON array of test names: malformed JSON")]
    [InlineData("\"FAIL_TO_PASS\":[\"t1\"]", "\"FAIL_TO_PASS\":\"{}\"", "FAIL_TO_PASS: must be an array of test names or a string holding one as JSON (the string holds object)")]
    [InlineData("\"FAIL_TO_PASS\":[\"t1\"]", "\"FAIL_TO_PASS\":3", "FAIL_TO_PASS: must be an array of test names or a string holding one as JSON (got number 3)")]
    [InlineData("\"FAIL_TO_PASS\":[\"t1\"]", "\"FAIL_TO_PASS\":[1]", "FAIL_TO_PASS[0]: must be a string (got number 1)")]
    [InlineData("\"FAIL_TO_PASS\":[\"t1\"]", "\"FAIL_TO_PASS\":[]", "FAIL_TO_PASS: lists no tests (and neither does PASS_TO_PASS)")]
    [InlineData("\"repo\":\"tiny/lib\"", "\"repo\":42", "repo: must be a string (got number 42)")]
    [InlineData("\"instance_id\":\"tiny__lib-1\"", "\"instance_id\":\"bad id\"", "taskId: must not contain whitespace, control characters, '/', '\\' or '%' (an id must be one URL path segment)")]
    public void Bad_values_are_named(string original, string replacement, string expected)
    {
        var result = SweBenchImport.FromRecord(Parse(MinimalRecord.Replace(original, replacement)));
        Assert.Null(result.Spec);
        Assert.StartsWith(expected, Assert.Single(result.Errors).ToString());
    }

    [Fact]
    public void Conflicting_test_commands_are_an_error()
    {
        var result = SweBenchImport.FromRecord(Parse(MinimalRecord.Replace("\"test_cmd\":\"./run-tests\"", "\"test_cmd\":\"a\",\"test_command\":\"b\"")));
        Assert.Equal("test_cmd: differs from test_command ('a' vs 'b'); give one", Assert.Single(result.Errors).ToString());
    }

    [Fact]
    public void A_jsonl_of_records_reads_with_line_numbered_errors()
    {
        var missingRepo = MinimalRecord.Replace("\"repo\":\"tiny/lib\",", "").Replace("tiny__lib-1", "tiny__lib-2");
        var result = Read(null, "# fabricated records", ArrayRecord, StringRecord, missingRepo, "{broken", ArrayRecord);

        Assert.Equal([4, 5, 6], result.Errors.Select(e => e.Line));
        Assert.Equal("line 4: repo: missing required field", result.Errors[0].ToString());
        Assert.StartsWith("line 5: malformed JSON at column 2:", result.Errors[1].ToString());
        Assert.Equal("line 6: taskId: duplicate task id 'acme__widgets-101' (first on line 2)", result.Errors[2].ToString());
        Assert.Empty(result.Specs);
    }

    [Fact]
    public void Skipping_invalid_records_and_replicas_apply_to_imports()
    {
        var result = Read(new SweBenchOptions { SkipInvalidLines = true, Replicas = 3 }, ArrayRecord, "{broken", MinimalRecord);

        Assert.Equal(
            ["acme__widgets-101#r0", "acme__widgets-101#r1", "acme__widgets-101#r2", "tiny__lib-1#r0", "tiny__lib-1#r1", "tiny__lib-1#r2"],
            result.Specs.Select(s => s.TaskId));
        Assert.All(result.Specs, s => Assert.Equal("swe-bench", s.Metadata!["dataset"]));
        Assert.Equal("tiny__lib-1", result.Specs[^1].Metadata![Replicas.GroupKey]);
        Assert.Equal(2, Assert.Single(result.Errors).Line);
    }

    [Fact]
    public void Imported_specs_pass_the_domain_validator()
    {
        var result = Read(null, ArrayRecord, StringRecord, MinimalRecord);
        Assert.Empty(result.Errors);
        Assert.All(result.Specs, s => Assert.Empty(TaskSpecValidator.Validate(s)));
    }
}
