using System.Diagnostics;
using MegaFlow.Contracts;
using System.Text;
using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Datasets.Tests;

public sealed class DatasetReaderTests
{
    private const string Valid =
        """{"taskId":"t1","mode":"ephemeral","image":"sample-sh","actions":["echo hi"],"scoreCommand":"true"}""";

    private static string Task(string id, string extra = "") =>
        $$"""{"taskId":"{{id}}","mode":"ephemeral","image":"sample-sh","actions":["echo hi"],"scoreCommand":"true"{{extra}}}""";

    private static DatasetReadResult Read(DatasetOptions? options, params string[] lines) =>
        DatasetReader.Read(new StringReader(string.Join("\n", lines)), options);

    private static DatasetReadResult Read(params string[] lines) => Read(null, lines);

    private static string Only(DatasetReadResult result)
    {
        Assert.Single(result.Errors);
        return result.Errors[0].ToString();
    }

    [Theory]
    [InlineData("\"Train\"")]
    [InlineData("\"\"")]
    [InlineData("\"train eval\"")]
    public void A_malformed_quota_is_an_error_naming_quota(string quota)
    {
        var error = Only(Read(Task("q1", $",\"quota\":{quota}")));

        Assert.StartsWith("line 1: quota: ", error);
    }

    [Fact]
    public void A_valid_file_yields_every_task_with_every_field()
    {
        var result = Read(
            """{"taskId":"full","mode":"persistent","image":"img","pool":"p1","quota":"eval","actions":["a","b"],"scoreCommand":"sh test.sh","maxRounds":7,"setupTimeoutSeconds":30,"runTimeoutSeconds":90.5,"scoringTimeoutSeconds":15,"execTimeoutSeconds":5,"maxInfraRetries":0,"cpuLimit":0.5,"memoryLimitMb":256,"pidsLimit":64,"network":"bridge","metadata":{"k":"v"},"dataset":"ds"}""",
            Task("minimal"));

        Assert.False(result.HasErrors);
        Assert.Equal(2, result.Records);
        Assert.Equal(2, result.Specs.Count);
        var full = result.Specs[0];
        Assert.Equal("full", full.TaskId);
        Assert.Equal(ExecutionMode.Persistent, full.ExecutionMode);
        Assert.Equal("img", full.Image);
        Assert.Equal("p1", full.Pool);
        Assert.Equal("eval", full.Quota);
        Assert.Equal(["a", "b"], full.Actions!);
        Assert.Equal("sh test.sh", full.ScoreCommand);
        Assert.Equal(7, full.MaxRounds);
        Assert.Equal(30, full.SetupTimeoutSeconds);
        Assert.Equal(90.5, full.RunTimeoutSeconds);
        Assert.Equal(15, full.ScoringTimeoutSeconds);
        Assert.Equal(5, full.ExecTimeoutSeconds);
        Assert.Equal(0, full.MaxInfraRetries);
        Assert.Equal(0.5, full.CpuLimit);
        Assert.Equal(256, full.MemoryLimitMb);
        Assert.Equal(64, full.PidsLimit);
        Assert.Equal("bridge", full.Network);
        Assert.Equal("v", full.Metadata!["k"]);
        Assert.Equal("ds", full.Metadata!["dataset"]);

        // Omitted fields keep the TaskSpec defaults.
        var minimal = result.Specs[1];
        var defaults = new TaskSpec();
        Assert.Equal(defaults.MaxRounds, minimal.MaxRounds);
        Assert.Equal(defaults.RunTimeoutSeconds, minimal.RunTimeoutSeconds);
        Assert.Null(minimal.Metadata);
        Assert.Null(minimal.Quota);
    }

    [Fact]
    public void Blank_lines_and_comments_are_skipped_but_counted_in_line_numbers()
    {
        var result = Read("# a comment", "", "   ", "  # indented comment", Valid, "", "{\"taskId\":");

        Assert.Equal(2, result.Records);
        Assert.StartsWith("line 7: malformed JSON", Only(result));
    }

    [Fact]
    public void Malformed_json_is_reported_with_its_line()
    {
        var result = Read(Valid, "{\"taskId\": \"x\",,}", Task("t3"));
        Assert.StartsWith("line 2: malformed JSON at column ", Only(result));
        Assert.Empty(result.Specs);
    }

    [Theory]
    [InlineData("[1,2]", "line 1: expected a JSON object (got array)")]
    [InlineData("\"task\"", "line 1: expected a JSON object (got string \"task\")")]
    [InlineData("null", "line 1: expected a JSON object (got null)")]
    public void A_line_that_is_not_an_object_is_an_error(string line, string expected) =>
        Assert.Equal(expected, Only(Read(line)));

    [Theory]
    [InlineData("taskId")]
    [InlineData("mode")]
    [InlineData("image")]
    [InlineData("actions")]
    [InlineData("scoreCommand")]
    public void A_missing_required_field_is_named_once(string field)
    {
        var doc = System.Text.Json.Nodes.JsonNode.Parse(Valid)!.AsObject();
        doc.Remove(field);
        var result = Read(Valid.Replace("t1", "t0"), doc.ToJsonString());
        Assert.Equal($"line 2: {field}: missing required field", Only(result));
    }

    [Fact]
    public void An_unknown_field_is_named_with_a_suggestion_when_only_the_spelling_differs()
    {
        var result = Read(Task("a", ",\"priority\":3"), Task("b", ",\"score_command\":\"x\""));
        Assert.Equal(
            ["line 1: unknown field 'priority'", "line 2: unknown field 'score_command' (did you mean 'scoreCommand'?)"],
            result.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void A_field_given_twice_is_an_error() =>
        Assert.Equal("line 1: image: appears more than once", Only(Read(Task("a", ",\"image\":\"other\""))));

    [Theory]
    [InlineData(",\"maxRounds\":\"10\"", "maxRounds: must be an integer (got string \"10\")")]
    [InlineData(",\"maxRounds\":2.5", "maxRounds: must be an integer (got number 2.5)")]
    [InlineData(",\"maxInfraRetries\":true", "maxInfraRetries: must be an integer (got boolean true)")]
    [InlineData(",\"runTimeoutSeconds\":\"60\"", "runTimeoutSeconds: must be a number (got string \"60\")")]
    [InlineData(",\"pool\":5", "pool: must be a string (got number 5)")]
    [InlineData(",\"metadata\":[]", "metadata: must be an object with string values (got array)")]
    [InlineData(",\"metadata\":{\"n\":1}", "metadata.n: must be a string (got number 1)")]
    [InlineData(",\"replicas\":\"4\"", "replicas: must be an integer (got string \"4\")")]
    [InlineData(",\"dataset\":null", "dataset: must be a string (got null)")]
    public void Wrong_types_name_the_field_and_what_was_found(string extra, string expected) =>
        Assert.Equal($"line 1: {expected}", Only(Read(Task("a", extra))));

    [Fact]
    public void Wrong_types_in_required_fields_are_reported_once()
    {
        var result = Read("""{"taskId":7,"mode":"ephemeral","image":["x"],"actions":"echo","scoreCommand":"true"}""");
        Assert.Equal(
            ["line 1: taskId: must be a string (got number 7)",
             "line 1: image: must be a string (got array)",
             "line 1: actions: must be an array of strings (got string \"echo\")"],
            result.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void An_action_of_the_wrong_type_is_named_by_index() =>
        Assert.Equal("line 1: actions[1]: must be a string (got number 3)",
            Only(Read("""{"taskId":"a","mode":"ephemeral","image":"i","actions":["ok",3],"scoreCommand":"true"}""")));

    [Theory]
    [InlineData(0)]
    [InlineData(-2)]
    public void Replicas_below_one_are_an_error(int replicas) =>
        Assert.Equal($"line 1: replicas: must be at least 1 (got {replicas})", Only(Read(Task("a", $",\"replicas\":{replicas}"))));

    [Fact]
    public void Replicas_above_the_limit_are_an_error() =>
        Assert.Equal($"line 1: replicas: must be at most {Replicas.MaxReplicas} (got {Replicas.MaxReplicas + 1})",
            Only(Read(Task("a", $",\"replicas\":{Replicas.MaxReplicas + 1}"))));

    [Fact]
    public void Domain_validation_errors_carry_the_line_number()
    {
        var result = Read(
            Valid,
            """{"taskId":"t2","mode":"turbo","image":"i","actions":["echo"],"scoreCommand":"true"}""",
            """{"taskId":"has space","mode":"ephemeral","image":"i","actions":[""],"scoreCommand":"true","maxRounds":0,"execTimeoutSeconds":-1,"maxInfraRetries":-1}""");

        Assert.Equal(
            [
                "line 2: mode: unknown mode 'turbo' (expected ephemeral or persistent)",
                "line 3: taskId: must not contain whitespace, control characters, '/', '\\' or '%' (an id must be one URL path segment)",
                "line 3: actions[0]: is empty",
                "line 3: maxRounds: must be positive (got 0)",
                "line 3: execTimeoutSeconds: must be positive (got -1)",
                "line 3: maxInfraRetries: must not be negative (got -1)",
            ],
            result.Errors.Select(e => e.ToString()));
        Assert.Equal(2, result.InvalidRecords);
    }

    [Fact]
    public void A_spec_over_the_payload_limit_is_an_error_on_its_line()
    {
        var big = new string('x', TaskSpecValidator.MaxPayloadBytes + 1);
        var result = Read(Valid, Task("big", $",\"metadata\":{{\"problem\":\"{big}\"}}"));
        Assert.StartsWith("line 2: metadata: payload too large", Only(result));
    }

    [Fact]
    public void Duplicate_ids_name_both_lines()
    {
        var result = Read(Task("a"), Task("b"), "# comment", Task("a"), Task("b"), Task("a"));
        Assert.Equal(
            [
                "line 4: taskId: duplicate task id 'a' (first on line 1)",
                "line 5: taskId: duplicate task id 'b' (first on line 2)",
                "line 6: taskId: duplicate task id 'a' (first on line 1)",
            ],
            result.Errors.Select(e => e.ToString()));
        Assert.Empty(result.Specs);
    }

    [Fact]
    public void A_duplicate_of_an_invalid_line_is_still_reported()
    {
        var result = Read(Task("a", ",\"maxRounds\":0"), Task("a"));
        Assert.Contains("line 2: taskId: duplicate task id 'a' (first on line 1)", result.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void An_id_colliding_with_an_expanded_replica_id_is_a_duplicate()
    {
        var result = Read(Task("a", ",\"replicas\":3"), Task("a#r2"));
        Assert.Equal("line 2: taskId: duplicate task id 'a#r2' (first on line 1)", Only(result));
    }

    [Fact]
    public void Replicas_expand_into_a_group_with_numbered_ids()
    {
        var result = Read(Task("solo"), Task("g", ",\"replicas\":4,\"dataset\":\"ds\",\"metadata\":{\"k\":\"v\"}"));

        Assert.False(result.HasErrors);
        Assert.Equal(["solo", "g#r0", "g#r1", "g#r2", "g#r3"], result.Specs.Select(s => s.TaskId));
        var solo = result.Specs[0];
        Assert.Null(solo.Metadata);
        for (var k = 0; k < 4; k++)
        {
            var replica = result.Specs[1 + k];
            Assert.Equal("g", replica.Metadata![Replicas.GroupKey]);
            Assert.Equal(k.ToString(), replica.Metadata![Replicas.ReplicaKey]);
            Assert.Equal("ds", replica.Metadata!["dataset"]);
            Assert.Equal("v", replica.Metadata!["k"]);
            Assert.Equal(["echo hi"], replica.Actions!);
        }
    }

    [Fact]
    public void An_error_in_a_replicated_line_is_reported_once_not_per_replica()
    {
        var result = Read(Task("g", ",\"replicas\":16,\"maxRounds\":0"));
        Assert.Equal("line 1: maxRounds: must be positive (got 0)", Only(result));
        Assert.Equal(1, result.InvalidRecords);
    }

    [Fact]
    public void A_malformed_json_message_speaks_about_the_file_not_the_parser()
    {
        var message = Only(Read(Task("a")[..^1] + ",}"));
        Assert.StartsWith("line 1: malformed JSON at column ", message);
        Assert.DoesNotContain("reader options", message);
    }

    [Fact]
    public void Replicas_given_as_one_keep_the_id()
    {
        var result = Read(Task("a", ",\"replicas\":1"));
        Assert.Equal("a", Assert.Single(result.Specs).TaskId);
    }

    [Fact]
    public void Group_and_replica_metadata_are_reserved_when_replicas_are_asked_for()
    {
        var result = Read(Task("a", ",\"replicas\":2,\"metadata\":{\"group\":\"x\"}"), Task("b", ",\"metadata\":{\"group\":\"x\"}"));
        Assert.Equal("line 1: metadata.group: is set from replicas; remove it from metadata", Only(result));
    }

    [Fact]
    public void An_expanded_id_over_the_length_limit_is_an_error()
    {
        var id = new string('a', TaskSpecValidator.MaxTaskIdLength - 2);
        Assert.False(Read(Task(id)).HasErrors);
        Assert.StartsWith("line 1: taskId: is 201 characters", Only(Read(Task(id, ",\"replicas\":2"))));
    }

    [Fact]
    public void The_dataset_field_and_metadata_dataset_must_agree()
    {
        Assert.False(Read(Task("a", ",\"dataset\":\"d\",\"metadata\":{\"dataset\":\"d\"}")).HasErrors);
        Assert.Equal("line 1: dataset: 'd' differs from metadata.dataset 'e'; give it once",
            Only(Read(Task("a", ",\"dataset\":\"d\",\"metadata\":{\"dataset\":\"e\"}"))));
    }

    [Fact]
    public void The_default_dataset_applies_only_to_lines_naming_none()
    {
        var result = Read(new DatasetOptions { DefaultDataset = "default" },
            Task("a"), Task("b", ",\"dataset\":\"own\""), Task("c", ",\"metadata\":{\"dataset\":\"meta\"}"));
        Assert.Equal(["default", "own", "meta"], result.Specs.Select(s => s.Metadata!["dataset"]));
    }

    [Fact]
    public void Every_error_of_every_line_is_reported_in_one_pass()
    {
        var result = Read(
            Valid,
            "not json",
            Task("t3", ",\"bogus\":1"),
            """{"mode":"ephemeral","image":"i","actions":[],"scoreCommand":"true"}""",
            Task("t1"),
            Task("t6", ",\"replicas\":0"),
            """{"taskId":"t7","mode":"turbo","image":"i","actions":[],"scoreCommand":"true"}""");

        Assert.Equal([2, 3, 4, 5, 6, 7], result.Errors.Select(e => e.Line));
        Assert.Equal(6, result.ErrorCount);
        Assert.Equal(6, result.InvalidRecords);
        Assert.Equal(7, result.Records);
    }

    [Fact]
    public void A_file_with_errors_yields_no_specs_even_after_the_error()
    {
        var result = Read(Task("a"), Task("b", ",\"mode2\":1"), Task("c"));
        Assert.True(result.HasErrors);
        Assert.Empty(result.Specs);
    }

    [Fact]
    public void Skipping_invalid_lines_keeps_valid_ones_and_still_reports_errors()
    {
        var result = Read(new DatasetOptions { SkipInvalidLines = true },
            Task("a"), "{oops", Task("b", ",\"replicas\":2"), Task("a"), Task("c", ",\"maxRounds\":-1"), Task("d"));

        Assert.Equal(["a", "b#r0", "b#r1", "d"], result.Specs.Select(s => s.TaskId));
        Assert.Equal([2, 4, 5], result.Errors.Select(e => e.Line));
    }

    [Fact]
    public void Errors_beyond_the_maximum_are_counted_but_not_kept()
    {
        var lines = Enumerable.Range(0, 50).Select(_ => "x").ToArray();
        var result = Read(new DatasetOptions { MaxErrors = 10 }, lines);
        Assert.Equal(10, result.Errors.Count);
        Assert.Equal(50, result.ErrorCount);
    }

    [Fact]
    public void An_overlong_line_is_rejected_without_parsing()
    {
        var result = Read(new DatasetOptions { MaxLineLength = 100 }, Task("a", $",\"pool\":\"{new string('p', 100)}\""), Task("b"));
        Assert.StartsWith("line 1: line is ", Only(result));
    }

    [Fact]
    public void A_byte_order_mark_and_crlf_line_endings_are_accepted()
    {
        var result = DatasetReader.Read(new StringReader("\uFEFF" + Task("a") + "\r\n" + Task("b") + "\r\n"));
        Assert.False(result.HasErrors);
        Assert.Equal(2, result.Specs.Count);
    }

    [Fact]
    public void A_thousand_line_file_reads_in_one_call()
    {
        var path = Path.Combine(Path.GetTempPath(), $"megaflow-dataset-{Guid.NewGuid():N}.jsonl");
        try
        {
            using (var writer = new StreamWriter(path, false, new UTF8Encoding(false)))
                for (var i = 0; i < 1000; i++)
                    writer.WriteLine(Task($"task-{i:D4}", $",\"dataset\":\"big\",\"metadata\":{{\"problem_statement\":\"fix bug {i}\"}}"));

            var clock = Stopwatch.StartNew();
            var result = DatasetReader.Read(path);
            clock.Stop();

            Assert.False(result.HasErrors);
            Assert.Equal(1000, result.Specs.Count);
            Assert.Equal("task-0999", result.Specs[^1].TaskId);
            // Sanity bound only (the machine may be busy): parsing 1,000 lines takes milliseconds.
            Console.WriteLine($"1,000-line dataset read in {clock.Elapsed.TotalMilliseconds:F1} ms");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void The_file_is_read_line_by_line_not_loaded_whole()
    {
        // A reader that fails if anyone asks for the rest of the file at once.
        var text = string.Join("\n", Enumerable.Range(0, 200).Select(i => Task($"t{i}")));
        var result = DatasetReader.Read(new LineOnlyReader(text));
        Assert.Equal(200, result.Specs.Count);
    }

    [Fact]
    public void A_missing_file_throws_file_not_found() =>
        Assert.Throws<FileNotFoundException>(() => DatasetReader.Read(Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}.jsonl")));

    private sealed class LineOnlyReader(string text) : StringReader(text)
    {
        public override string ReadToEnd() => throw new InvalidOperationException("the reader must stream");
        public override Task<string> ReadToEndAsync() => throw new InvalidOperationException("the reader must stream");
    }
}
