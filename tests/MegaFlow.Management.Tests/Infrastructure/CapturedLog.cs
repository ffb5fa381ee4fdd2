using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace MegaFlow.Management.Tests.Infrastructure;

/// <summary>One logged entry, as a console logger would print it: the message, then the exception (with its stack trace) if any.</summary>
public sealed record LogEntry(string Category, LogLevel Level, string Message, Exception? Exception)
{
    public string Text => Exception is null ? Message : $"{Message}\n{Exception}";
}

/// <summary>A logger provider that keeps every entry, for assertions on what a node logged.</summary>
public sealed class CapturedLog : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<LogEntry> Entries => _entries.ToList();

    public IEnumerable<string> Lines => Entries.Select(e => $"{e.Level} {e.Category}: {e.Text}");

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _entries);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<LogEntry> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue(new LogEntry(category, logLevel, formatter(state, exception), exception));
    }
}
