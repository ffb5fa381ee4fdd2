using Docker.DotNet;
using Docker.DotNet.Models;

namespace MegaFlow.Environments.Docker.Inventory;

/// <summary>The images the engine holds, and making a list of them present (the node's pre-provision list).</summary>
internal sealed class ImageInventory(DockerClient client, EngineRetry retry, ImagePuller puller)
{
    /// <summary>Tagged image references, sorted; untagged images are left out.</summary>
    public async Task<IReadOnlyList<string>> ListImagesAsync(CancellationToken ct)
    {
        var images = await retry.RunAsync("list images", t => client.Images.ListImagesAsync(new ImagesListParameters(), t), ct).ConfigureAwait(false);
        return images.SelectMany(i => i.RepoTags ?? []).Where(t => t != "<none>:<none>").Distinct().Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Pulls the missing images one after another; each failure is returned, none thrown.</summary>
    public async Task<IReadOnlyList<string>> WarmAsync(IReadOnlyList<string> images, CancellationToken ct)
    {
        var failures = new List<string>();
        foreach (var image in images.Distinct())
        {
            try
            {
                await puller.EnsureAsync(image, ct).ConfigureAwait(false);
            }
            catch (EnvironmentUnavailableException e)
            {
                failures.Add(e.Message);
            }
        }
        return failures;
    }
}
