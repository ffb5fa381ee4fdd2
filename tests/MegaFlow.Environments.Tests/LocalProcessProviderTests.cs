using System.Diagnostics;
using MegaFlow.Contracts;
using MegaFlow.Contracts.Environments;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Environments.LocalProcess;

namespace MegaFlow.Environments.Tests;

/// <summary>The local provider against the real /bin/sh, in a throwaway root folder.</summary>
public sealed class LocalProcessProviderTests : IDisposable
{
    private static readonly EnvironmentSpec Spec = new("local", "default", ExecutionMode.Ephemeral);
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "megaflow-env-tests-" + Guid.NewGuid().ToString("N"));
    private readonly LocalProcessProvider _provider;

    public LocalProcessProviderTests() => _provider = new LocalProcessProvider(_root);

    public void Dispose()
    {
        try
        {
            if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string NewId() => $"env-{Guid.NewGuid():N}@127.0.0.1:4053";

    private Task<EnvironmentHandle> Provision(string? id = null) => _provider.ProvisionAsync(id ?? NewId(), Spec, CancellationToken.None);

    private Task<ExecOutcome> Exec(EnvironmentHandle h, string command, TimeSpan? timeout = null, int maxOutput = 64 * 1024, CancellationToken ct = default) =>
        _provider.ExecAsync(h, new ExecRequest(command, timeout ?? Generous, maxOutput), ct);

    [Fact]
    public async Task Provision_creates_a_scratch_folder_named_safely_under_the_root()
    {
        var id = $"env-{Guid.NewGuid():N}@127.0.0.1:4053";
        var h = await Provision(id);

        Assert.Equal("local", h.Provider);
        Assert.Equal(id, h.EnvironmentId);
        Assert.True(Path.IsPathFullyQualified(h.Reference));
        Assert.True(Directory.Exists(h.Reference));
        Assert.Equal(Path.GetFullPath(_root), Path.GetDirectoryName(h.Reference));
        Assert.Equal(id.Replace('@', '_').Replace(':', '_'), Path.GetFileName(h.Reference));
        Assert.Equal(HealthStatus.Healthy, await _provider.CheckHealthAsync(h, CancellationToken.None));
    }

    [Fact]
    public async Task An_environments_folder_can_be_removed_by_its_id_alone()
    {
        // A provision cut short by a crash leaves a folder but no persisted handle.
        var id = NewId();
        var h = await Provision(id);
        await Exec(h, "mkdir -p sub && echo x > sub/file");
        var other = await Provision();

        await _provider.RemoveResourcesOfAsync(id, CancellationToken.None);
        await _provider.RemoveResourcesOfAsync(id, CancellationToken.None); // nothing left: still fine

        Assert.False(Directory.Exists(h.Reference));
        Assert.True(Directory.Exists(other.Reference));
    }

    [Theory]
    [InlineData("env-ab@127.0.0.1:4053", "env-ab_127.0.0.1_4053")]
    [InlineData("../../etc", ".._.._etc")]
    [InlineData("..", "_..")]
    [InlineData(".", "_.")]
    [InlineData("a/b\\c d", "a_b_c_d")]
    public void Folder_names_never_leave_the_root(string id, string expected) =>
        Assert.Equal(expected, LocalProcessProvider.FolderName(id));

    [Fact]
    public async Task Exec_captures_stdout_stderr_and_exit_code()
    {
        var h = await Provision();

        var r = await Exec(h, "echo out; echo err >&2; exit 7");

        Assert.Equal(7, r.ExitCode);
        Assert.Contains("out", r.Output);
        Assert.Contains("err", r.Output);
        Assert.False(r.TimedOut);
        Assert.False(r.OutputTruncated);
        Assert.Equal(8, r.OutputBytes);
    }

    [Fact]
    public async Task Exec_runs_in_the_scratch_folder_with_the_environment_id_set()
    {
        var h = await Provision();

        var r = await Exec(h, "printf %s \"$MEGAFLOW_ENV_ID\" > id.txt && cat id.txt");

        Assert.Equal(0, r.ExitCode);
        Assert.Equal(h.EnvironmentId, r.Output);
        Assert.Equal(h.EnvironmentId, File.ReadAllText(Path.Combine(h.Reference, "id.txt")));
    }

    [Fact]
    public async Task Exec_closes_stdin_so_readers_see_end_of_file()
    {
        var h = await Provision();

        var r = await Exec(h, "cat; echo done", timeout: TimeSpan.FromSeconds(10));

        Assert.False(r.TimedOut);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("done\n", r.Output);
    }

    [Fact]
    public async Task Output_beyond_the_bound_is_dropped_but_counted_without_hanging()
    {
        var h = await Provision();
        var clock = Stopwatch.StartNew();

        var r = await Exec(h, "head -c 5000000 /dev/zero | tr '\\0' a; head -c 3000000 /dev/zero | tr '\\0' b >&2", maxOutput: 1000);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
        Assert.Equal(0, r.ExitCode);
        Assert.False(r.TimedOut);
        Assert.True(r.OutputTruncated);
        Assert.Equal(8_000_000, r.OutputBytes);
        Assert.Equal(new string('a', 1000), r.Output);
    }

    [Fact]
    public async Task Zero_output_bound_keeps_nothing_but_counts_everything()
    {
        var h = await Provision();

        var r = await Exec(h, "echo hello", maxOutput: 0);

        Assert.Equal("", r.Output);
        Assert.Equal(6, r.OutputBytes);
        Assert.True(r.OutputTruncated);
    }

    [Fact]
    public async Task Timeout_kills_the_command_and_its_children_and_reports_TimedOut()
    {
        var h = await Provision();
        var clock = Stopwatch.StartNew();

        var r = await Exec(h, "sh -c 'sleep 30 & echo $! > child.pid; sleep 30'", timeout: TimeSpan.FromSeconds(1));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"took {clock.Elapsed}");
        Assert.True(r.TimedOut);
        Assert.Equal(LocalProcessProvider.KilledExitCode, r.ExitCode);
        var pid = int.Parse(File.ReadAllText(Path.Combine(h.Reference, "child.pid")).Trim());
        await AssertProcessEnds(pid);
    }

    [Fact]
    public async Task Cancellation_kills_the_process_tree_and_throws()
    {
        var h = await Provision();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(800));
        var clock = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            Exec(h, "sh -c 'sleep 30 & echo $! > child.pid; sleep 30'", ct: cts.Token));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"took {clock.Elapsed}");
        var pid = int.Parse(File.ReadAllText(Path.Combine(h.Reference, "child.pid")).Trim());
        await AssertProcessEnds(pid);
    }

    [Fact]
    public async Task A_background_process_holding_the_pipes_does_not_hold_the_result()
    {
        var h = await Provision();
        var clock = Stopwatch.StartNew();

        var r = await Exec(h, "sleep 30 & echo $! > bg.pid; echo started");

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.False(r.TimedOut);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("started\n", r.Output);
        KillQuietly(int.Parse(File.ReadAllText(Path.Combine(h.Reference, "bg.pid")).Trim()));
    }

    [Fact]
    public async Task Reset_removes_everything_the_previous_task_wrote()
    {
        var h = await Provision();
        await Exec(h, "echo secret > answer.txt; mkdir -p deep/er && touch deep/er/x .hidden && chmod 500 deep/er && ln -s /etc etc-link");
        var outside = Path.Combine(_root, "outside.txt");
        File.WriteAllText(outside, "keep");
        await Exec(h, $"ln -s '{outside}' link-to-outside");

        await _provider.ResetAsync(h, CancellationToken.None);

        Assert.Empty(Directory.EnumerateFileSystemEntries(h.Reference));
        Assert.Equal("1\n", (await Exec(h, "test -e answer.txt; echo $?")).Output);
        Assert.Equal(HealthStatus.Healthy, await _provider.CheckHealthAsync(h, CancellationToken.None));
        // Links are removed, not followed.
        Assert.Equal("keep", File.ReadAllText(outside));
        Assert.True(Directory.Exists("/etc"));
    }

    [Fact]
    public async Task Destroy_removes_the_folder_and_health_turns_Missing()
    {
        var h = await Provision();
        await Exec(h, "mkdir sub && echo x > sub/f");

        await _provider.DestroyAsync(h, CancellationToken.None);

        Assert.False(Directory.Exists(h.Reference));
        Assert.Equal(HealthStatus.Missing, await _provider.CheckHealthAsync(h, CancellationToken.None));
        // Destroying again is fine.
        await _provider.DestroyAsync(h, CancellationToken.None);
    }

    [Fact]
    public async Task Exec_and_reset_after_the_folder_vanished_throw_EnvironmentUnavailable()
    {
        var h = await Provision();
        Directory.Delete(h.Reference, recursive: true);

        await Assert.ThrowsAsync<EnvironmentUnavailableException>(() => Exec(h, "true"));
        await Assert.ThrowsAsync<EnvironmentUnavailableException>(() => _provider.ResetAsync(h, CancellationToken.None));
        Assert.Equal(HealthStatus.Missing, await _provider.CheckHealthAsync(h, CancellationToken.None));
    }

    [Fact]
    public async Task Two_environments_do_not_see_each_others_files()
    {
        var a = await Provision();
        var b = await Provision();

        await Exec(a, "echo from-a > note.txt");
        var seenFromB = await Exec(b, "cat note.txt");

        Assert.NotEqual(0, seenFromB.ExitCode);
        Assert.DoesNotContain("from-a", seenFromB.Output);
        Assert.Equal("from-a\n", (await Exec(a, "cat note.txt")).Output);
    }

    [Fact]
    public async Task Provisioning_an_id_again_starts_from_an_empty_folder()
    {
        var id = NewId();
        var first = await Provision(id);
        await Exec(first, "echo stale > left-over");

        var second = await Provision(id);

        Assert.Equal(first.Reference, second.Reference);
        Assert.Empty(Directory.EnumerateFileSystemEntries(second.Reference));
    }

    [Fact]
    public async Task Handles_outside_the_root_or_of_another_provider_are_refused()
    {
        var h = await Provision();
        var outside = h with { Reference = Path.GetTempPath() };
        var foreign = h with { Provider = "docker" };

        await Assert.ThrowsAsync<ArgumentException>(() => _provider.DestroyAsync(outside, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => _provider.ResetAsync(h with { Reference = _root + "/../x" }, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => Exec(foreign, "true"));
        Assert.True(Directory.Exists(Path.GetTempPath()));
    }

    [Fact]
    public async Task Concurrent_execs_in_different_environments_all_complete()
    {
        var handles = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Provision()));

        var results = await Task.WhenAll(handles.Select((h, i) => Exec(h, $"echo {i}; exit {i}")));

        for (var i = 0; i < results.Length; i++)
        {
            Assert.Equal(i, results[i].ExitCode);
            Assert.Equal($"{i}\n", results[i].Output);
        }
    }

    private static async Task AssertProcessEnds(int pid)
    {
        var deadline = Stopwatch.StartNew();
        while (IsAlive(pid) && deadline.Elapsed < TimeSpan.FromSeconds(5))
            await Task.Delay(50);
        var alive = IsAlive(pid);
        if (alive) KillQuietly(pid);
        Assert.False(alive, $"process {pid} survived the kill");
    }

    /// <summary>Alive unless /proc has no entry or only a zombie (our container's init may not reap orphans).</summary>
    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state is not ("Z" or "X");
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static void KillQuietly(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            p.Kill();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
        }
    }
}
