using System.Text.Json;
using System.Text.Json.Serialization;
using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Contracts.Training;

/// <summary>An experiment spec read from JSON: the spec, or every problem with it, each naming its field.</summary>
public sealed record ExperimentSpecRead(ExperimentSpec? Spec, IReadOnlyList<ValidationError> Errors)
{
    public bool Ok => Errors.Count == 0 && Spec is not null;
}

/// <summary>
/// The one way an experiment spec is read from JSON (a spec file for <c>megaflow train</c> and
/// <c>megaflow experiments start</c>, the management API's body): camelCase fields, unknown or repeated
/// fields and numbers in strings are errors naming the field, then <see cref="ExperimentSpecValidator"/>.
/// </summary>
public static class ExperimentSpecJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
        AllowDuplicateProperties = false,
    };

    /// <summary>Binds and validates <paramref name="json"/>; a spec comes back only when it has no error.</summary>
    public static ExperimentSpecRead Parse(ReadOnlySpan<byte> json)
    {
        var bound = Bind(json);
        if (!bound.Ok) return bound;
        var errors = ExperimentSpecValidator.Validate(bound.Spec);
        return new(errors.Count == 0 ? bound.Spec : null, errors);
    }

    /// <summary>Binds <paramref name="json"/> without validating (a caller that overrides fields validates after).</summary>
    public static ExperimentSpecRead Bind(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize<ExperimentSpec>(json, Options) is { } spec
                ? new(spec, [])
                : new(null, [new("spec", "is null, not an experiment spec")]);
        }
        catch (JsonException e)
        {
            return new(null, [BindingError(e)]);
        }
    }

    /// <summary>Reads a spec file (binds and validates it); an unreadable file is one error on the field <c>file</c>.</summary>
    public static ExperimentSpecRead Read(string path) => ReadFile(path, validate: true);

    private static ExperimentSpecRead ReadFile(string path, bool validate)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new(null, [new("file", $"cannot read '{path}': {e.Message}")]);
        }
        return validate ? Parse(bytes) : Bind(bytes);
    }

    /// <summary>Binds a spec file without validating it.</summary>
    public static ExperimentSpecRead BindFile(string path) => ReadFile(path, validate: false);

    /// <summary>The serializer's complaint, on the field it was reading (or the unknown field it met).</summary>
    private static ValidationError BindingError(JsonException e)
    {
        var message = e.Message.Split(" Path:")[0];
        // "The JSON property 'x' could not be mapped to any .NET member…": the unknown field is the one to name.
        const string unmapped = "The JSON property '";
        if (message.StartsWith(unmapped, StringComparison.Ordinal) && message.IndexOf('\'', unmapped.Length) is var end and > 0)
        {
            var name = message[unmapped.Length..end];
            var path = Field(e.Path); // the serializer's path already ends with the unknown field
            return new(path.Length == 0 ? name : path, "unknown field (a typo? the spec's fields are camelCase, see ExperimentSpec)");
        }
        var field = Field(e.Path);
        return new(field.Length == 0 ? "spec" : field, message);
    }

    private static string Field(string? path) => (path ?? "").TrimStart('$').TrimStart('.');
}
