using System.Diagnostics;

namespace MegaFlow.Chaos;

/// <summary>Runs a command line tool (pg_ctl, docker) and returns its exit code and output.</summary>
public static class Commands
{
    public static async Task<(int ExitCode, string Output)> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', psi.ArgumentList)} did not finish within {timeout.TotalSeconds:0} s");
        }
        return (p.ExitCode, (await stdout) + (await stderr));
    }

    /// <summary>Like <see cref="RunAsync"/>, but a non-zero exit is an error naming the command and its output.</summary>
    public static async Task<string> RunCheckedAsync(string file, IEnumerable<string> args, TimeSpan timeout)
    {
        var list = args.ToList();
        var (code, output) = await RunAsync(file, list, timeout);
        if (code != 0) throw new InvalidOperationException($"{file} {string.Join(' ', list)} exited {code}: {output.Trim()}");
        return output;
    }
}
