using System.Runtime.InteropServices;

namespace MegaFlow.Bench;

/// <summary>What the numbers were measured on; results without this are not comparable.</summary>
public sealed record MachineInfo(string Cpu, int Cores, string Ram, string Os, string Runtime)
{
    public static MachineInfo Read() => new(
        Cpu: ProcLine("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString(),
        Cores: Environment.ProcessorCount,
        Ram: ProcLine("/proc/meminfo", "MemTotal") is { } kb && long.TryParse(kb.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], out var k)
            ? $"{k / 1024.0 / 1024.0:F1} GiB"
            : "unknown",
        Os: RuntimeInformation.OSDescription,
        Runtime: RuntimeInformation.FrameworkDescription);

    /// <summary>1/5/15-minute load averages; other processes share this machine.</summary>
    public static string LoadAverage()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return string.Join(" ", parts.Take(3));
        }
        catch (IOException) { return "unknown"; }
        catch (UnauthorizedAccessException) { return "unknown"; }
    }

    public override string ToString() =>
        $"CPU: {Cpu} | cores: {Cores} | RAM: {Ram} | OS: {Os} | runtime: {Runtime}";

    private static string? ProcLine(string file, string key)
    {
        try
        {
            foreach (var line in File.ReadLines(file))
                if (line.StartsWith(key, StringComparison.Ordinal) && line.IndexOf(':') is var i and > 0)
                    return line[(i + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }
}
