using System.ComponentModel;
using System.Diagnostics;
using MegaFlow.Contracts.Environments;

namespace MegaFlow.Environments.LocalProcess;

/// <summary>
/// Runs commands with <c>/bin/sh -c</c> in a per-environment scratch folder under a root directory
/// (the node's data dir + "/envs"). The handle's reference is the folder's absolute path.
/// </summary>
/// <remarks>
/// <para><b>This provider is NOT isolated.</b> Commands run as the node's own user, directly on the
/// host, with the host's network, file system and resources; the scratch folder is only the working
/// directory, not a jail, and the spec's CPU, memory, pids and network limits are ignored. It exists
/// for the zero-setup default (trying MegaFlow on a laptop, running trusted commands); anything
/// running untrusted agent actions needs an isolating provider such as Docker.</para>
/// <para>Exec semantics: stdin is closed; stdout and stderr are drained concurrently into one bounded
/// capture; the environment variable <c>MEGAFLOW_ENV_ID</c> holds the environment id. On timeout or
/// cancellation the whole process tree is killed (SIGKILL). A timeout is a normal outcome
/// (<see cref="ExecOutcome.TimedOut"/> with exit code <see cref="KilledExitCode"/>); cancellation
/// throws <see cref="OperationCanceledException"/> after the kill. Processes that detach from the
/// tree (double fork, setsid) are beyond reach of the kill, and output they write after the shell
/// exits is not waited for beyond <see cref="DrainGrace"/>.</para>
/// </remarks>
public sealed class LocalProcessProvider : IEnvironmentProvider, IResourceRemoval
{
    /// <summary>Exit code reported for a command killed on timeout: 128 + SIGKILL, as a shell would report it.</summary>
    public const int KilledExitCode = 137;

    /// <summary>How long to keep reading output after the shell has exited (background processes may hold the pipes open).</summary>
    public static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(2);

    private readonly string _root;

    /// <param name="rootDirectory">Folder that holds one scratch folder per environment; created if missing.</param>
    public LocalProcessProvider(string rootDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(rootDirectory);
        _root = Path.GetFullPath(rootDirectory);
    }

    /// <inheritdoc />
    public string Name => "local";

    /// <summary>The root folder holding the scratch folders.</summary>
    public string RootDirectory => _root;

    /// <summary>
    /// A folder name for an environment id: every character outside [A-Za-z0-9._-] becomes '_', so
    /// "env-…@127.0.0.1:4053" becomes "env-…_127.0.0.1_4053" and no id can climb out of the root.
    /// </summary>
    public static string FolderName(string environmentId)
    {
        ArgumentException.ThrowIfNullOrEmpty(environmentId);
        var chars = environmentId.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            var c = chars[i];
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')) chars[i] = '_';
        }
        var name = new string(chars);
        // "." and ".." are the only all-safe-character names that mean something else.
        return name is "." or ".." ? "_" + name : name;
    }

    /// <inheritdoc />
    public Task<EnvironmentHandle> ProvisionAsync(string environmentId, EnvironmentSpec spec, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ct.ThrowIfCancellationRequested();
        var path = Path.Combine(_root, FolderName(environmentId));
        return Task.Run(() =>
        {
            try
            {
                // A folder left by an earlier provisioning of the same id must not leak into this one.
                if (Directory.Exists(path)) ClearDirectory(path);
                Directory.CreateDirectory(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new EnvironmentUnavailableException($"cannot create scratch folder {path}: {e.Message}", e);
            }
            return new EnvironmentHandle(environmentId, Name, path);
        }, ct);
    }

    /// <inheritdoc />
    public async Task<ExecOutcome> ExecAsync(EnvironmentHandle handle, ExecRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfNegative(request.MaxOutputBytes);
        if (request.Timeout <= TimeSpan.Zero && request.Timeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(request), request.Timeout, "timeout must be positive");
        ct.ThrowIfCancellationRequested();

        var dir = ScratchFolder(handle);
        if (!Directory.Exists(dir))
            throw new EnvironmentUnavailableException($"scratch folder {dir} of {handle.EnvironmentId} is gone");

        var psi = new ProcessStartInfo("/bin/sh")
        {
            WorkingDirectory = dir,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(request.Command);
        psi.Environment["MEGAFLOW_ENV_ID"] = handle.EnvironmentId;
        foreach (var (name, value) in request.Environment ?? new Dictionary<string, string>())
            psi.Environment[name] = value;

        using var process = new Process { StartInfo = psi };
        var startedAt = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        try
        {
            process.Start();
        }
        catch (Exception e) when (e is Win32Exception or IOException or InvalidOperationException)
        {
            // The usual cause is the working directory vanishing between the check and the start.
            var reason = Directory.Exists(dir) ? e.Message : "scratch folder is gone";
            throw new EnvironmentUnavailableException($"cannot start /bin/sh in {dir}: {reason}", e);
        }

        // Closed stdin: commands that read it see end-of-file instead of waiting forever.
        process.StandardInput.Close();

        var capture = new OutputCapture(request.MaxOutputBytes);
        // Both pipes drain concurrently, so a child blocked writing to one never deadlocks us.
        var stdout = DrainAsync(process.StandardOutput.BaseStream, capture);
        var stderr = DrainAsync(process.StandardError.BaseStream, capture);

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (request.Timeout != Timeout.InfiniteTimeSpan)
            deadline.CancelAfter(Min(request.Timeout, TimeSpan.FromDays(24)));

        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await KillTreeAsync(process).ConfigureAwait(false);
            if (ct.IsCancellationRequested)
            {
                await DrainWithGrace(stdout, stderr).ConfigureAwait(false);
                ct.ThrowIfCancellationRequested();
            }
            timedOut = true;
        }

        await DrainWithGrace(stdout, stderr).ConfigureAwait(false);
        clock.Stop();

        return new ExecOutcome(
            ExitCode: timedOut ? KilledExitCode : process.ExitCode,
            Output: capture.Text(),
            OutputBytes: capture.TotalBytes,
            OutputTruncated: capture.Truncated,
            TimedOut: timedOut,
            StartedAt: startedAt,
            Duration: clock.Elapsed);
    }

    /// <inheritdoc />
    public Task ResetAsync(EnvironmentHandle handle, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var dir = ScratchFolder(handle);
        return Task.Run(() =>
        {
            if (!Directory.Exists(dir))
                throw new EnvironmentUnavailableException($"scratch folder {dir} of {handle.EnvironmentId} is gone");
            try
            {
                ClearDirectory(dir);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new EnvironmentUnavailableException($"cannot reset scratch folder {dir}: {e.Message}", e);
            }
        }, ct);
    }

    /// <summary>Removes the environment's scratch folder, found by its id (no handle needed).</summary>
    public Task RemoveResourcesOfAsync(string environmentId, CancellationToken ct) =>
        DestroyAsync(new EnvironmentHandle(environmentId, Name, Path.Combine(_root, FolderName(environmentId))), ct);

    /// <inheritdoc />
    public Task DestroyAsync(EnvironmentHandle handle, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var dir = ScratchFolder(handle);
        return Task.Run(() =>
        {
            try
            {
                if (!Directory.Exists(dir)) return;
                ClearDirectory(dir);
                Directory.Delete(dir, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
                // Already gone: that is what we wanted.
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new EnvironmentUnavailableException($"cannot delete scratch folder {dir}: {e.Message}", e);
            }
        }, ct);
    }

    /// <inheritdoc />
    public Task<HealthStatus> CheckHealthAsync(EnvironmentHandle handle, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        // A handle that is not a folder under this provider's root (another node's, another
        // provider's) names nothing this node owns: for this node, that resource is missing.
        if (!TryScratchFolder(handle, out var folder)) return Task.FromResult(HealthStatus.Missing);
        return Task.FromResult(Directory.Exists(folder) ? HealthStatus.Healthy : HealthStatus.Missing);
    }

    /// <summary>
    /// The handle's folder, refused unless it is directly under our root: handles are persisted, and
    /// a corrupted or foreign one must never make Reset or Destroy delete an arbitrary folder.
    /// </summary>
    private string ScratchFolder(EnvironmentHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (handle.Provider != Name)
            throw new ArgumentException($"handle of {handle.EnvironmentId} belongs to provider '{handle.Provider}', not '{Name}'", nameof(handle));
        var path = Path.GetFullPath(handle.Reference);
        if (!string.Equals(Path.GetDirectoryName(path), _root, StringComparison.Ordinal) || Path.GetFileName(path) is "" or "." or "..")
            throw new ArgumentException($"handle reference '{handle.Reference}' is not a scratch folder under {_root}", nameof(handle));
        return path;
    }

    private bool TryScratchFolder(EnvironmentHandle handle, out string folder)
    {
        try
        {
            folder = ScratchFolder(handle);
            return true;
        }
        catch (ArgumentException)
        {
            folder = "";
            return false;
        }
    }

    private static async Task DrainAsync(Stream stream, OutputCapture capture)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer).ConfigureAwait(false)) > 0)
                capture.Append(buffer.AsSpan(0, n));
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The pipe was torn down (process killed, stream disposed): what we have is the output.
        }
    }

    /// <summary>Waits for both pipes to reach end-of-file, but not forever: a detached background
    /// process can hold them open long after the shell has gone.</summary>
    private static async Task DrainWithGrace(Task stdout, Task stderr)
    {
        try
        {
            await Task.WhenAll(stdout, stderr).WaitAsync(DrainGrace).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Give up on the rest; the readers end when the holder closes the pipe.
        }
    }

    private static async Task KillTreeAsync(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Exited between the deadline and the kill.
        }
        catch (Win32Exception)
        {
            // Part of the tree was already gone or not ours to signal; the shell itself is dead or dying.
        }
        try
        {
            // SIGKILL makes the exit prompt; the bound only keeps a stuck reap from holding the caller.
            await process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
    }

    /// <summary>Deletes everything inside <paramref name="dir"/>, keeping the folder itself. Symbolic
    /// links are removed, never followed; folders a command made read-only are made writable first.</summary>
    private static void ClearDirectory(string dir)
    {
        var root = new DirectoryInfo(dir);
        MakeWritable(root);
        foreach (var entry in root.EnumerateFileSystemInfos())
        {
            if (entry is DirectoryInfo sub && entry.LinkTarget is null)
            {
                MakeTreeWritable(sub);
                sub.Delete(recursive: true);
            }
            else
            {
                entry.Delete();
            }
        }
    }

    private static void MakeTreeWritable(DirectoryInfo dir)
    {
        MakeWritable(dir);
        foreach (var sub in dir.EnumerateDirectories())
            if (sub.LinkTarget is null) MakeTreeWritable(sub);
    }

    private static void MakeWritable(DirectoryInfo dir)
    {
        if (OperatingSystem.IsWindows()) return;
        const UnixFileMode owner = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        var mode = dir.UnixFileMode;
        if ((mode & owner) != owner) dir.UnixFileMode = mode | owner;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
