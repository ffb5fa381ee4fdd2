using System.Text.Json;
using MegaFlow.Contracts.Management;
using System.Text.Json.Serialization;

namespace MegaFlow.Contracts.Management;

/// <summary>The API's JSON: camelCase properties, enums as lowercase strings ("completed", "timedout").</summary>
public static class ManagementJson
{
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions o)
    {
        o.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        // Messages quote names ('task-1'); escaping the quotes as \u0027 would only hurt readability.
        o.Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        o.Converters.Add(new JsonStringEnumConverter(new LowerCase()));
        return o;
    }

    private sealed class LowerCase : JsonNamingPolicy
    {
        public override string ConvertName(string name) => name.ToLowerInvariant();
    }
}
