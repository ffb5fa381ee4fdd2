using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace MegaFlow.Management.Http;

/// <summary>
/// Guards every mutating route: a read-only node refuses them outright (403); otherwise the request
/// needs "Authorization: Bearer TOKEN" — none gives 401, a wrong one 403.
/// </summary>
public sealed class MutationGuard(ManagementSettings settings, string token) : IEndpointFilter
{
    private readonly byte[] _token = Encoding.UTF8.GetBytes(token);

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        if (settings.ReadOnly)
            return ApiResults.Error(StatusCodes.Status403Forbidden, "read_only", "this node's management API is read-only (MEGAFLOW_MANAGEMENT_READONLY): it refuses every change");
        var header = context.HttpContext.Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header))
        {
            context.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
            return ApiResults.Error(StatusCodes.Status401Unauthorized, "unauthorized", "this route changes the cluster and needs 'Authorization: Bearer TOKEN' (the node's MEGAFLOW_MANAGEMENT_TOKEN)");
        }
        const string scheme = "Bearer ";
        var given = header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) ? header[scheme.Length..].Trim() : "";
        // Constant-time comparison: the answer's timing must not reveal how much of a guess was right.
        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), _token))
            return ApiResults.Error(StatusCodes.Status403Forbidden, "forbidden", "the bearer token is not this node's management token");
        return await next(context);
    }
}
