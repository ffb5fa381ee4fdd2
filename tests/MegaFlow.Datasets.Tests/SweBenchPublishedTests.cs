using System.Text.Json;
using MegaFlow.Contracts.Management;
using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Datasets.Tests;

/// <summary>
/// Records in the shape the SWE-bench family publishes them (SWE-bench, Lite, Verified, SWE-Gym): test
/// lists as JSON-encoded strings, no test command, no image, the gold patch beside the test patch, and
/// fields the import does not use (hints_text, created_at, difficulty). The records are made up.
/// </summary>
public sealed class SweBenchPublishedTests
{
    private const string GoldPatch = "diff --git a/src/gadget/size.py b/src/gadget/size.py\\n--- a/src/gadget/size.py\\n+++ b/src/gadget/size.py\\n@@ -3 +3 @@\\n-    return -1\\n+    return 0  # GOLD-FIX-7f3a\\n";

    // Lite/Verified shape: FAIL_TO_PASS and PASS_TO_PASS are strings holding JSON arrays.
    private static readonly string Verified =
        $$"""{"repo":"gadgetco/gadget","instance_id":"gadgetco__gadget-4521","base_commit":"9c1e77d","patch":"{{GoldPatch}}","test_patch":"diff --git a/tests/test_size.py b/tests/test_size.py\n","problem_statement":"Gadget.size() is -1 for an empty gadget\n\nExpected 0.","hints_text":"Probably in size.py","created_at":"2023-04-01T12:00:00Z","version":"2.1","FAIL_TO_PASS":"[\"tests/test_size.py::test_empty\"]","PASS_TO_PASS":"[\"tests/test_size.py::test_one\", \"tests/test_size.py::test_many[2]\"]","environment_setup_commit":"aa11bb2","difficulty":"<15 min fix"}""";

    // SWE-Gym shape with arrays instead of strings, and a repository with its own runner.
    private static readonly string Gym =
        $$"""{"repo":"webfw/webfw","instance_id":"webfw__webfw-880","base_commit":"51d0c2e","patch":"{{GoldPatch}}","test_patch":"","problem_statement":"URL reversing drops the trailing slash.","hints_text":"","created_at":"2022-01-02T00:00:00Z","version":"4.0","FAIL_TO_PASS":["test_reverse_slash (urls.tests.ReverseTests)"],"PASS_TO_PASS":[],"environment_setup_commit":"cc33dd4"}""";

    private static JsonElement Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    private static readonly SweBenchTestMap Map = SweBenchTestMap.Parse("""
        { "webfw/webfw": { "4.0": "./tests/runtests.py --verbosity 2", "*": "./tests/runtests.py" },
          "gadgetco/gadget": "pytest -rA --tb=no -p no:cacheprovider" }
        """);

    [Fact]
    public void A_published_record_imports_with_the_official_image_the_default_test_command_and_the_model_agent()
    {
        var result = SweBenchImport.FromRecord(Parse(Verified));

        Assert.Empty(result.Errors);
        var spec = result.Spec!;
        Assert.Equal("gadgetco__gadget-4521", spec.TaskId);
        Assert.Equal("swebench/sweb.eval.x86_64.gadgetco_1776_gadget-4521:latest", spec.Image);
        Assert.EndsWith("pytest -rA tests/test_size.py::test_empty tests/test_size.py::test_one 'tests/test_size.py::test_many[2]'", spec.ScoreCommand);
        Assert.StartsWith("git apply -v - <<'MEGAFLOW_TEST_PATCH_EOF'\ndiff --git a/tests/test_size.py", spec.ScoreCommand);
        Assert.Equal(AgentKinds.Model, spec.AgentKind);
        Assert.Empty(spec.Actions!);
        Assert.Equal("Gadget.size() is -1 for an empty gadget\n\nExpected 0.", spec.Metadata![TaskSpecValidator.ProblemStatementKey]);
        Assert.Equal("2.1", spec.Metadata["version"]);
        Assert.Empty(TaskSpecValidator.Validate(spec));
    }

    [Fact]
    public void The_gold_patch_appears_nowhere_in_the_task()
    {
        foreach (var record in new[] { Verified, Gym })
        {
            var spec = SweBenchImport.FromRecord(Parse(record), new SweBenchOptions { TestCommands = Map }).Spec!;
            var json = JsonSerializer.Serialize(spec, ManagementJson.Options);
            Assert.DoesNotContain("GOLD-FIX-7f3a", json);
            Assert.DoesNotContain("return 0", json);
            Assert.DoesNotContain("hints", json, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void The_test_map_gives_the_command_by_repository_and_version_and_the_record_still_wins()
    {
        var options = new SweBenchOptions { TestCommands = Map };

        Assert.Equal("./tests/runtests.py --verbosity 2 'test_reverse_slash (urls.tests.ReverseTests)'",
            SweBenchImport.FromRecord(Parse(Gym), options).Spec!.ScoreCommand);
        Assert.Equal("./tests/runtests.py 'test_reverse_slash (urls.tests.ReverseTests)'",
            SweBenchImport.FromRecord(Parse(Gym.Replace("\"version\":\"4.0\"", "\"version\":\"4.1\"")), options).Spec!.ScoreCommand);
        Assert.Contains("\npytest -rA --tb=no -p no:cacheprovider tests/test_size.py::test_empty",
            SweBenchImport.FromRecord(Parse(Verified), options).Spec!.ScoreCommand);
        Assert.EndsWith("make check 'test_reverse_slash (urls.tests.ReverseTests)'",
            SweBenchImport.FromRecord(Parse(Gym.Replace("\"version\"", "\"test_cmd\":\"make check\",\"version\"")), options).Spec!.ScoreCommand);
    }

    [Fact]
    public void The_image_prefix_and_the_agent_are_options()
    {
        var spec = SweBenchImport.FromRecord(Parse(Verified), new SweBenchOptions
        {
            ImagePrefix = "registry.local:5000/swe/",
            Agent = new AgentSpec { Kind = AgentKinds.Model, Endpoint = "http://vllm:8000/v1", Model = "coder" },
        }).Spec!;

        Assert.Equal("registry.local:5000/swe/sweb.eval.x86_64.gadgetco_1776_gadget-4521:latest", spec.Image);
        Assert.Equal("http://vllm:8000/v1", spec.Agent!.Endpoint);
    }

    [Fact]
    public void The_model_agent_and_setup_commands_do_not_go_together()
    {
        var result = SweBenchImport.FromRecord(Parse(Verified.Replace("\"version\"", "\"setup\":\"pip install -e .\",\"version\"")),
            new SweBenchOptions { Agent = new AgentSpec { Kind = AgentKinds.Model } });

        Assert.Null(result.Spec);
        Assert.StartsWith("setup: the model agent does not run setup commands", Assert.Single(result.Errors).ToString());
    }

    [Fact]
    public void A_file_of_published_records_reads_with_line_numbered_errors()
    {
        var brokenTests = Verified.Replace("gadget-4521", "gadget-4522").Replace("\"PASS_TO_PASS\":\"[", "\"PASS_TO_PASS\":\"[[");
        var noStatement = Gym.Replace("webfw-880", "webfw-881").Replace("\"problem_statement\":\"URL reversing drops the trailing slash.\",", "");
        var text = string.Join("\n", Verified, Gym, brokenTests, noStatement);

        var result = SweBenchImport.Read(new StringReader(text), new SweBenchOptions { TestCommands = Map });

        Assert.Equal([3, 4], result.Errors.Select(e => e.Line));
        Assert.StartsWith("line 3: PASS_TO_PASS: is a string but not a JSON array of test names: malformed JSON", result.Errors[0].ToString());
        Assert.Equal("line 4: problem_statement: missing required field", result.Errors[1].ToString());
        Assert.Empty(result.Specs);
    }

    [Theory]
    [InlineData("[]", "test map: must be an object of repository → command (got array)")]
    [InlineData("{\"a/b\": 3}", "test map: 'a/b' must be a command or an object of version → command (got number 3)")]
    [InlineData("{\"a/b\": {\"1.0\": null}}", "test map: 'a/b'.'1.0' must be a command (got null)")]
    [InlineData("{\"a/b\": \" \"}", "test map: 'a/b' is an empty command")]
    [InlineData("{\"a/b\": \"x\", \"a/b\": \"y\"}", "test map: 'a/b' appears more than once")]
    [InlineData("{\"a/b\": ", "test map: malformed JSON")]
    public void A_bad_test_map_is_refused_naming_the_entry(string json, string expected)
    {
        var e = Assert.Throws<FormatException>(() => SweBenchTestMap.Parse(json));
        Assert.StartsWith(expected, e.Message);
    }
}
