using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MegaFlow.Storage.S3;

namespace MegaFlow.Storage.Tests;

/// <summary>
/// A real S3-compatible server (the npm package s3rver, installed by scripts/s3.sh) on a free
/// loopback port, with a fresh data folder and one bucket. <see cref="Kill"/> ends it with SIGKILL.
/// </summary>
public sealed class S3Server : IAsyncDisposable
{
    public const string Bucket = "megaflow-test";
    // s3rver accepts exactly these credentials; the store reads them from variables named in its settings.
    public const string AccessKeyEnv = "MEGAFLOW_TEST_S3_KEY";
    public const string SecretKeyEnv = "MEGAFLOW_TEST_S3_SECRET";

    private readonly string _entry;
    private readonly string _dataDir;
    private Process _process = null!;

    private S3Server(string entry, string dataDir, int port)
    {
        _entry = entry;
        _dataDir = dataDir;
        Port = port;
    }

    public int Port { get; }

    public string Endpoint => $"http://127.0.0.1:{Port}";

    public static async Task<S3Server> StartAsync()
    {
        Environment.SetEnvironmentVariable(AccessKeyEnv, "S3RVER");
        Environment.SetEnvironmentVariable(SecretKeyEnv, "S3RVER");
        var entry = Environment.GetEnvironmentVariable("MEGAFLOW_S3RVER") is { Length: > 0 } e
            ? e
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache/megaflow/s3rver-3.7.1/node_modules/s3rver/bin/s3rver.js");
        if (!File.Exists(entry))
            throw new InvalidOperationException($"s3rver not found at {entry}: run scripts/s3.sh (scripts/test.sh does) or set MEGAFLOW_S3RVER");
        var server = new S3Server(entry, Directory.CreateTempSubdirectory("megaflow-s3-").FullName, FreePort());
        await server.LaunchAsync();
        return server;
    }

    /// <summary>Starts the server again after <see cref="Kill"/>: same port, same data folder, so what it stored is still there.</summary>
    public Task RestartAsync()
    {
        if (!_process.HasExited) throw new InvalidOperationException("the S3 server is still running");
        _process.Dispose();
        return LaunchAsync();
    }

    private async Task LaunchAsync()
    {
        var start = new ProcessStartInfo("node", [_entry, "-d", _dataDir, "-a", "127.0.0.1", "-p", Port.ToString(), "--silent", "--configure-bucket", Bucket])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(100);
            }
        }
    }

    public S3ArtifactSettings Settings(string prefix = "") => new()
    {
        Endpoint = Endpoint,
        Bucket = Bucket,
        Prefix = prefix,
        PathStyle = true,
        AccessKeyEnv = AccessKeyEnv,
        SecretKeyEnv = SecretKeyEnv,
        MaxAttempts = 3,
        RequestTimeout = TimeSpan.FromSeconds(10),
        OutageTolerance = TimeSpan.FromSeconds(20),
    };

    /// <summary>SIGKILL: the server vanishes mid-conversation, as a crashed storage host would.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
        return ValueTask.CompletedTask;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
