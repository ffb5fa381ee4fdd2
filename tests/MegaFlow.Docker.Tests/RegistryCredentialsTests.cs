using MegaFlow.Environments.Docker;

namespace MegaFlow.Docker.Tests;

/// <summary>Which registry's credentials go with a pull: never Docker Hub's to another registry.</summary>
public sealed class RegistryCredentialsTests
{
    private static readonly RegistryCredentials Hub = new("docker.io", "hub-user", "hub-secret");
    private static readonly RegistryCredentials Ghcr = new("ghcr.io", "gh-user", "gh-secret");
    private static readonly RegistryCredentials Local = new("localhost:5000", "local-user", "local-secret");
    private static readonly RegistryCredentials[] All = [Hub, Ghcr, Local];

    [Theory]
    [InlineData("python:3.12", "docker.io")]
    [InlineData("library/python", "docker.io")]
    [InlineData("someone/tool:1", "docker.io")]
    [InlineData("docker.io/someone/tool:1", "docker.io")]
    [InlineData("ghcr.io/org/image:2", "ghcr.io")]
    [InlineData("localhost:5000/x", "localhost:5000")]
    public void An_image_gets_its_own_registrys_credentials(string image, string server) =>
        Assert.Equal(server, ImagePuller.CredentialsFor(image, All)?.ServerAddress);

    [Theory]
    [InlineData("quay.io/org/image")]
    [InlineData("registry.example.com:443/team/app:1")]
    [InlineData("localhost/app")]
    public void An_image_of_a_registry_without_credentials_gets_none_not_docker_hubs(string image) =>
        Assert.Null(ImagePuller.CredentialsFor(image, All));

    [Fact]
    public void Without_any_credentials_nothing_is_sent() =>
        Assert.Null(ImagePuller.CredentialsFor("python:3.12", []));
}
