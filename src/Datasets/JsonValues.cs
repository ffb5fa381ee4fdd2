using System.Globalization;
using System.Text.Json;

namespace MegaFlow.Datasets;

/// <summary>
/// Typed reads of JSON values that report a wrong type as an error naming the field and what was
/// found, instead of throwing.
/// </summary>
internal static class JsonValues
{
    public static string? String(JsonElement value, string field, LineErrors errors)
    {
        if (value.ValueKind == JsonValueKind.String)
            return value.GetString();
        errors.Add(field, $"must be a string (got {Describe(value)})");
        return null;
    }

    public static int? Integer(JsonElement value, string field, LineErrors errors)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n))
            return n;
        errors.Add(field, $"must be an integer (got {Describe(value)})");
        return null;
    }

    public static double? Number(JsonElement value, string field, LineErrors errors)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var d) && double.IsFinite(d))
            return d;
        errors.Add(field, $"must be a number (got {Describe(value)})");
        return null;
    }

    public static List<string>? StringArray(JsonElement value, string field, LineErrors errors)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            errors.Add(field, $"must be an array of strings (got {Describe(value)})");
            return null;
        }
        var list = new List<string>(value.GetArrayLength());
        var ok = true;
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.String)
                list.Add(item.GetString()!);
            else
            {
                errors.Add($"{field}[{i}]", $"must be a string (got {Describe(item)})");
                ok = false;
            }
            i++;
        }
        return ok ? list : null;
    }

    public static Dictionary<string, string>? StringMap(JsonElement value, string field, LineErrors errors)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add(field, $"must be an object with string values (got {Describe(value)})");
            return null;
        }
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        var ok = true;
        foreach (var p in value.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String)
            {
                errors.Add($"{field}.{p.Name}", $"must be a string (got {Describe(p.Value)})");
                ok = false;
            }
            else if (!map.TryAdd(p.Name, p.Value.GetString()!))
            {
                errors.Add($"{field}.{p.Name}", "appears more than once");
                ok = false;
            }
        }
        return ok ? map : null;
    }

    /// <summary>"number 2.5", "string \"x\"", "array", "null": enough to see the mistake.</summary>
    public static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number => $"number {value.GetRawText()}",
        JsonValueKind.String => $"string {Shorten(value.GetRawText())}",
        JsonValueKind.True or JsonValueKind.False => $"boolean {value.GetRawText()}",
        JsonValueKind.Null => "null",
        JsonValueKind.Array => "array",
        JsonValueKind.Object => "object",
        _ => value.ValueKind.ToString().ToLowerInvariant(),
    };

    /// <summary>The parser's message without its trailing position, plus a 1-based column.</summary>
    public static string Malformed(JsonException e)
    {
        var message = e.Message;
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut >= 0)
            message = message[..cut];
        // The parser's advice ("Change the reader options.") is about our code, not the user's file.
        message = message.Replace(" Change the reader options.", "", StringComparison.Ordinal).TrimEnd();
        return e.BytePositionInLine is { } pos
            ? $"malformed JSON at column {(pos + 1).ToString(CultureInfo.InvariantCulture)}: {message}"
            : $"malformed JSON: {message}";
    }

    private static string Shorten(string raw) => raw.Length <= 40 ? raw : raw[..37] + "...";
}
