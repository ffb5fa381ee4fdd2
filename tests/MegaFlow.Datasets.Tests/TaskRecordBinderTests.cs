using System.Text.Json;

namespace MegaFlow.Datasets.Tests;

/// <summary>One binder for dataset lines and API submissions: the same refusals, the API's old leniencies kept.</summary>
public sealed class TaskRecordBinderTests
{
    private const string Valid = """{"taskId":"t1","mode":"ephemeral","image":"img","actions":["echo hi"],"scoreCommand":"true"}""";

    private static TaskRecordBinding Bind(string json, TaskRecordSource source) =>
        TaskRecordBinder.Bind(JsonDocument.Parse(json).RootElement, source);

    private static IEnumerable<string> Errors(TaskRecordBinding b) => b.Errors.Select(e => e.ToString());

    [Theory]
    [InlineData(TaskRecordSource.DatasetFile)]
    [InlineData(TaskRecordSource.ManagementApi)]
    public void Unknown_and_repeated_fields_are_refused_from_either_source(TaskRecordSource source)
    {
        var b = Bind(Valid[..^1] + ""","priority":3,"mode":"persistent"}""", source);
        Assert.Empty(b.Specs);
        Assert.Equal([": unknown field 'priority'", "mode: appears more than once"], Errors(b));
    }

    [Fact]
    public void The_api_accepts_any_case_numbers_as_strings_and_null_as_not_given()
    {
        var b = Bind("""{"TaskId":"t1","MODE":"ephemeral","image":"img","actions":["a"],"scoreCommand":"true","maxRounds":"4","cpuLimit":"0.5","pool":null}""", TaskRecordSource.ManagementApi);
        Assert.False(b.HasErrors, string.Join("; ", Errors(b)));
        var spec = Assert.Single(b.Specs);
        Assert.Equal("t1", spec.TaskId);
        Assert.Equal(4, spec.MaxRounds);
        Assert.Equal(0.5, spec.CpuLimit);
        Assert.Null(spec.Pool);
    }

    [Fact]
    public void A_dataset_line_is_strict_about_case_strings_and_null()
    {
        var b = Bind("""{"taskId":"t1","mode":"ephemeral","image":"img","actions":["a"],"scoreCommand":"true","maxRounds":"4","pool":null,"Network":"none"}""", TaskRecordSource.DatasetFile);
        Assert.Equal(
            ["pool: must be a string (got null)", "maxRounds: must be an integer (got string \"4\")", ": unknown field 'Network' (did you mean 'network'?)"],
            Errors(b));
    }

    [Fact]
    public void Every_field_error_of_a_record_is_reported_not_only_the_first()
    {
        var b = Bind("""{"taskId":1,"mode":2,"image":"img","actions":"x","scoreCommand":"true","metadata":{"k":4},"bogus":0}""", TaskRecordSource.DatasetFile);
        Assert.Equal(
            ["taskId: must be a string (got number 1)", "mode: must be a string (got number 2)", "actions: must be an array of strings (got string \"x\")",
             "metadata.k: must be a string (got number 4)", ": unknown field 'bogus'"],
            Errors(b));
    }

    [Fact]
    public void A_number_too_large_for_a_double_is_a_wrong_type() =>
        Assert.Equal(["runTimeoutSeconds: must be a number (got number 1e400)"], Errors(Bind(Valid[..^1] + ""","runTimeoutSeconds":1e400}""", TaskRecordSource.DatasetFile)));

    [Fact]
    public void A_metadata_key_that_needs_quoting_is_named_as_written() =>
        Assert.Equal(["metadata.a b: must be a string (got boolean true)"], Errors(Bind(Valid[..^1] + ""","metadata":{"a b":true}}""", TaskRecordSource.DatasetFile)));

    [Fact]
    public void Replicas_expand_and_a_non_object_is_an_error()
    {
        Assert.Equal(["t1#r0", "t1#r1"], Bind(Valid[..^1] + ""","replicas":2}""", TaskRecordSource.ManagementApi).Specs.Select(s => s.TaskId));
        Assert.Equal([": expected a JSON object (got array)"], Errors(Bind("[1]", TaskRecordSource.ManagementApi)));
    }
}
