using System.Text;
using MegaFlow.Contracts;
using Docker.DotNet.Models;
using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Environments;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using MegaFlow.Environments;
using MegaFlow.Environments.Docker;

namespace MegaFlow.Docker.Tests;

/// <summary>The provider alone against the real engine: limits, timeouts, reset, copy, pulls, events.</summary>
public sealed class DockerProviderTests : IAsyncLifetime
{
    private readonly string _cluster = DockerEngine.NewClusterLabel();
    private DockerProvider _provider = null!;

    public async Task InitializeAsync()
    {
        await DockerEngine.RequireAsync();
        _provider = DockerEngine.Provider(_cluster);
    }

    public async Task DisposeAsync()
    {
        _provider.Dispose();
        await DockerEngine.RemoveAllAsync(_cluster);
    }

    private static string NewId() => $"env-{Guid.NewGuid():N}@127.0.0.1:1";

    private static EnvironmentSpec Spec(string image = DockerEngine.BaseImage, long memory = 256L << 20, int pids = 64, ExecutionMode mode = ExecutionMode.Ephemeral) =>
        new(image, "pool-t", mode, CpuLimit: 1.0, MemoryLimitBytes: memory, PidsLimit: pids, TaskId: "task-t");

    private static ExecRequest Cmd(string command, double timeoutSeconds = 20, int maxOutput = 64 * 1024) =>
        new(command, TimeSpan.FromSeconds(timeoutSeconds), maxOutput);

    [Fact]
    public async Task Container_is_created_with_the_specs_limits_labels_and_no_privileges()
    {
        var id = NewId();
        var handle = await _provider.ProvisionAsync(id, Spec(memory: 128L << 20, pids: 77), CancellationToken.None);

        var info = await _provider.Client.Containers.InspectContainerAsync(handle.Reference);
        Assert.True(info.State.Running);
        Assert.Equal(128L << 20, info.HostConfig.Memory);
        Assert.Equal(128L << 20, info.HostConfig.MemorySwap);
        Assert.Equal(77, info.HostConfig.PidsLimit);
        Assert.Equal(1_000_000_000, info.HostConfig.NanoCPUs);
        Assert.Equal("none", info.HostConfig.NetworkMode);
        Assert.False(info.HostConfig.Privileged);
        Assert.Contains("ALL", info.HostConfig.CapDrop);
        Assert.Contains("no-new-privileges", info.HostConfig.SecurityOpt);
        Assert.Equal(_cluster, info.Config.Labels[DockerProvider.ClusterLabel]);
        Assert.Equal(id, info.Config.Labels[DockerProvider.EnvironmentLabel]);
        Assert.Equal("task-t", info.Config.Labels[DockerProvider.TaskLabel]);

        // No network beyond loopback, and the capability bounding set really is reduced.
        var net = await _provider.ExecAsync(handle, Cmd("ls /sys/class/net"), CancellationToken.None);
        Assert.Equal("lo", net.Output.Trim());
        var caps = await _provider.ExecAsync(handle, Cmd("grep CapBnd /proc/self/status"), CancellationToken.None);
        Assert.DoesNotContain("0000003fffffffff", caps.Output); // the full set a privileged container would have
    }

    [Fact]
    public async Task Exec_streams_output_bounded_and_reports_the_exit_code()
    {
        var handle = await _provider.ProvisionAsync(NewId(), Spec(), CancellationToken.None);

        var ok = await _provider.ExecAsync(handle, Cmd("echo hello; echo oops >&2; exit 3"), CancellationToken.None);
        Assert.Equal(3, ok.ExitCode);
        Assert.Contains("hello", ok.Output);
        Assert.Contains("oops", ok.Output);
        Assert.False(ok.TimedOut);

        var big = await _provider.ExecAsync(handle, Cmd("head -c 1000000 /dev/zero | tr '\\0' x", maxOutput: 1000), CancellationToken.None);
        Assert.Equal(0, big.ExitCode);
        Assert.True(big.OutputTruncated);
        Assert.Equal(1_000_000, big.OutputBytes);
        Assert.Equal(1000, Encoding.UTF8.GetByteCount(big.Output));
    }

    [Fact]
    public async Task Exec_past_its_timeout_is_killed_reported_and_the_container_stays_usable()
    {
        var handle = await _provider.ProvisionAsync(NewId(), Spec(), CancellationToken.None);
        await _provider.ExecAsync(handle, Cmd("echo kept > /work/file"), CancellationToken.None);

        // A detached background sleeper too: the kill must reach processes outside the command's group.
        var started = DateTime.UtcNow;
        var slow = await _provider.ExecAsync(handle, Cmd("setsid sleep 300 & echo started; sleep 300", timeoutSeconds: 2), CancellationToken.None);
        var took = DateTime.UtcNow - started;

        Assert.True(slow.TimedOut);
        Assert.Equal(DockerProvider.KilledExitCode, slow.ExitCode);
        Assert.Contains("started", slow.Output);
        Assert.Contains("killed after its timeout", slow.Output);
        Assert.True(took < TimeSpan.FromSeconds(15), $"timeout took {took}");

        var after = await _provider.ExecAsync(handle, Cmd("cat /work/file; ps -o comm | grep -c sleep || true"), CancellationToken.None);
        Assert.Equal(0, after.ExitCode);
        Assert.Equal(["kept", "0"], after.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(HealthStatus.Healthy, await _provider.CheckHealthAsync(handle, CancellationToken.None));
    }

    [Fact]
    public async Task Memory_hog_is_stopped_by_the_memory_limit_and_classified()
    {
        var handle = await _provider.ProvisionAsync(NewId(), Spec(memory: 64L << 20), CancellationToken.None);

        // Holds 200 MB in a shell variable: far above the 64 MiB limit.
        var hog = await _provider.ExecAsync(handle, Cmd("a=$(head -c 200000000 /dev/zero | tr '\\0' x); echo survived ${#a}"), CancellationToken.None);

        Assert.NotEqual(0, hog.ExitCode);
        Assert.DoesNotContain("survived", hog.Output);
        Assert.Equal(ResourceLimit.Memory, hog.LimitExceeded);
        Assert.Contains("memory limit reached", hog.Output);
        var after = await _provider.ExecAsync(handle, Cmd("echo alive"), CancellationToken.None);
        Assert.Equal("alive", after.Output.Trim());
        Assert.Null(after.LimitExceeded);
    }

    [Fact]
    public async Task Fork_bomb_is_stopped_by_the_pids_limit_and_classified()
    {
        var handle = await _provider.ProvisionAsync(NewId(), Spec(pids: 50), CancellationToken.None);

        var bomb = await _provider.ExecAsync(handle, Cmd("b(){ b | b & }; b; sleep 2; echo parent-done", timeoutSeconds: 8), CancellationToken.None);

        Assert.Equal(ResourceLimit.Pids, bomb.LimitExceeded);
        Assert.Contains("process limit (pids) reached", bomb.Output);
        // The host is fine and so is the environment once the bomb is gone (killed with the timeout
        // or starving on its own); a command still runs in it.
        var probe = await _provider.ExecAsync(handle, Cmd("echo alive", timeoutSeconds: 10), CancellationToken.None);
        if (probe.ExitCode != 0)
        {
            // The bomb outlived its exec (it detached): the next timeout clears it.
            probe = await _provider.ExecAsync(handle, Cmd("echo alive", timeoutSeconds: 10), CancellationToken.None);
        }
        Assert.Contains("alive", probe.Output);
    }

    [Fact]
    public async Task Reset_returns_the_container_to_its_image_state_under_the_same_handle()
    {
        var handle = await _provider.ProvisionAsync(NewId(), Spec(DockerEngine.SampleImage, mode: ExecutionMode.Persistent), CancellationToken.None);
        await _provider.ExecAsync(handle, Cmd("echo secret > /work/left-behind; sed -i 's/-/+/' /repo/calc.sh; sleep 1000 &"), CancellationToken.None);

        await _provider.ResetAsync(handle, CancellationToken.None);

        var look = await _provider.ExecAsync(handle, Cmd("ls /work; grep -c 'a - b\\|\\$1 - \\$2' /repo/calc.sh; ps -o comm | grep -c sleep || true"), CancellationToken.None);
        Assert.Equal(["1", "0"], look.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(HealthStatus.Healthy, await _provider.CheckHealthAsync(handle, CancellationToken.None));
        var info = await _provider.Client.Containers.InspectContainerAsync(handle.Reference);
        Assert.Equal(DockerEngine.SampleImage, info.Config.Image);
    }

    [Fact]
    public async Task Files_are_copied_in_and_out()
    {
        var handle = await _provider.ProvisionAsync(NewId(), Spec(), CancellationToken.None);
        await _provider.CopyInAsync(handle, "/work", new Dictionary<string, byte[]>
        {
            ["patch.diff"] = Encoding.UTF8.GetBytes("--- a\n+++ b\n"),
            ["notes.txt"] = Encoding.UTF8.GetBytes("hello"),
        }, CancellationToken.None);

        var seen = await _provider.ExecAsync(handle, Cmd("cat /work/notes.txt; echo; echo out > /work/result.txt"), CancellationToken.None);
        Assert.StartsWith("hello", seen.Output);
        var files = await _provider.CopyOutAsync(handle, "/work", CancellationToken.None);
        Assert.Equal("out\n", Encoding.UTF8.GetString(files["work/result.txt"]));
        Assert.Equal("--- a\n+++ b\n", Encoding.UTF8.GetString(files["work/patch.diff"]));
        await Assert.ThrowsAsync<FileNotFoundException>(() => _provider.CopyOutAsync(handle, "/nope", CancellationToken.None));

        // Past the limit nothing is returned and the error names the limit, not a node out of memory.
        await _provider.ExecAsync(handle, Cmd("head -c 300000 /dev/zero > /work/big.bin"), CancellationToken.None);
        var tooBig = await Assert.ThrowsAsync<InvalidDataException>(() => _provider.CopyOutAsync(handle, "/work", CancellationToken.None, maxBytes: 100_000));
        Assert.Contains("100000 bytes", tooBig.Message);
        Assert.Equal(300_000, (await _provider.CopyOutAsync(handle, "/work/big.bin", CancellationToken.None, maxBytes: 400_000))["big.bin"].Length);
    }

    [Fact]
    public async Task Destroy_removes_the_container_and_succeeds_when_it_is_already_gone()
    {
        var handle = await _provider.ProvisionAsync(NewId(), Spec(), CancellationToken.None);
        await _provider.DestroyAsync(handle, CancellationToken.None);
        await _provider.DestroyAsync(handle, CancellationToken.None);

        Assert.Empty(await DockerEngine.ContainersAsync(_cluster));
        Assert.Equal(HealthStatus.Missing, await _provider.CheckHealthAsync(handle, CancellationToken.None));
        await Assert.ThrowsAsync<EnvironmentUnavailableException>(() => _provider.ExecAsync(handle, Cmd("true"), CancellationToken.None));
    }

    [Fact]
    public async Task Unpullable_image_fails_clearly_naming_the_image_and_coalesces_concurrent_pulls()
    {
        const string image = "registry.invalid/megaflow/does-not-exist:1";
        var attempts = Enumerable.Range(0, 5).Select(_ => Assert.ThrowsAsync<EnvironmentUnavailableException>(
            () => _provider.ProvisionAsync(NewId(), Spec(image), CancellationToken.None))).ToList();
        var errors = await Task.WhenAll(attempts);

        Assert.All(errors, e => Assert.Contains($"image '{image}' cannot be pulled", e.Message));
        Assert.Equal(1, _provider.PullsStarted); // five provisions, one pull
        // Within the failure TTL a retry fails at once, without another pull.
        var again = await Assert.ThrowsAsync<EnvironmentUnavailableException>(() => _provider.ProvisionAsync(NewId(), Spec(image), CancellationToken.None));
        Assert.Contains(image, again.Message);
        Assert.Equal(1, _provider.PullsStarted);
        Assert.Empty(await DockerEngine.ContainersAsync(_cluster));
    }

    [Fact]
    public async Task Container_killed_from_outside_is_reported_through_engine_events()
    {
        var lost = new TaskCompletionSource<ResourceLost>(TaskCreationOptions.RunContinuationsAsynchronously);
        _provider.ResourceLost += l => lost.TrySetResult(l);
        await _provider.EventsConnected.WaitAsync(TimeSpan.FromSeconds(10));
        var id = NewId();
        var handle = await _provider.ProvisionAsync(id, Spec(), CancellationToken.None);
        // The provider's own stops (timeout kill, reset, destroy) are not reported.
        await _provider.ExecAsync(handle, Cmd("sleep 30", timeoutSeconds: 1), CancellationToken.None);
        await _provider.ResetAsync(handle, CancellationToken.None);
        Assert.False(lost.Task.IsCompleted);

        await _provider.Client.Containers.KillContainerAsync(handle.Reference, new ContainerKillParameters { Signal = "KILL" });

        var report = await lost.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(id, report.EnvironmentId);
        Assert.Contains("died", report.Reason);
        Assert.Equal(HealthStatus.Missing, await _provider.CheckHealthAsync(handle, CancellationToken.None));
        var exec = await Assert.ThrowsAsync<EnvironmentUnavailableException>(() => _provider.ExecAsync(handle, Cmd("true"), CancellationToken.None));
        Assert.Contains(handle.Reference, exec.Message);
    }

    [Fact]
    public async Task Inventory_lists_only_this_nodes_containers_and_removes_by_environment()
    {
        using var other = DockerEngine.Provider(_cluster, node: "other-node");
        var mine = await _provider.ProvisionAsync(NewId(), Spec(), CancellationToken.None);
        var theirs = await other.ProvisionAsync(NewId(), Spec(), CancellationToken.None);

        var listed = await _provider.ListResourcesAsync(CancellationToken.None);
        Assert.Equal([mine.Reference], listed.Select(r => r.Reference));
        await _provider.RemoveResourcesOfAsync(mine.EnvironmentId, CancellationToken.None);
        Assert.Empty(await _provider.ListResourcesAsync(CancellationToken.None));
        Assert.Single(await other.ListResourcesAsync(CancellationToken.None));
    }

    [Fact]
    public async Task The_leftovers_of_a_lost_environment_of_another_node_on_a_shared_engine_are_removed_by_its_id()
    {
        // Its node incarnation died; another node marks it Lost and removes what is left, by environment id.
        using var other = DockerEngine.Provider(_cluster, node: "dead-node");
        var theirs = await other.ProvisionAsync(NewId(), Spec(), CancellationToken.None);

        await _provider.RemoveResourcesOfAsync(theirs.EnvironmentId, CancellationToken.None);

        Assert.Empty(await other.ListResourcesAsync(CancellationToken.None));
    }
}
