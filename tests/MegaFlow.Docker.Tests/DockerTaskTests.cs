using System.Net;
using MegaFlow.Contracts;
using System.Net.Sockets;
using Akka.Actor;
using ContainerKillParameters = Docker.DotNet.Models.ContainerKillParameters;
using ContainerListResponse = Docker.DotNet.Models.ContainerListResponse;
using MegaFlow.Hosting;
using MegaFlow.Cluster.Tests.Infrastructure;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using MegaFlow.Environments.Docker;

namespace MegaFlow.Docker.Tests;

/// <summary>
/// Tasks end to end on a node whose environments are real containers: the "must hold" list.
/// Each test has its own cluster label, journal and node, and removes its containers afterwards.
/// </summary>
public sealed class DockerTaskTests : IAsyncLifetime
{
    private readonly string _cluster = DockerEngine.NewClusterLabel();
    private readonly List<DockerProvider> _providers = [];
    private readonly List<TestNode> _nodes = [];
    private TestStorage _storage = null!;

    public async Task InitializeAsync()
    {
        await DockerEngine.RequireAsync();
        _storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await _storage.EnsureSchemaAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var n in _nodes) await n.DisposeAsync();
        foreach (var p in _providers) p.Dispose();
        await DockerEngine.RemoveAllAsync(_cluster);
        await _storage.DisposeAsync();
    }

    private async Task<TestNode> StartNodeAsync(int port = 0, string extraHocon = "")
    {
        var settings = _storage.Node(extraHocon: extraHocon) with { Port = port };
        var provider = DockerEngine.Provider(_cluster, node: port == 0 ? "test-node" : $"127.0.0.1:{port}");
        _providers.Add(provider);
        var node = await DockerNode.StartAsync(settings, provider);
        _nodes.Add(node);
        return node;
    }

    /// <summary>The sample repository task: the agent fixes calc.sh, scoring runs its test.</summary>
    private static TaskSpec Fix(string id, string mode = "ephemeral", IReadOnlyList<string>? before = null, string image = DockerEngine.SampleImage) =>
        Specs.Simple(id, mode, "pool-repo", [.. before ?? [], "sed -i 's/- \\$2/+ $2/' /repo/calc.sh"], "sh /repo/test.sh") with
        {
            Image = image,
            Pool = "pool-repo",
        };

    private Task<IList<ContainerListResponse>> Containers() => DockerEngine.ContainersAsync(_cluster);

    private async Task NoContainersLeftAsync(TimeSpan within) =>
        await TestCluster.Eventually(async () => (await Containers()).Count == 0, within, "every container of the test removed");

    [Fact]
    public async Task A_tasks_limits_and_network_from_its_spec_reach_its_container()
    {
        var node = await StartNodeAsync();
        var limited = Fix("limited", before: ["sleep 4"]) with { CpuLimit = 0.5, MemoryLimitMb = 96, PidsLimit = 48, Network = "bridge" };
        var plain = Fix("plain", before: ["sleep 4"]);
        await TestCluster.SubmitAllAsync(node.Refs.Tasks, [limited, plain]);

        // Inspect both containers while their first command runs.
        var seen = new Dictionary<string, global::Docker.DotNet.Models.ContainerInspectResponse>();
        using var client = DockerEngine.Client();
        await TestCluster.Eventually(async () =>
        {
            foreach (var c in await Containers())
                if (c.Labels.TryGetValue(DockerProvider.TaskLabel, out var task) && !seen.ContainsKey(task))
                    seen[task] = await client.Containers.InspectContainerAsync(c.ID);
            return seen.ContainsKey("limited") && seen.ContainsKey("plain");
        }, TimeSpan.FromSeconds(60), "both tasks' containers");

        var l = seen["limited"].HostConfig;
        Assert.Equal(500_000_000L, l.NanoCPUs);
        Assert.Equal(96L * 1024 * 1024, l.Memory);
        Assert.Equal(48L, l.PidsLimit);
        Assert.Equal("bridge", l.NetworkMode);
        var p = seen["plain"].HostConfig;
        Assert.Equal("none", p.NetworkMode);
        Assert.Equal(1024L * 1024 * 1024, p.Memory);

        var states = await TestCluster.WaitForTerminalAsync(node.Refs.Tasks, ["limited", "plain"], TimeSpan.FromSeconds(120));
        Assert.All(states, s => Assert.Equal(TaskStatus.Completed, s.Status));
    }

    [Fact]
    public async Task Ephemeral_twenty_tasks_each_run_in_their_own_container_and_all_are_removed_afterwards()
    {
        var node = await StartNodeAsync();
        var specs = Enumerable.Range(0, 20).Select(i => Fix($"eph-{i:D2}", before: ["cat /etc/hostname"])).ToList();

        await TestCluster.SubmitAllAsync(node.Refs.Tasks, specs);
        var states = await TestCluster.WaitForTerminalAsync(node.Refs.Tasks, specs.Select(s => s.TaskId!).ToList(), TimeSpan.FromMinutes(4));

        Assert.All(states, s => Assert.Equal(TaskStatus.Completed, s.Status));
        Assert.All(states, s => Assert.True(s.Score!.Passed, s.Score.Output));
        // The hostname is the container's id: twenty different containers.
        Assert.Equal(20, states.Select(s => s.Steps[0].Output.Trim()).Distinct().Count());
        await NoContainersLeftAsync(TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task Persistent_twenty_tasks_share_a_pool_of_three_and_nothing_one_writes_is_visible_to_the_next()
    {
        var node = await StartNodeAsync(extraHocon: "megaflow.scheduler.max-pool-size = 3");
        var probe = "if [ -e /work/marker ] || grep -q '[$]1 + [$]2' /repo/calc.sh; then echo LEAKED; else echo clean; fi; echo $MEGAFLOW_ENV_ID > /work/marker";
        var specs = Enumerable.Range(0, 20).Select(i => Fix($"per-{i:D2}", "persistent", before: [probe])).ToList();

        await TestCluster.SubmitAllAsync(node.Refs.Tasks, specs);
        var states = await TestCluster.WaitForTerminalAsync(node.Refs.Tasks, specs.Select(s => s.TaskId!).ToList(), TimeSpan.FromMinutes(4));

        Assert.All(states, s => Assert.Equal(TaskStatus.Completed, s.Status));
        Assert.All(states, s => Assert.Equal("clean", s.Steps[0].Output.Trim()));
        var environments = states.Select(s => s.Lease!.EnvironmentId).Distinct().ToList();
        Assert.InRange(environments.Count, 1, 3);
        Assert.Contains(states, s => s.Lease!.Reused);
        // What remains is the warm pool: at most three running containers, each a pool environment.
        await TestCluster.Eventually(async () => (await Containers()).All(c => c.State == "running"), TimeSpan.FromSeconds(30), "pool containers running");
        var left = await Containers();
        Assert.InRange(left.Count, 1, 3);
        Assert.All(left, c => Assert.Contains(c.Labels[DockerProvider.EnvironmentLabel], environments));
    }

    [Fact]
    public async Task Container_killed_mid_task_fails_the_attempt_as_infrastructure_and_a_fresh_container_completes_it()
    {
        var node = await StartNodeAsync();
        var spec = Fix("killed", before: ["echo first", "sleep 6"]);
        await TestCluster.SubmitAllAsync(node.Refs.Tasks, [spec]);

        TaskState running = null!;
        await TestCluster.Eventually(async () =>
        {
            running = await node.Refs.Tasks.Ask<TaskState>(new TaskProtocol.GetTaskState("killed"), TimeSpan.FromSeconds(5));
            return running is { Status: TaskStatus.Running, Steps.Count: >= 1 };
        }, TimeSpan.FromSeconds(60), "first step recorded");
        var firstEnvironment = running.Lease!.EnvironmentId;
        using (var client = DockerEngine.Client())
            await client.Containers.KillContainerAsync(DockerProvider.ContainerName(firstEnvironment), new ContainerKillParameters { Signal = "KILL" });

        var final = Assert.Single(await TestCluster.WaitForTerminalAsync(node.Refs.Tasks, ["killed"], TimeSpan.FromMinutes(2)));

        Assert.Equal(TaskStatus.Completed, final.Status);
        Assert.True(final.Score!.Passed);
        Assert.Equal(2, final.Attempt);
        Assert.Equal(2, final.History.Count);
        Assert.Equal("infrastructure-failure", final.History[0].Outcome);
        Assert.Equal(firstEnvironment, final.History[0].Lease!.EnvironmentId);
        Assert.Contains(DockerProvider.ContainerName(firstEnvironment), final.History[0].Reason);
        Assert.Equal("completed", final.History[1].Outcome);
        Assert.NotEqual(firstEnvironment, final.Lease!.EnvironmentId);
        await NoContainersLeftAsync(TimeSpan.FromSeconds(60)); // the killed one too
    }

    [Fact]
    public async Task Unpullable_image_fails_its_task_with_a_clear_error_without_blocking_the_others()
    {
        var node = await StartNodeAsync();
        const string missing = "registry.invalid/megaflow/no-such-image:1";
        var bad = Fix("bad-image", image: missing) with { MaxInfraRetries = 2 };
        var good = Enumerable.Range(0, 6).Select(i => Fix($"good-{i}")).ToList();

        await TestCluster.SubmitAllAsync(node.Refs.Tasks, [bad, .. good]);
        var states = await TestCluster.WaitForTerminalAsync(node.Refs.Tasks, [bad.TaskId!, .. good.Select(g => g.TaskId!)], TimeSpan.FromMinutes(3));

        var failed = states[0];
        Assert.Equal(TaskStatus.Failed, failed.Status);
        Assert.Equal(FailureKind.Infrastructure, failed.FailureKind);
        Assert.Contains($"image '{missing}' cannot be pulled", failed.FailureReason);
        Assert.Equal(3, failed.History.Count); // 1 + MaxInfraRetries, each failing at once (remembered pull failure)
        Assert.All(states.Skip(1), s => Assert.Equal(TaskStatus.Completed, s.Status));
        await NoContainersLeftAsync(TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task Node_killed_and_started_again_removes_every_container_it_left_behind()
    {
        var port = FreePort();
        var node = await StartNodeAsync(port);
        var specs = Enumerable.Range(0, 4).Select(i => Fix($"crash-{i}", before: ["sleep 8"])).ToList();
        await TestCluster.SubmitAllAsync(node.Refs.Tasks, specs);
        await TestCluster.Eventually(async () => (await Containers()).Count(c => c.State == "running") == 4, TimeSpan.FromSeconds(60), "four task containers running");
        // And a container no environment ever owned (as if its journal entries were lost).
        var stray = await _providers[0].ProvisionAsync($"env-{Guid.NewGuid():N}@127.0.0.1:{port}", new Contracts.Environments.EnvironmentSpec(DockerEngine.BaseImage, "stray", ExecutionMode.Ephemeral), CancellationToken.None);

        await node.Crash();
        _providers[0].Dispose();
        Assert.Equal(5, (await Containers()).Count); // a crash removes nothing

        var restarted = await StartNodeAsync(port);
        var states = await TestCluster.WaitForTerminalAsync(restarted.Refs.Tasks, specs.Select(s => s.TaskId!).ToList(), TimeSpan.FromMinutes(3));

        Assert.All(states, s => Assert.Equal(TaskStatus.Completed, s.Status));
        Assert.All(states, s => Assert.Equal("infrastructure-failure", s.History[0].Outcome));
        await NoContainersLeftAsync(TimeSpan.FromSeconds(60));
        Assert.DoesNotContain(await Containers(), c => c.Names.Contains("/" + stray.Reference));
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
