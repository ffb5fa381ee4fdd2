using System.ComponentModel;

namespace MegaFlow.Chaos;

/// <summary>The local Docker engine, through the docker CLI: checked before a run, searched for leftovers after it.</summary>
public static class DockerEngine
{
    /// <summary>The label every container of a cluster carries (DockerProvider.ClusterLabel).</summary>
    public const string ClusterLabel = "megaflow.cluster";

    /// <summary>Fails with what to run unless the engine answers and the image is present.</summary>
    public static async Task RequireAsync(string image)
    {
        try
        {
            var (code, output) = await Commands.RunAsync("docker", ["info", "--format", "{{.ServerVersion}}"], TimeSpan.FromSeconds(30));
            if (code != 0) throw new InvalidOperationException($"the Docker engine does not answer ({output.Trim()}): run `bash scripts/docker.sh`");
            (code, output) = await Commands.RunAsync("docker", ["image", "inspect", "--format", "{{.Id}}", image], TimeSpan.FromSeconds(30));
            if (code != 0) throw new InvalidOperationException($"image {image} is missing: run `bash scripts/images.sh` (or scripts/docker.sh)");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"the docker CLI is not installed ({e.Message}): run `bash scripts/docker.sh`", e);
        }
    }

    /// <summary>Ids of the containers (any state) labelled with this cluster.</summary>
    public static async Task<IReadOnlyList<string>> ContainersAsync(string cluster)
    {
        var output = await Commands.RunCheckedAsync("docker", ["ps", "-aq", "--no-trunc", "--filter", $"label={ClusterLabel}={cluster}"], TimeSpan.FromSeconds(60));
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>Cleanup after the count: removes whatever the run left.</summary>
    public static async Task RemoveAllAsync(string cluster)
    {
        var ids = await ContainersAsync(cluster);
        foreach (var batch in ids.Chunk(50))
            await Commands.RunAsync("docker", ["rm", "-f", .. batch], TimeSpan.FromMinutes(2));
    }
}
