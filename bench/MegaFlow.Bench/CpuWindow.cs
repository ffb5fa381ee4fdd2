using System.Diagnostics;

namespace MegaFlow.Bench;

/// <summary>A point in time with this process's CPU time (user + system) so far.</summary>
public readonly record struct CpuMark(long Timestamp, TimeSpan Cpu, DateTimeOffset At)
{
    public static CpuMark Now()
    {
        using var self = Process.GetCurrentProcess();
        return new CpuMark(Stopwatch.GetTimestamp(), self.TotalProcessorTime, DateTimeOffset.UtcNow);
    }

    /// <summary>The window from this mark to <paramref name="end"/>, with the working set at its end.</summary>
    public CpuWindow Until(CpuMark end) =>
        new(Stopwatch.GetElapsedTime(Timestamp, end.Timestamp), end.Cpu - Cpu, At, end.At, WorkingSetNow());

    public static long WorkingSetNow()
    {
        using var self = Process.GetCurrentProcess();
        return self.WorkingSet64;
    }
}

/// <summary>Process CPU burnt over a stretch of wall time.</summary>
public sealed record CpuWindow(TimeSpan Wall, TimeSpan Cpu, DateTimeOffset StartedAt, DateTimeOffset EndedAt, long WorkingSetAtEnd)
{
    /// <summary>CPU milliseconds per wall second; 1,000 is one core busy.</summary>
    public double MsPerSecond => Wall > TimeSpan.Zero ? Cpu.TotalMilliseconds / Wall.TotalSeconds : double.NaN;

    public double PercentOfCore => MsPerSecond / 10;
}
