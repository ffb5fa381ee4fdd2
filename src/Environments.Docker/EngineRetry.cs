using System.Net;
using Docker.DotNet;

namespace MegaFlow.Environments.Docker;

/// <summary>
/// The provider's one retry policy for engine calls: what is transient (timeouts, connection errors,
/// 5xx other than the engine's known refusals), how many attempts
/// (<see cref="DockerProviderSettings.ApiAttempts"/>) and what backoff (exponential from
/// <see cref="DockerProviderSettings.ApiBackoff"/>, with jitter). <see cref="RunAsync{T}"/> applies it
/// to a quick API call with a per-attempt timeout; what is still failing after the last attempt
/// becomes an <see cref="EnvironmentUnavailableException"/>: the task layer counts it as an
/// infrastructure failure and retries the task on a fresh environment. Long calls that cannot take
/// a per-attempt timeout (pulls) ask <see cref="CanRetry"/> and <see cref="BackoffAfter"/> instead.
/// </summary>
internal sealed class EngineRetry
{
    private readonly DockerProviderSettings _settings;
    private readonly Func<double> _jitter;

    /// <param name="settings">Attempts, backoff, per-attempt timeout and the endpoint named in errors.</param>
    /// <param name="jitter">A number in [0, 1) per backoff; random unless a test fixes it.</param>
    public EngineRetry(DockerProviderSettings settings, Func<double>? jitter = null)
    {
        _settings = settings;
        _jitter = jitter ?? Random.Shared.NextDouble;
    }

    /// <summary>Whether another attempt may follow the given (1-based) attempt.</summary>
    public bool CanRetry(int attempt) => attempt < _settings.ApiAttempts;

    /// <summary>The pause after the given (1-based) failed attempt: the backoff doubled per attempt, ±25% jitter.</summary>
    public TimeSpan BackoffAfter(int attempt) =>
        _settings.ApiBackoff * Math.Pow(2, attempt - 1) * (0.75 + _jitter() * 0.5);

    public async Task<T> RunAsync<T>(string what, Func<CancellationToken, Task<T>> call, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            attemptCts.CancelAfter(_settings.ApiTimeout);
            try
            {
                return await call(attemptCts.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (!ct.IsCancellationRequested && IsTransient(e))
            {
                if (!CanRetry(attempt))
                    throw new EnvironmentUnavailableException(
                        $"Docker engine at {_settings.Endpoint}: {what} failed after {attempt} attempts: {Describe(e)}", e);
                await Task.Delay(BackoffAfter(attempt), ct).ConfigureAwait(false);
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

    /// <summary>
    /// Worth another attempt, judged from an error's text alone: a registry's words inside a pull's
    /// progress stream, which arrive in a successful response. Only these kinds pass with time.
    /// </summary>
    public static bool IsTransientMessage(string error) =>
        TransientWords.Any(k => error.Contains(k, StringComparison.OrdinalIgnoreCase));

    private static readonly string[] TransientWords =
        ["timeout", "connection reset", "unexpected EOF", "502", "503", "504", "Service Unavailable", "Bad Gateway"];

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
