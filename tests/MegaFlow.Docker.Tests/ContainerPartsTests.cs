using MegaFlow.Contracts;
using System.Text;
using Docker.DotNet.Models;
using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Environments;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using MegaFlow.Environments;
using MegaFlow.Environments.Docker;
using MegaFlow.Environments.Docker.Archives;
using MegaFlow.Environments.Docker.Inventory;
using MegaFlow.Environments.Docker.Lifecycle;

namespace MegaFlow.Docker.Tests;

/// <summary>What the provider's parts decide without asking the engine: create parameters, label filters, archives.</summary>
public sealed class ContainerPartsTests
{
    private static readonly DockerProviderSettings Settings = new() { Cluster = "c1", Node = "10.0.0.1:4053" };

    private static readonly EnvironmentSpec Spec = new("megaflow/base:1", "pool-a", ExecutionMode.Persistent,
        CpuLimit: 0.5, MemoryLimitBytes: 96L << 20, PidsLimit: 48, NetworkMode: "", TaskId: "task-7");

    [Fact]
    public void A_container_is_created_with_the_specs_limits_no_privileges_and_its_labels()
    {
        var p = ContainerParameters.Create("mf-env-1", "env-1", Spec, Settings);

        Assert.Equal("mf-env-1", p.Name);
        Assert.Equal("megaflow/base:1", p.Image);
        Assert.Equal(Settings.KeepAliveCommand, p.Cmd);
        Assert.Equal(["MEGAFLOW_ENV_ID=env-1"], p.Env);
        Assert.Equal(500_000_000, p.HostConfig.NanoCPUs);
        Assert.Equal(96L << 20, p.HostConfig.Memory);
        Assert.Equal(96L << 20, p.HostConfig.MemorySwap);
        Assert.Equal(48, p.HostConfig.PidsLimit);
        Assert.Equal("none", p.HostConfig.NetworkMode); // blank means no network
        Assert.False(p.HostConfig.Privileged);
        Assert.Equal(["ALL"], p.HostConfig.CapDrop);
        Assert.Equal(Settings.CapAdd, p.HostConfig.CapAdd);
        Assert.Equal(["no-new-privileges"], p.HostConfig.SecurityOpt);
        Assert.True(p.HostConfig.Init);
        Assert.Equal("c1", p.Labels[DockerProvider.ClusterLabel]);
        Assert.Equal("10.0.0.1:4053", p.Labels[DockerProvider.NodeLabel]);
        Assert.Equal("env-1", p.Labels[DockerProvider.EnvironmentLabel]);
        Assert.Equal("task-7", p.Labels[DockerProvider.TaskLabel]);
        Assert.Equal("pool-a", p.Labels[DockerProvider.PoolLabel]);
    }

    [Fact]
    public void A_reset_recreates_the_container_from_the_spec_its_label_carries()
    {
        var p = ContainerParameters.Create("mf-env-1", "env-1", Spec, Settings);

        Assert.Equal(Spec, ContainerParameters.SpecOf(p.Labels));
        Assert.Null(ContainerParameters.SpecOf(new Dictionary<string, string>()));
        Assert.Null(ContainerParameters.SpecOf(null));
    }

    [Fact]
    public void The_node_lists_its_own_containers_and_an_environment_is_found_by_its_id_alone()
    {
        Assert.Equal(new Dictionary<string, bool> { ["megaflow.cluster=c1"] = true, ["megaflow.node=10.0.0.1:4053"] = true },
            ContainerInventory.LabelFilter(Settings, environmentId: null));
        Assert.Equal(new Dictionary<string, bool> { ["megaflow.cluster=c1"] = true, ["megaflow.environment=env-9"] = true },
            ContainerInventory.LabelFilter(Settings, "env-9"));
    }

    [Fact]
    public void Listed_containers_become_resources_named_like_handles_skipping_those_without_an_environment()
    {
        var resources = ContainerInventory.Resources(
        [
            new ContainerListResponse { ID = "id1", Names = ["/mf-env-1"], State = "running", Labels = new Dictionary<string, string> { [DockerProvider.EnvironmentLabel] = "env-1" } },
            new ContainerListResponse { ID = "id2", Names = [], State = "exited", Labels = new Dictionary<string, string> { [DockerProvider.EnvironmentLabel] = "env-2" } },
            new ContainerListResponse { ID = "id3", Names = ["/copied-labels"], State = "running", Labels = new Dictionary<string, string>() },
        ]);

        Assert.Equal([new ManagedResource("env-1", "mf-env-1", true), new ManagedResource("env-2", "id2", false)], resources);
    }

    [Fact]
    public async Task Files_packed_for_a_copy_in_unpack_to_the_same_files()
    {
        var files = new Dictionary<string, byte[]>
        {
            ["/notes.txt"] = Encoding.UTF8.GetBytes("hello"),
            ["sub/patch.diff"] = Encoding.UTF8.GetBytes("--- a\n+++ b\n"),
        };

        using var tar = await ArchiveCopier.PackAsync(files, CancellationToken.None);
        tar.Position = 0;
        var unpacked = await ArchiveCopier.UnpackAsync(tar, CancellationToken.None);

        Assert.Equal(["notes.txt", "sub/patch.diff"], unpacked.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("hello", Encoding.UTF8.GetString(unpacked["notes.txt"]));
        Assert.Equal("--- a\n+++ b\n", Encoding.UTF8.GetString(unpacked["sub/patch.diff"]));
    }

    [Fact]
    public async Task A_copy_out_up_to_its_limit_is_whole_and_one_byte_more_fails_naming_the_limit()
    {
        var data = new byte[200_000];
        Random.Shared.NextBytes(data);

        using var whole = new MemoryStream();
        await ArchiveCopier.CopyBoundedAsync(new MemoryStream(data), whole, 200_000, "c:/work", CancellationToken.None);
        Assert.Equal(data, whole.ToArray());

        var e = await Assert.ThrowsAsync<InvalidDataException>(() =>
            ArchiveCopier.CopyBoundedAsync(new MemoryStream(data), new MemoryStream(), 199_999, "c:/work", CancellationToken.None));
        Assert.Contains("c:/work", e.Message);
        Assert.Contains("199999 bytes", e.Message);
    }
}
