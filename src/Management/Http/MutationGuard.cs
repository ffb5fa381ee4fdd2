using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace MegaFlow.Management.Http;

/// <summary>
/// Guards every mutating route: a read-only node refuses them outright (403); otherwise the request
/// needs "Authorization: Bearer TOKEN" — none gives 401, a wrong one 403.
/// </summary>
/// <remarks>
/// Routes carry the guard as endpoint metadata (<see cref="MutationGuardExtensions.RequireToken{T}"/>) and a middleware
/// runs it right after routing, before the endpoint reads its body: an unauthenticated caller gets
/// its 401 without making the node parse what it sent (an endpoint filter would run after binding).
/// </remarks>
public sealed class MutationGuard(ManagementSettings settings, string token)
{
    private readonly byte[] _token = Encoding.UTF8.GetBytes(token);

    /// <summary>The refusal for this request, or null when it may go on.</summary>
    public IResult? Check(HttpContext http)
    {
        if (settings.ReadOnly)
            return ApiResults.Error(StatusCodes.Status403Forbidden, "read_only", "this node's management API is read-only (MEGAFLOW_MANAGEMENT_READONLY): it refuses every change");
        var header = http.Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header))
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
            return ApiResults.Error(StatusCodes.Status401Unauthorized, "unauthorized", "this route changes the cluster and needs 'Authorization: Bearer TOKEN' (the node's MEGAFLOW_MANAGEMENT_TOKEN)");
        }
        const string scheme = "Bearer ";
        var given = header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) ? header[scheme.Length..].Trim() : "";
        // Constant-time comparison: the answer's timing must not reveal how much of a guess was right.
        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), _token))
            return ApiResults.Error(StatusCodes.Status403Forbidden, "forbidden", "the bearer token is not this node's management token");
        return null;
    }

    /// <summary>The middleware: after UseRouting, before the endpoint.</summary>
    public static async Task CheckBeforeEndpoint(HttpContext http, RequestDelegate next)
    {
        if (http.GetEndpoint()?.Metadata.GetMetadata<MutationGuard>() is { } guard && guard.Check(http) is { } refusal)
        {
            await refusal.ExecuteAsync(http);
            return;
        }
        await next(http);
    }
}

public static class MutationGuardExtensions
{
    /// <summary>Marks a route as mutating: the guard's middleware checks it before the route runs.</summary>
    public static T RequireToken<T>(this T route, MutationGuard guard) where T : IEndpointConventionBuilder => route.WithMetadata(guard);
}
