using System.Net;
using Docker.DotNet;

namespace MegaFlow.Environments.Docker;

/// <summary>
/// Runs one engine API call with a per-attempt timeout, retrying transient failures (timeouts,
/// connection errors, 5xx) with exponential backoff and jitter. What is still failing after the
/// last attempt becomes an <see cref="EnvironmentUnavailableException"/>: the task layer counts it
/// as an infrastructure failure and retries the task on a fresh environment.
/// </summary>
internal sealed class EngineRetry(DockerProviderSettings settings)
{
    public async Task<T> RunAsync<T>(string what, Func<CancellationToken, Task<T>> call, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            attemptCts.CancelAfter(settings.ApiTimeout);
            try
            {
                return await call(attemptCts.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (!ct.IsCancellationRequested && IsTransient(e))
            {
                if (attempt >= settings.ApiAttempts)
                    throw new EnvironmentUnavailableException(
                        $"Docker engine at {settings.Endpoint}: {what} failed after {attempt} attempts: {Describe(e)}", e);
                var backoff = settings.ApiBackoff * Math.Pow(2, attempt - 1) * (0.75 + Random.Shared.NextDouble() * 0.5);
                await Task.Delay(backoff, ct).ConfigureAwait(false);
            }
        }
    }

    public Task RunAsync(string what, Func<CancellationToken, Task> call, CancellationToken ct) =>
        RunAsync<bool>(what, async t =>
        {
            await call(t).ConfigureAwait(false);
            return true;
        }, ct);

    /// <summary>Worth another attempt: the engine was slow, unreachable or failed internally.</summary>
    public static bool IsTransient(Exception e) => e switch
    {
        DockerApiException api => (int)api.StatusCode >= 500 && !IsPermanentServerError(api),
        OperationCanceledException => true, // our per-attempt timeout (the caller's token is checked by the filter)
        TimeoutException or HttpRequestException or IOException => true,
        _ => e.InnerException is not null && IsTransient(e.InnerException),
    };

    // The engine answers 500 for some errors that no retry fixes; failing at once keeps them clear and fast.
    private static bool IsPermanentServerError(DockerApiException e) =>
        e.ResponseBody is { } body &&
        (body.Contains("no such host", StringComparison.OrdinalIgnoreCase)
         || body.Contains("pull access denied", StringComparison.OrdinalIgnoreCase)
         || body.Contains("manifest unknown", StringComparison.OrdinalIgnoreCase)
         || body.Contains("invalid reference format", StringComparison.OrdinalIgnoreCase)
         || body.Contains("OCI runtime create failed", StringComparison.OrdinalIgnoreCase));

    public static bool IsNotFound(Exception e) => e is DockerContainerNotFoundException or DockerImageNotFoundException
        || e is DockerApiException { StatusCode: HttpStatusCode.NotFound };

    public static bool IsConflict(Exception e) => e is DockerApiException { StatusCode: HttpStatusCode.Conflict };

    /// <summary>The engine's own message when it gave one (its JSON body), else the exception's.</summary>
    public static string Describe(Exception e)
    {
        if (e is DockerApiException api && !string.IsNullOrWhiteSpace(api.ResponseBody))
        {
            var body = api.ResponseBody.Trim();
            const string key = "\"message\":\"";
            var i = body.IndexOf(key, StringComparison.Ordinal);
            if (i >= 0)
            {
                var end = body.IndexOf('"', i + key.Length);
                if (end > i) body = body[(i + key.Length)..end];
            }
            return $"{(int)api.StatusCode} {body}";
        }
        return e is OperationCanceledException ? "timed out" : e.Message;
    }
}
