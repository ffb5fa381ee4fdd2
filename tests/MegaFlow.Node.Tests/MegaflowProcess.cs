using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace MegaFlow.Node.Tests;

/// <summary>The `megaflow` executable (built next to the tests) as a child process with captured output.</summary>
public sealed class MegaflowProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private MegaflowProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Output { get { lock (_output) return _output.ToString(); } }

    public bool HasExited => _process.HasExited;

    public int Id => _process.Id;

    public static MegaflowProcess Start(IDictionary<string, string> env, params string[] args) => StartDll("megaflow.dll", env, args);

    /// <summary>Runs another program: a dll built next to the tests, or one at a full path.</summary>
    public static MegaflowProcess StartDll(string dllName, IDictionary<string, string> env, params string[] args)
    {
        var dll = Path.IsPathRooted(dllName) ? dllName : Path.Combine(AppContext.BaseDirectory, dllName);
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        // Every node (and `train`) serves the management API; a free port unless the test chose one, so nodes of
        // parallel test runs on one machine never fight over the default port.
        if (args.FirstOrDefault() is "node" or "train" && !env.ContainsKey("MEGAFLOW_MANAGEMENT_PORT"))
            psi.Environment["MEGAFLOW_MANAGEMENT_PORT"] = FreePort().ToString();
        return new MegaflowProcess(Process.Start(psi)!);
    }

    /// <summary>
    /// Runs `megaflow` inside a network namespace (<c>ip netns exec NS dotnet megaflow.dll ARGS</c>): a
    /// "host" with its own addresses. <c>ip netns exec</c> replaces itself with dotnet, so this process
    /// is the node's and a kill reaches it directly.
    /// </summary>
    public static MegaflowProcess StartInNamespace(string netns, IDictionary<string, string> env, params string[] args)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "netns", "exec", netns, "dotnet", Path.Combine(AppContext.BaseDirectory, "megaflow.dll") }.Concat(args))
            psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        return new MegaflowProcess(Process.Start(psi)!);
    }

    /// <summary>SIGKILL, as a crashed machine: no coordinated shutdown, no leaving.</summary>
    public void KillHard()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited) throw new InvalidOperationException($"megaflow exited ({_process.ExitCode}) before printing '{text}':\n{Output}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"'{text}' not printed within {timeout}:\n{Output}");
            await Task.Delay(100);
        }
    }

    /// <summary>Sends a POSIX signal (INT for Ctrl-C, TERM for a service stop).</summary>
    public void Signal(string signal) => Process.Start("kill", $"-{signal} {_process.Id}")!.WaitForExit();

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        _process.WaitForExit(); // flush redirected output
        return _process.ExitCode;
    }

    /// <summary>The repository root (where MegaFlow.Akka.sln is), for files like sample datasets.</summary>
    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MegaFlow.Akka.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }

    private static readonly HashSet<int> HandedOut = [];

    /// <summary>
    /// A port free now and never handed out before by this test process: the kernel may return a
    /// port again once its probe closed, and two nodes started on one port would each bind it (a
    /// node now refuses that, see ClusterPortGuard) while parallel tests allocate theirs.
    /// </summary>
    public static int FreePort()
    {
        while (true)
        {
            var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            var port = ((IPEndPoint)l.LocalEndpoint).Port;
            l.Stop();
            lock (HandedOut)
                if (HandedOut.Add(port)) return port;
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            // Gone (and its ports closed) before a restart on the same address starts.
            _process.WaitForExit(TimeSpan.FromSeconds(10));
        }
        _process.Dispose();
    }
}
