namespace MegaFlow.ModelService.OpenAi;

/// <summary>A request the API refuses with 400, naming the parameter at fault.</summary>
public sealed class BadRequestException(string? param, string message, string code = "invalid_value") : Exception(message)
{
    public string? Param { get; } = param;

    public string Code { get; } = code;
}
