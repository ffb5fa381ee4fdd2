using System.Text.Json;

namespace MegaFlow.Datasets.Tests;

public sealed class SchemaTests
{
    private static readonly string SchemaPath = Path.Combine(AppContext.BaseDirectory, "Files", "task.schema.json");

    private static JsonElement Schema()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(SchemaPath));
        return doc.RootElement.Clone();
    }

    [Fact]
    public void The_schema_is_a_closed_draft_2020_12_object_schema()
    {
        var schema = Schema();
        Assert.Equal("https://json-schema.org/draft/2020-12/schema", schema.GetProperty("$schema").GetString());
        Assert.Equal("object", schema.GetProperty("type").GetString());
        Assert.False(schema.GetProperty("additionalProperties").GetBoolean());
    }

    [Fact]
    public void The_schema_lists_exactly_the_fields_the_reader_accepts()
    {
        var names = Schema().GetProperty("properties").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal);
        Assert.Equal(DatasetReader.Fields.Order(StringComparer.Ordinal), names);
    }

    [Fact]
    public void The_schema_requires_exactly_the_fields_the_reader_requires()
    {
        var required = Schema().GetProperty("required").EnumerateArray().Select(e => e.GetString()!).Order(StringComparer.Ordinal);
        Assert.Equal(DatasetReader.RequiredFields.Order(StringComparer.Ordinal), required);
    }

    [Theory]
    [InlineData("taskId", "string")]
    [InlineData("actions", "array")]
    [InlineData("maxRounds", "integer")]
    [InlineData("maxInfraRetries", "integer")]
    [InlineData("replicas", "integer")]
    [InlineData("runTimeoutSeconds", "number")]
    [InlineData("metadata", "object")]
    [InlineData("dataset", "string")]
    public void The_schema_types_match_what_the_reader_checks(string field, string type)
    {
        Assert.Equal(type, Schema().GetProperty("properties").GetProperty(field).GetProperty("type").GetString());
        // The reader agrees: a value of another JSON type is an error naming the field.
        var wrong = type == "string" ? "{}" : "\"text\"";
        var line = $$"""{"taskId":"a","mode":"ephemeral","image":"i","actions":[],"scoreCommand":"true"}""";
        line = line.Contains($"\"{field}\":")
            ? System.Text.RegularExpressions.Regex.Replace(line, $"\"{field}\":(\"[^\"]*\"|\\[\\])", $"\"{field}\":{wrong}")
            : line[..^1] + $",\"{field}\":{wrong}}}";
        var result = DatasetReader.Read(new StringReader(line));
        Assert.Contains(result.Errors, e => e.Field == field && e.Message.StartsWith("must be", StringComparison.Ordinal));
    }

    [Fact]
    public void The_embedded_schema_is_the_repository_file() =>
        Assert.Equal(File.ReadAllText(SchemaPath), DatasetSchema.Json);
}
