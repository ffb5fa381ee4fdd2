using System.Runtime.Serialization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Serialization;

namespace MegaFlow.Protocol.Serialization;

/// <summary>
/// Serializer for every MegaFlow protocol type: remote messages, persisted events and snapshots.
/// System.Text.Json payloads with short string manifests from <see cref="ProtocolManifests"/>:
/// the manifest, not the CLR type name, is the contract, so types can be renamed or moved safely,
/// and an unknown manifest (a newer node in a rolling upgrade) fails loudly with a SerializationException.
/// </summary>
public sealed class MegaFlowSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    /// <summary>Our serializer id; ids up to 100 are reserved by Akka.</summary>
    public const int Id = 411;

    internal static readonly JsonSerializerOptions Options = new()
    {
        Converters = { new JsonStringEnumConverter(), new LegacyLeaseConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public override int Identifier => Id;

    public override string Manifest(object o) =>
        ProtocolManifests.ByType.TryGetValue(o.GetType(), out var m)
            ? m
            : throw new SerializationException($"{o.GetType().FullName} has no MegaFlow manifest; add it to ProtocolManifests");

    public override byte[] ToBinary(object obj) => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), Options);

    public override object FromBinary(byte[] bytes, string manifest) => Decode(bytes, manifest);

    /// <summary>Decodes a payload without an ActorSystem (journal inspection tools and tests).</summary>
    public static object Decode(byte[] bytes, string manifest)
    {
        if (!ProtocolManifests.ByManifest.TryGetValue(manifest, out var type))
            throw new SerializationException($"unknown MegaFlow manifest '{manifest}' (written by a newer version?)");
        return JsonSerializer.Deserialize(bytes, type, Options)
               ?? throw new SerializationException($"manifest '{manifest}' decoded to null");
    }
}
