using System.Text.Json.Serialization;

namespace MegaFlow.Contracts.OpenAi;

/// <summary>OpenAI's error body: {"error": {"message", "type", "param", "code"}}; official clients read it.</summary>
public sealed record ApiErrorBody([property: JsonPropertyName("error")] ApiErrorDetail Error);

public sealed record ApiErrorDetail(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("code")] string? Code);
