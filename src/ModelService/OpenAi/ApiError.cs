using System.Text.Json.Serialization;

namespace MegaFlow.ModelService.OpenAi;

/// <summary>OpenAI's error body: {"error": {"message", "type", "param", "code"}}; official clients read it.</summary>
public sealed record ApiErrorBody([property: JsonPropertyName("error")] ApiErrorDetail Error);

public sealed record ApiErrorDetail(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("code")] string? Code);

/// <summary>A request the API refuses with 400, naming the parameter at fault.</summary>
public sealed class BadRequestException(string? param, string message, string code = "invalid_value") : Exception(message)
{
    public string? Param { get; } = param;

    public string Code { get; } = code;
}
