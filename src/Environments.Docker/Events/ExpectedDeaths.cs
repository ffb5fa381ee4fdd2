using System.Collections.Concurrent;

namespace MegaFlow.Environments.Docker.Events;

/// <summary>
/// Containers the provider is about to stop itself (kill on timeout, reset, destroy), so their die
/// events are not reported as losses. Entries expire in case the event never arrives.
/// </summary>
internal sealed class ExpectedDeaths(TimeProvider? time = null)
{
    /// <summary>How long an expected death waits for its event.</summary>
    public static readonly TimeSpan Expiry = TimeSpan.FromMinutes(2);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    // Container id → until when its death is expected.
    private readonly ConcurrentDictionary<string, DateTimeOffset> _until = new(StringComparer.Ordinal);

    /// <summary>Called before the provider kills or removes the container.</summary>
    public void Expect(string containerId) => _until[containerId] = _time.GetUtcNow() + Expiry;

    /// <summary>True (once) when the container's death was expected and has not expired; drops expired entries.</summary>
    public bool Consume(string containerId)
    {
        var now = _time.GetUtcNow();
        foreach (var (id, until) in _until)
            if (until < now) _until.TryRemove(id, out _);
        return _until.TryRemove(containerId, out _);
    }
}
