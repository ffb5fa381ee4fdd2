using System.Text.Json;
using System.Text.Json.Serialization;
using MegaFlow.Contracts;
using MegaFlow.Contracts.Scheduling;

namespace MegaFlow.Protocol.Serialization;

/// <summary>
/// Reads the task-side lease of journals written before the three lease types became one
/// (<see cref="Lease"/>): <c>{"LeaseId","EnvironmentId","Node","ReusedEnvironment"}</c> inside task
/// events, task snapshots and attempt histories. Such a lease comes back with its task, pool, mode,
/// order and times empty — nothing a task reads from its lease — and is written in today's shape.
/// Today's shape is read and written as the record is.
/// </summary>
internal sealed class LegacyLeaseConverter : JsonConverter<Lease>
{
    private const string LegacyReusedName = "ReusedEnvironment";
    private JsonSerializerOptions? _plain;

    public override Lease? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (!IsLegacy(reader)) return JsonSerializer.Deserialize<Lease>(ref reader, Plain(options));
        using var doc = JsonDocument.ParseValue(ref reader);
        var root = doc.RootElement;
        return new Lease(
            TaskId: "", Attempt: 0,
            LeaseId: root.GetProperty(nameof(Lease.LeaseId)).GetString() ?? "",
            Pool: "", Mode: default(ExecutionMode),
            EnvironmentId: root.GetProperty(nameof(Lease.EnvironmentId)).GetString() ?? "",
            Node: root.GetProperty(nameof(Lease.Node)).GetString() ?? "",
            Starting: false, Reused: root.GetProperty(LegacyReusedName).GetBoolean(), Seq: 0,
            EnqueuedAt: default, AdmittedAt: default);
    }

    // Looks ahead on a copy of the reader (a struct, passed by value) at the object's own property
    // names: a lease of today goes straight to the record's deserializer, with no JsonDocument per
    // lease (every admission, lease and attempt a journal reader decodes carries one). A converter's
    // reader holds the whole value, so reading ahead cannot run out of input.
    private static bool IsLegacy(Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject) return false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals(LegacyReusedName)) return true;
            reader.Skip();
        }
        return false;
    }

    public override void Write(Utf8JsonWriter writer, Lease value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, value, Plain(options));

    // The same options without this converter, so the record's own (de)serialization does the work.
    private JsonSerializerOptions Plain(JsonSerializerOptions options)
    {
        if (_plain is not null) return _plain;
        var plain = new JsonSerializerOptions(options);
        plain.Converters.Remove(this);
        return _plain = plain;
    }
}
