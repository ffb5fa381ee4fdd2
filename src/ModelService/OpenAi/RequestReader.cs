using System.Text.Json;

namespace MegaFlow.ModelService.OpenAi;

/// <summary>
/// Reads an OpenAI request body field by field, so every wrong type or value is a 400 naming its
/// parameter (binding to a record would report only "the JSON value could not be converted").
/// Unknown fields are ignored, as OpenAI-compatible servers do: clients send fields for features
/// this server does not have.
/// </summary>
internal sealed class RequestReader(JsonElement root)
{
    public static RequestReader Parse(byte[] body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            throw new BadRequestException(null, $"the request body is not valid JSON: {e.Message}", "invalid_json");
        }
        if (document.RootElement.ValueKind != JsonValueKind.Object)
            throw new BadRequestException(null, "the request body must be a JSON object", "invalid_json");
        return new RequestReader(document.RootElement);
    }

    public JsonElement Root => root;

    public JsonElement? Get(string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public string RequiredString(string name) =>
        Get(name) is { ValueKind: JsonValueKind.String } v ? v.GetString()! : throw new BadRequestException(name, $"{name} is required and must be a string", "missing_required_parameter");

    public int? Int(string name)
    {
        if (Get(name) is not { } v) return null;
        return v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : throw new BadRequestException(name, $"{name} must be an integer");
    }

    public long? Long(string name)
    {
        if (Get(name) is not { } v) return null;
        return v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var i) ? i : throw new BadRequestException(name, $"{name} must be an integer");
    }

    public double? Double(string name)
    {
        if (Get(name) is not { } v) return null;
        return v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw new BadRequestException(name, $"{name} must be a number");
    }

    public bool? Bool(string name)
    {
        if (Get(name) is not { } v) return null;
        return v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : throw new BadRequestException(name, $"{name} must be true or false");
    }

    /// <summary>A string or an array of strings (OpenAI's "stop").</summary>
    public IReadOnlyList<string> Strings(string name)
    {
        if (Get(name) is not { } v) return [];
        if (v.ValueKind == JsonValueKind.String) return [v.GetString()!];
        if (v.ValueKind == JsonValueKind.Array && v.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String))
            return v.EnumerateArray().Select(e => e.GetString()!).ToList();
        throw new BadRequestException(name, $"{name} must be a string or an array of strings");
    }
}
