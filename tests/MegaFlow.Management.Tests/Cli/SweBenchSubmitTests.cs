using System.Text.Json;
using MegaFlow.Cli.CommandLine;
using MegaFlow.Management.Tests.Infrastructure;
using MegaFlow.Node;

namespace MegaFlow.Management.Tests.Cli;

/// <summary>
/// `megaflow tasks submit --format swe-bench`: published records read, imported and posted to a
/// management API — here a real HTTP server on loopback that records what it is sent and accepts it.
/// </summary>
public sealed class SweBenchSubmitTests
{
    // Made-up records in the published shape: JSON-encoded test lists, no test command, no image, a gold patch.
    private const string Records = """
        {"repo":"gadgetco/gadget","instance_id":"gadgetco__gadget-4521","base_commit":"9c1e77d","patch":"--- a/x\n+++ b/x\n+GOLD-FIX-7f3a\n","test_patch":"","problem_statement":"size() is -1 when empty","hints_text":"","created_at":"2023-04-01T12:00:00Z","version":"2.1","FAIL_TO_PASS":"[\"tests/test_size.py::test_empty\"]","PASS_TO_PASS":"[]","environment_setup_commit":"aa11bb2"}
        {"repo":"webfw/webfw","instance_id":"webfw__webfw-880","base_commit":"51d0c2e","patch":"GOLD-FIX-7f3a","test_patch":"","problem_statement":"URL reversing drops the trailing slash.","hints_text":"","created_at":"2022-01-02T00:00:00Z","version":"4.0","FAIL_TO_PASS":"[\"test_reverse_slash (urls.tests.ReverseTests)\"]","PASS_TO_PASS":"[]","environment_setup_commit":"cc33dd4"}
        """;

    private static async Task<(int Code, string Output, string Error)> Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await MegaFlowCommandLine.RunAsync(args, new CliHost(output, error, _ => null));
        return (code, output.ToString(), error.ToString());
    }

    private static string Temp(string name, string text)
    {
        var path = Path.Combine(Path.GetTempPath(), $"megaflow-{Guid.NewGuid():N}-{name}");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task Published_records_are_submitted_with_official_images_mapped_test_commands_and_the_model_agent()
    {
        using var api = new RecordingApi();
        var records = Temp("swe.jsonl", Records);
        var map = Temp("map.json", """{"webfw/webfw": {"4.0": "./tests/runtests.py --verbosity 2"}}""");

        var (code, output, error) = await Run("tasks", "submit", records, "--format", "swe-bench", "--test-map", map,
            "--image-prefix", "registry.local/swe/", "--node", api.Address);

        Assert.True(code == 0, error);
        Assert.Contains("submitted 2 new tasks", output);
        var specs = api.Posted.Single().EnumerateArray().ToList();
        Assert.Equal(["gadgetco__gadget-4521", "webfw__webfw-880"], specs.Select(s => s.GetProperty("taskId").GetString()));
        Assert.Equal("registry.local/swe/sweb.eval.x86_64.gadgetco_1776_gadget-4521:latest", specs[0].GetProperty("image").GetString());
        Assert.Equal("pytest -rA tests/test_size.py::test_empty", specs[0].GetProperty("scoreCommand").GetString());
        Assert.Equal("./tests/runtests.py --verbosity 2 'test_reverse_slash (urls.tests.ReverseTests)'", specs[1].GetProperty("scoreCommand").GetString());
        Assert.All(specs, s => Assert.Equal("model", s.GetProperty("agent").GetProperty("kind").GetString()));
        Assert.Equal("size() is -1 when empty", specs[0].GetProperty("metadata").GetProperty("problem_statement").GetString());
        Assert.DoesNotContain("GOLD-FIX", api.RawBodies.Single());
    }

    [Theory]
    [InlineData("--test-map", "map.json", "--test-map goes with --format swe-bench")]
    [InlineData("--format", "csv", "unknown --format 'csv' (expected tasks or swe-bench)")]
    public async Task Options_that_do_not_fit_are_usage_errors(string option, string value, string expected)
    {
        var file = Temp("t.jsonl", "");
        var (code, _, error) = await Run("tasks", "submit", file, option, value, "--node", "127.0.0.1:1");
        Assert.Equal(2, code);
        Assert.Contains(expected, error);
    }

    [Fact]
    public async Task A_bad_test_map_is_a_usage_error_naming_the_entry()
    {
        var records = Temp("swe.jsonl", Records);
        var map = Temp("map.json", """{"webfw/webfw": 4}""");
        var (code, _, error) = await Run("tasks", "submit", records, "--format", "swe-bench", "--test-map", map, "--node", "127.0.0.1:1");
        Assert.Equal(2, code);
        Assert.Contains("'webfw/webfw' must be a command or an object of version → command (got number 4)", error);
    }

    [Fact]
    public async Task Bad_records_are_reported_by_line_and_nothing_is_posted()
    {
        using var api = new RecordingApi();
        var records = Temp("swe.jsonl", Records.Replace("\"repo\":\"webfw/webfw\",", ""));

        var (code, _, error) = await Run("tasks", "submit", records, "--format", "swe-bench", "--node", api.Address);

        Assert.Equal(1, code);
        Assert.Contains("line 2: repo: missing required field", error);
        Assert.Empty(api.Posted);
    }

    /// <summary>Answers POST /api/tasks as a node would when it accepts everything, and keeps what it got.</summary>
    private sealed class RecordingApi : IDisposable
    {
        private readonly LoopbackApi _api;

        public RecordingApi() => _api = new LoopbackApi((_, _, body) =>
        {
            var specs = JsonDocument.Parse(body).RootElement.Clone();
            lock (Posted) { Posted.Add(specs); RawBodies.Add(body); }
            return (200, JsonSerializer.Serialize(specs.EnumerateArray().Select(s => new
            {
                taskId = s.GetProperty("taskId").GetString(), accepted = true, alreadyKnown = false, status = "submitted", errors = Array.Empty<string>(),
            })));
        });

        public string Address => _api.Address;
        public List<JsonElement> Posted { get; } = [];
        public List<string> RawBodies { get; } = [];

        public void Dispose() => _api.Dispose();
    }
}
