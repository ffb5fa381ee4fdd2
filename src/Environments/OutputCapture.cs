using System.Text;

namespace MegaFlow.Environments;

/// <summary>
/// Combined output of a command, capped: keeps the first <c>limit</c> bytes written (from any
/// stream, in arrival order) and counts every byte. Thread-safe so stdout and stderr can be
/// drained concurrently into one capture.
/// </summary>
internal sealed class OutputCapture
{
    private readonly int _limit;
    private readonly object _gate = new();
    private byte[] _kept;
    private int _keptCount;
    private long _total;

    public OutputCapture(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        _limit = limit;
        // Start small: most commands print little, and limits can be generous.
        _kept = new byte[Math.Min(limit, 4096)];
    }

    public long TotalBytes { get { lock (_gate) return _total; } }

    public bool Truncated { get { lock (_gate) return _total > _keptCount; } }

    public void Append(ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            _total += data.Length;
            var take = Math.Min(data.Length, _limit - _keptCount);
            if (take <= 0) return;
            if (_keptCount + take > _kept.Length)
            {
                var grown = new byte[Math.Min(_limit, Math.Max(_kept.Length * 2, _keptCount + take))];
                _kept.AsSpan(0, _keptCount).CopyTo(grown);
                _kept = grown;
            }
            data[..take].CopyTo(_kept.AsSpan(_keptCount));
            _keptCount += take;
        }
    }

    /// <summary>The kept bytes as UTF-8 (a character cut by the bound becomes U+FFFD).</summary>
    public string Text()
    {
        lock (_gate) return Encoding.UTF8.GetString(_kept, 0, _keptCount);
    }

    /// <summary>Caps <paramref name="text"/> at <paramref name="limit"/> UTF-8 bytes; returns (kept text, full byte count).</summary>
    public static (string Text, long Bytes) Cap(string text, int limit)
    {
        var capture = new OutputCapture(limit);
        capture.Append(Encoding.UTF8.GetBytes(text));
        return (capture.Text(), capture.TotalBytes);
    }
}
