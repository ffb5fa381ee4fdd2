using Docker.DotNet.Models;

namespace MegaFlow.Environments.Docker.Events;

/// <summary>
/// Where in the engine's event stream the watcher is. The engine's <c>since</c> replays every event
/// of the given moment, so on a reconnect the last events seen come again: what is not newer than
/// the last one handled (in nanoseconds) is skipped, or a replayed death of the provider's own
/// making would be reported as the loss of a healthy container.
/// </summary>
internal sealed class EventCursor
{
    private long _lastNano;

    /// <summary>True when the event is newer than every event handled so far (it becomes the last one).</summary>
    public bool Advance(Message m)
    {
        var at = m.TimeNano > 0 ? m.TimeNano : m.Time * 1_000_000_000;
        if (at <= _lastNano) return false;
        _lastNano = at;
        return true;
    }

    /// <summary>The engine's <c>since</c> ("seconds.nanoseconds") of the last event handled; null before the first.</summary>
    public string? Since => _lastNano > 0 ? $"{_lastNano / 1_000_000_000}.{_lastNano % 1_000_000_000:D9}" : null;
}
