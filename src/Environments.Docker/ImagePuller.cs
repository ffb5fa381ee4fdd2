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
internal sealed class ImagePuller(DockerClient client, DockerProviderSettings settings)
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
            await client.Images.CreateImageAsync(new ImagesCreateParameters { FromImage = name, Tag = tag }, Credentials(image), progress, timeout.Token)
                .ConfigureAwait(false);
            if (streamError is null && await ExistsAsync(image, timeout.Token).ConfigureAwait(false))
            {
                _failed.TryRemove(image, out _);
                Pulled?.Invoke();
                return;
            }
            throw Fail(image, streamError ?? "the engine reported success but the image is not present");
        }
        catch (EnvironmentUnavailableException)
        {
            throw;
        }
        catch (Exception e)
        {
            throw Fail(image, timeout.IsCancellationRequested ? $"pull did not finish within {settings.PullTimeout}" : EngineRetry.Describe(e), e);
        }
    }

    private EnvironmentUnavailableException Fail(string image, string why, Exception? inner = null)
    {
        var message = $"image '{image}' cannot be pulled: {why}";
        _failed[image] = (DateTimeOffset.UtcNow + settings.PullFailureTtl, message);
        return new EnvironmentUnavailableException(message, inner);
    }

    private AuthConfig? Credentials(string image)
    {
        var c = settings.Credentials.FirstOrDefault(c => image.StartsWith(c.ServerAddress.TrimEnd('/') + "/", StringComparison.Ordinal))
                ?? settings.Credentials.FirstOrDefault(c => c.ServerAddress is "" or "docker.io" or "index.docker.io");
        return c is null ? null : new AuthConfig { ServerAddress = c.ServerAddress, Username = c.Username, Password = c.Password };
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
