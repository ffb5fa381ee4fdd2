using System.Text;
using System.Text.RegularExpressions;

namespace MegaFlow.Chaos;

/// <summary>
/// One node's output across all its incarnations: written to a file (up to a cap, so a crash loop
/// cannot fill the disk) and counted in full: lines, bytes, error lines, and error lines per source
/// (the actor path Akka names, or the logger category), which is how often each actor failed.
/// </summary>
public sealed partial class NodeLog : IDisposable
{
    private readonly StreamWriter _file;
    private readonly long _capBytes;
    private readonly Dictionary<string, int> _errorsBySource = new(StringComparer.Ordinal);
    private long _written;
    private bool _closed;

    public NodeLog(string path, long capBytes)
    {
        Path = path;
        _capBytes = capBytes;
        _file = new StreamWriter(path, append: true, Encoding.UTF8) { AutoFlush = false };
    }

    public string Path { get; }
    public long Lines { get; private set; }
    public long Bytes { get; private set; }
    public long ErrorLines { get; private set; }

    /// <summary>True once the file stopped at its cap (the counts still cover everything).</summary>
    public bool Truncated { get; private set; }

    public void Append(string line)
    {
        lock (_file)
        {
            if (_closed) return; // output still draining from a process the harness has let go
            var bytes = Encoding.UTF8.GetByteCount(line) + 1;
            Lines++;
            Bytes += bytes;
            if (IsError(line))
            {
                ErrorLines++;
                var source = Source(line);
                _errorsBySource[source] = _errorsBySource.GetValueOrDefault(source) + 1;
            }
            if (_written + bytes <= _capBytes)
            {
                _file.WriteLine(line);
                _written += bytes;
            }
            else if (!Truncated)
            {
                Truncated = true;
                _file.WriteLine($"=== chaos harness: log capped at {_capBytes >> 20} MiB; further lines are counted, not written ===");
            }
        }
    }

    /// <summary>A harness line (start, kill): written, not counted as node output.</summary>
    public void Mark(string text)
    {
        lock (_file)
        {
            if (_closed) return;
            _file.WriteLine($"=== chaos harness {DateTimeOffset.UtcNow:HH:mm:ss.fff}Z: {text} ===");
            _file.Flush();
        }
    }

    public void Flush()
    {
        lock (_file)
            if (!_closed) _file.Flush();
    }

    /// <summary>The sources with the most error lines, most first.</summary>
    public IReadOnlyList<(string Source, int Lines)> TopErrorSources(int count)
    {
        lock (_file)
            return _errorsBySource.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(count).Select(kv => (kv.Key, kv.Value)).ToList();
    }

    /// <summary>
    /// The actor (an Akka path as log source) with the most error lines: a failing actor logs one per
    /// failure, so this bounds how often any one actor crashed and restarted.
    /// </summary>
    public (string Source, int Lines) WorstActor()
    {
        lock (_file)
            return _errorsBySource.Where(kv => kv.Key.StartsWith("akka", StringComparison.Ordinal))
                .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value)).FirstOrDefault();
    }

    /// <summary>
    /// Error lines: Microsoft.Extensions.Logging's single-line console format ("fail:" for Error,
    /// "crit:" for Critical; exceptions are on the same line), Akka's own "[ERROR]" lines printed
    /// after the logger factory is gone, and the runtime's unhandled-exception report.
    /// </summary>
    public static bool IsError(string line) =>
        line.StartsWith("fail:", StringComparison.Ordinal) || line.StartsWith("crit:", StringComparison.Ordinal)
        || line.StartsWith("[ERROR]", StringComparison.Ordinal) || line.StartsWith("Unhandled exception", StringComparison.Ordinal);

    /// <summary>The Akka log source (an actor path) of a line, else its logger category.</summary>
    public static string Source(string line)
    {
        var akka = AkkaSource().Match(line);
        if (akka.Success) return akka.Groups[1].Value;
        var category = Category().Match(line);
        return category.Success ? category.Groups[1].Value : "(other)";
    }

    // "fail: Akka.Actor.ActorSystem[0] [ERROR][11/30/2026 16:09:46.399Z][Thread 0019][akka.tcp://megaflow@127.0.0.1:4900/user/x] message"
    [GeneratedRegex(@"\[(?:ERROR|WARNING|INFO|DEBUG)\]\[[^\]]*\]\[[^\]]*\]\[([^\]]+)\]")]
    private static partial Regex AkkaSource();

    [GeneratedRegex(@"^\w+: ([^\[\s]+)\[")]
    private static partial Regex Category();

    public void Dispose()
    {
        lock (_file)
        {
            _closed = true;
            _file.Dispose();
        }
    }
}
