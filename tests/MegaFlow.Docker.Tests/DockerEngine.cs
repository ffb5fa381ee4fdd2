using Docker.DotNet;
using Docker.DotNet.Models;
using MegaFlow.Environments.Docker;

namespace MegaFlow.Docker.Tests;

/// <summary>
/// The engine the tests run against (MEGAFLOW_TEST_DOCKER, default the local socket) and helpers
/// to look at it directly, bypassing the provider. A missing engine or image fails the test with
/// what to run; it never skips.
/// </summary>
public static class DockerEngine
{
    public const string BaseImage = "megaflow/base:1";
    public const string SampleImage = "megaflow/sample-repo:1";

    public static string Endpoint => Environment.GetEnvironmentVariable("MEGAFLOW_TEST_DOCKER") ?? "unix:///var/run/docker.sock";

    /// <summary>A provider with its own cluster label, so a test sees (and cleans) only its own containers.</summary>
    public static DockerProvider Provider(string? cluster = null, string node = "test-node", Func<DockerProviderSettings, DockerProviderSettings>? tune = null)
    {
        var settings = new DockerProviderSettings
        {
            Endpoint = Endpoint,
            Cluster = cluster ?? NewClusterLabel(),
            Node = node,
        };
        return new DockerProvider(tune is null ? settings : tune(settings));
    }

    public static string NewClusterLabel() => "mf-test-" + Guid.NewGuid().ToString("N")[..10];

    public static DockerClient Client() => new DockerClientConfiguration(new Uri(Endpoint)).CreateClient();

    /// <summary>Fails with instructions unless the engine answers and the local images exist.</summary>
    public static async Task RequireAsync()
    {
        using var client = Client();
        try
        {
            await client.System.PingAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e)
        {
            Assert.Fail($"Docker engine not reachable at {Endpoint} ({e.Message}). Run `bash scripts/docker.sh` (installs and starts dockerd, builds the images).");
        }
        foreach (var image in new[] { BaseImage, SampleImage })
        {
            try
            {
                await client.Images.InspectImageAsync(image);
            }
            catch (DockerImageNotFoundException)
            {
                Assert.Fail($"image {image} is missing. Run `bash scripts/images.sh`.");
            }
        }
    }

    /// <summary>Containers carrying the cluster label (all states).</summary>
    public static async Task<IList<ContainerListResponse>> ContainersAsync(string cluster)
    {
        using var client = Client();
        return await client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = new Dictionary<string, bool> { [$"{DockerProvider.ClusterLabel}={cluster}"] = true },
            },
        });
    }

    /// <summary>Test cleanup: removes whatever a test left with its label (asserts come before this).</summary>
    public static async Task RemoveAllAsync(string cluster)
    {
        using var client = Client();
        foreach (var c in await ContainersAsync(cluster))
        {
            try
            {
                await client.Containers.RemoveContainerAsync(c.ID, new ContainerRemoveParameters { Force = true });
            }
            catch (DockerContainerNotFoundException)
            {
            }
            catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.Conflict)
            {
                // "removal already in progress": the node's own destroy got there first.
            }
        }
    }
}
