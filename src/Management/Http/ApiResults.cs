using MegaFlow.Contracts.Management;
using Microsoft.AspNetCore.Http;

namespace MegaFlow.Management.Http;

/// <summary>Error answers: always JSON <see cref="ApiError"/> with a message that names what is wrong.</summary>
public static class ApiResults
{
    public static IResult Error(int status, string code, string message) =>
        Results.Json(new ApiError(message, code), ManagementJson.Options, statusCode: status);

    public static IResult BadRequest(string message) => Error(StatusCodes.Status400BadRequest, "bad_request", message);

    public static IResult NotFound(string message) => Error(StatusCodes.Status404NotFound, "not_found", message);

    public static IResult Conflict(string message) => Error(StatusCodes.Status409Conflict, "conflict", message);

    public static IResult Ok<T>(T value) => Results.Json(value, ManagementJson.Options);
}
