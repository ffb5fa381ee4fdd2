using System.Text.Json;
using System.Text.Json.Serialization;
using Docker.DotNet.Models;
using MegaFlow.Contracts.Environments;

namespace MegaFlow.Environments.Docker.Lifecycle;

/// <summary>
/// What a container is created with: the spec's limits, the isolation every container gets, and
/// labels that name its cluster, node, environment and task and carry the spec itself, so a reset
/// can recreate the container from the handle alone.
/// </summary>
internal static class ContainerParameters
{
    private static readonly JsonSerializerOptions SpecJson = new() { Converters = { new JsonStringEnumConverter() } };

    public static CreateContainerParameters Create(string name, string environmentId, EnvironmentSpec spec, DockerProviderSettings settings) => new()
    {
        Name = name,
        Image = spec.Image,
        Cmd = settings.KeepAliveCommand.ToList(),
        Entrypoint = [],
        Env = [$"MEGAFLOW_ENV_ID={environmentId}"],
        Labels = new Dictionary<string, string>
        {
            [DockerProvider.ClusterLabel] = settings.Cluster,
            [DockerProvider.NodeLabel] = settings.Node,
            [DockerProvider.EnvironmentLabel] = environmentId,
            [DockerProvider.TaskLabel] = spec.TaskId ?? "",
            [DockerProvider.PoolLabel] = spec.Pool,
            // Everything a reset needs to recreate the container, so the handle alone suffices.
            [DockerProvider.SpecLabel] = JsonSerializer.Serialize(spec, SpecJson),
        },
        HostConfig = new HostConfig
        {
            NanoCPUs = (long)Math.Round(spec.CpuLimit * 1e9),
            Memory = spec.MemoryLimitBytes,
            MemorySwap = spec.MemoryLimitBytes, // equal to Memory: no swap beyond the limit
            PidsLimit = spec.PidsLimit,
            NetworkMode = spec.NetworkMode switch
            {
                null or "" => "none",
                EnvironmentSpec.GatewayNetwork => settings.GatewayNetwork,
                var mode => mode,
            },
            Privileged = false,
            CapDrop = ["ALL"],
            CapAdd = settings.CapAdd.ToList(),
            SecurityOpt = ["no-new-privileges"],
            Init = true,
        },
    };

    /// <summary>The spec a container was created from (its spec label); null when it has none.</summary>
    public static EnvironmentSpec? SpecOf(IDictionary<string, string>? labels) =>
        labels is not null && labels.TryGetValue(DockerProvider.SpecLabel, out var json)
            ? JsonSerializer.Deserialize<EnvironmentSpec>(json, SpecJson)
            : null;
}
