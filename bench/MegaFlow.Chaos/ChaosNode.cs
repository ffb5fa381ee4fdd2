using System.Diagnostics;

namespace MegaFlow.Chaos;

/// <summary>
/// One `megaflow node` OS process, configured only by MEGAFLOW_* variables. Killed with SIGKILL
/// (no coordinated shutdown, no leaving) and started again with the same variables: the same
/// address, management port and data directory, as after a machine reboot.
/// </summary>
public sealed class ChaosNode : IDisposable
{
    private readonly string _dll;
    private readonly IReadOnlyDictionary<string, string> _env;
    private readonly object _gate = new();
    private Process? _process;
    private bool _killed;
    private int _startedIncarnation;

    public ChaosNode(int index, string dll, int port, int managementPort, string dataDir, IReadOnlyDictionary<string, string> env, NodeLog log)
    {
        Index = index;
        _dll = dll;
        Port = port;
        ManagementPort = managementPort;
        DataDir = dataDir;
        _env = env;
        Log = log;
    }

    private const string StartedLine = "Microsoft.Hosting.Lifetime[0] Application started.";

    public int Index { get; }
    public string Name => $"node{Index}";
    public int Port { get; }
    public int ManagementPort { get; }
    public string DataDir { get; }
    public NodeLog Log { get; }

    /// <summary>The node's cluster address, as the management API prints members.</summary>
    public string Address => $"akka.tcp://megaflow@127.0.0.1:{Port}";

    public int Starts { get; private set; }
    public int Kills { get; private set; }

    /// <summary>Exits the harness did not cause (a crash), with their exit codes.</summary>
    public List<int> UnexpectedExits { get; } = [];

    /// <summary>
    /// The current process has finished starting (the host printed "Application started": actors up,
    /// cluster joined). The harness only asks the API of started nodes: a starting node answers 503
    /// and logs the refusal as an error, so polling it earlier would inflate the error count.
    /// </summary>
    public bool Started
    {
        get { lock (_gate) return _process is { HasExited: false } && _startedIncarnation == Starts; }
    }

    public bool Running
    {
        get { lock (_gate) return _process is { HasExited: false }; }
    }

    /// <summary>True when the process ended without the harness killing it (and it was not yet restarted).</summary>
    public bool ExitedOnItsOwn
    {
        get { lock (_gate) return _process is { HasExited: true } && !_killed; }
    }

    public void Start()
    {
        lock (_gate)
        {
            if (_process is { HasExited: false }) throw new InvalidOperationException($"{Name} is already running");
            if (_process is { HasExited: true } old && !_killed) UnexpectedExits.Add(old.ExitCode);
            _process?.Dispose();
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add(_dll);
            psi.ArgumentList.Add("node");
            foreach (var (k, v) in _env) psi.Environment[k] = v;
            var p = new Process { StartInfo = psi };
            var incarnation = Starts + 1;
            p.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                Log.Append(e.Data);
                if (e.Data.Contains(StartedLine, StringComparison.Ordinal))
                    lock (_gate) _startedIncarnation = incarnation;
            };
            p.ErrorDataReceived += (_, e) => { if (e.Data is not null) Log.Append(e.Data); };
            Starts++;
            Log.Mark($"start {Starts} of {Name} ({Address}, data {DataDir})");
            p.Start();
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            _process = p;
            _killed = false;
        }
    }

    /// <summary>SIGKILL, then waits for the process to be gone.</summary>
    public void Kill()
    {
        Process? p;
        lock (_gate)
        {
            p = _process;
            if (p is null || p.HasExited) return;
            _killed = true;
            Kills++;
        }
        Log.Mark($"kill -9 {Name} (pid {p.Id})");
        p.Kill(); // SIGKILL on Unix: the process gets no chance to leave the cluster or flush anything
        // Bounded: a child that inherited the output pipe must not hold the harness up.
        p.WaitForExit(TimeSpan.FromSeconds(10));
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_process is { HasExited: false } p)
            {
                _killed = true;
                p.Kill();
                p.WaitForExit(TimeSpan.FromSeconds(10));
            }
            _process?.Dispose();
            _process = null;
        }
        Log.Dispose();
    }
}
