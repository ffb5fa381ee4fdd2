using System.Collections.Concurrent;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace MegaFlow.Environments.Docker;

/// <summary>
/// Pulls images on demand: one pull in flight per image on this engine (concurrent provisions of
/// the same image wait for the same pull), failures remembered for a while so retries fail fast
/// with the same clear error, and pulls never hold a create permit (a slow or failing pull of one
/// image does not block creates of others).
/// </summary>
internal sealed class ImagePuller(DockerClient client, DockerProviderSettings settings, EngineRetry retry)
{
    private readonly ConcurrentDictionary<string, Lazy<Task>> _inFlight = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (DateTimeOffset Until, string Error)> _failed = new(StringComparer.Ordinal);
    private long _pulls;

    /// <summary>Pulls started (not coalesced waits): lets tests check coalescing.</summary>
    public long Pulls => Interlocked.Read(ref _pulls);

    public event Action? Pulled;

    public async Task<bool> ExistsAsync(string image, CancellationToken ct)
    {
        try
        {
            await client.Images.InspectImageAsync(image, ct).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (EngineRetry.IsNotFound(e))
        {
            return false;
        }
    }

    /// <summary>Makes the image present. Throws <see cref="EnvironmentUnavailableException"/> naming the image when it cannot be pulled.</summary>
    public async Task EnsureAsync(string image, CancellationToken ct)
    {
        if (await ExistsAsync(image, ct).ConfigureAwait(false)) return;
        if (_failed.TryGetValue(image, out var f) && f.Until > DateTimeOffset.UtcNow)
            throw new EnvironmentUnavailableException(f.Error);

        var pull = _inFlight.GetOrAdd(image, i => new Lazy<Task>(() => PullAsync(i)));
        try
        {
            // The pull runs on its own token: one waiter giving up must not abort it for the others.
            await pull.Value.WaitAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            if (pull.Value.IsCompleted) _inFlight.TryRemove(new KeyValuePair<string, Lazy<Task>>(image, pull));
        }
    }

    private async Task PullAsync(string image)
    {
        Interlocked.Increment(ref _pulls);
        using var timeout = new CancellationTokenSource(settings.PullTimeout);
        for (var attempt = 1; ; attempt++)
        {
            var (error, transient) = await PullOnceAsync(image, timeout.Token).ConfigureAwait(false);
            if (error is null)
            {
                _failed.TryRemove(image, out _);
                Pulled?.Invoke();
                return;
            }
            if (timeout.IsCancellationRequested)
                throw Fail(image, $"pull did not finish within {settings.PullTimeout}", remember: true);
            // A registry that is briefly unavailable (5xx, a timeout, a dropped connection) gets
            // another try with backoff; a refusal (no such image, access denied) is final at once.
            // The engine's retry policy decides, but not its RunAsync: its per-attempt timeout is for
            // quick API calls and would cut a long pull, and a pull's errors also arrive inside a
            // successful response's progress stream.
            if (!transient)
                throw Fail(image, error, remember: true);
            if (!retry.CanRetry(attempt))
                throw Fail(image, $"{error} (after {attempt} attempts)", remember: false);
            try
            {
                await Task.Delay(retry.BackoffAfter(attempt), timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                throw Fail(image, $"pull did not finish within {settings.PullTimeout}", remember: true);
            }
        }
    }

    /// <summary>One pull; returns the error (null when the image is now present) and whether it is worth retrying.</summary>
    private async Task<(string? Error, bool Transient)> PullOnceAsync(string image, CancellationToken ct)
    {
        string? streamError = null;
        var (name, tag) = SplitReference(image);
        try
        {
            // Errors can arrive in the progress stream of a 200 response, not only as an HTTP error.
            var progress = new SyncProgress<JSONMessage>(m =>
            {
                if (m.Error?.Message is { Length: > 0 } em) streamError = em;
                else if (!string.IsNullOrEmpty(m.ErrorMessage)) streamError = m.ErrorMessage;
            });
            await client.Images.CreateImageAsync(new ImagesCreateParameters { FromImage = name, Tag = tag }, Credentials(image), progress, ct)
                .ConfigureAwait(false);
            if (streamError is not null) return (streamError, EngineRetry.IsTransientMessage(streamError));
            return await ExistsAsync(image, ct).ConfigureAwait(false)
                ? (null, false)
                : ("the engine reported success but the image is not present", false);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            return (EngineRetry.Describe(e), EngineRetry.IsTransient(e));
        }
        catch (Exception e)
        {
            return (EngineRetry.Describe(e), false);
        }
    }

    /// <remarks>
    /// Refusals are remembered for <see cref="DockerProviderSettings.PullFailureTtl"/>, so the task's
    /// retries fail fast with the same message; an outage that outlasted the retries is not, so the
    /// next provision tries the registry again.
    /// </remarks>
    private EnvironmentUnavailableException Fail(string image, string why, bool remember)
    {
        var message = $"image '{image}' cannot be pulled: {why}";
        if (remember) _failed[image] = (DateTimeOffset.UtcNow + settings.PullFailureTtl, message);
        return new EnvironmentUnavailableException(message);
    }

    private AuthConfig? Credentials(string image)
    {
        var c = CredentialsFor(image, settings.Credentials);
        return c is null ? null : new AuthConfig { ServerAddress = c.ServerAddress, Username = c.Username, Password = c.Password };
    }

    /// <summary>
    /// The credentials of the image's own registry. Docker Hub's (server "", docker.io or
    /// index.docker.io) apply only to images that name no registry host: they must never be sent
    /// to another registry.
    /// </summary>
    internal static RegistryCredentials? CredentialsFor(string image, IReadOnlyList<RegistryCredentials> all)
    {
        var exact = all.FirstOrDefault(c => c.ServerAddress.Length > 0 && image.StartsWith(c.ServerAddress.TrimEnd('/') + "/", StringComparison.Ordinal));
        if (exact is not null) return exact;
        return NamesRegistryHost(image) ? null : all.FirstOrDefault(c => c.ServerAddress is "" or "docker.io" or "index.docker.io");
    }

    /// <summary>Docker's rule: the first path part is a registry host when it has a '.' or ':' or is "localhost".</summary>
    internal static bool NamesRegistryHost(string image)
    {
        var slash = image.IndexOf('/');
        if (slash < 0) return false;
        var first = image[..slash];
        return first.Contains('.') || first.Contains(':') || first == "localhost";
    }

    /// <summary>"repo/name:tag" → ("repo/name", "tag"); a registry port ("host:5000/x") is not a tag; digests stay whole.</summary>
    internal static (string Name, string Tag) SplitReference(string image)
    {
        if (image.Contains('@')) return (image, "");
        var colon = image.LastIndexOf(':');
        return colon > image.LastIndexOf('/') ? (image[..colon], image[(colon + 1)..]) : (image, "latest");
    }
}

/// <summary>An IProgress that runs the handler on the reporting thread, in order (Progress&lt;T&gt; posts to the thread pool).</summary>
internal sealed class SyncProgress<T>(Action<T> handler) : IProgress<T>
{
    public void Report(T value) => handler(value);
}
