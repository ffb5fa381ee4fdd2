using MegaFlow.Hosting;
using MegaFlow.Node.Bootstrap;

namespace MegaFlow.Node.Tests.Deployment;

/// <summary>MEGAFLOW_BOOTSTRAP and its companions: defaults, and every bad value named at start.</summary>
public sealed class BootstrapSettingsTests
{
    private static BootstrapSettings? Read(Dictionary<string, string> env, NodeSettings? node = null) =>
        BootstrapSettings.FromEnvironment(node ?? new NodeSettings { Hostname = "10.0.0.1" }, k => env.GetValueOrDefault(k));

    [Fact]
    public void Off_unless_asked_for()
    {
        Assert.Null(Read([]));
        Assert.Null(Read(new() { ["MEGAFLOW_BOOTSTRAP"] = "off" }));
    }

    [Fact]
    public void Config_discovery_with_defaults_from_the_contact_points()
    {
        var s = Read(new() { ["MEGAFLOW_BOOTSTRAP"] = "config", ["MEGAFLOW_CONTACT_POINTS"] = "10.0.0.1:8600, 10.0.0.2:8600,10.0.0.3:8600" })!;
        Assert.Equal(["10.0.0.1:8600", "10.0.0.2:8600", "10.0.0.3:8600"], s.ContactPoints);
        Assert.Equal(BootstrapSettings.DefaultPort, s.Port);
        Assert.Equal(3, s.RequiredContactPoints);
        Assert.Equal("10.0.0.1", s.BindAddress);
        Assert.Equal(new Uri("http://10.0.0.1:8600/"), s.SelfContactPoint);
        Assert.Contains("required-contact-point-nr = 3", s.Hocon());
        Assert.Contains("endpoints = [\"10.0.0.1:8600\", \"10.0.0.2:8600\", \"10.0.0.3:8600\"]", s.Hocon());
    }

    [Fact]
    public void The_public_hostname_is_the_self_contact_point()
    {
        var s = Read(new() { ["MEGAFLOW_BOOTSTRAP"] = "config", ["MEGAFLOW_CONTACT_POINTS"] = "vm1:9000,vm2:9000", ["MEGAFLOW_BOOTSTRAP_PORT"] = "9000",
            ["MEGAFLOW_BOOTSTRAP_REQUIRED"] = "1" }, new NodeSettings { Hostname = "0.0.0.0", PublicHostname = "vm2" })!;
        Assert.Equal(new Uri("http://vm2:9000/"), s.SelfContactPoint);
        Assert.Equal("0.0.0.0", s.BindAddress);
        Assert.Equal(1, s.RequiredContactPoints);
    }

    [Theory]
    [InlineData("MEGAFLOW_BOOTSTRAP", "MEGAFLOW_BOOTSTRAP=dns")]
    [InlineData("MEGAFLOW_BOOTSTRAP", "MEGAFLOW_BOOTSTRAP=kubernetes")]
    [InlineData("MEGAFLOW_CONTACT_POINTS", "MEGAFLOW_CONTACT_POINTS=")]
    [InlineData("MEGAFLOW_CONTACT_POINTS", "MEGAFLOW_CONTACT_POINTS=10.0.0.1")]
    [InlineData("MEGAFLOW_CONTACT_POINTS", "MEGAFLOW_CONTACT_POINTS=10.0.0.2:8600,10.0.0.3:8600")]
    [InlineData("MEGAFLOW_BOOTSTRAP_PORT", "MEGAFLOW_BOOTSTRAP_PORT=http")]
    [InlineData("MEGAFLOW_BOOTSTRAP_ADDRESS", "MEGAFLOW_BOOTSTRAP_ADDRESS=somewhere")]
    [InlineData("MEGAFLOW_BOOTSTRAP_REQUIRED", "MEGAFLOW_BOOTSTRAP_REQUIRED=0")]
    public void A_bad_value_names_its_variable(string variable, string assignment)
    {
        var env = new Dictionary<string, string> { ["MEGAFLOW_BOOTSTRAP"] = "config", ["MEGAFLOW_CONTACT_POINTS"] = "10.0.0.1:8600,10.0.0.2:8600" };
        var eq = assignment.IndexOf('=');
        env[assignment[..eq]] = assignment[(eq + 1)..];
        var e = Assert.Throws<ArgumentException>(() => Read(env));
        Assert.StartsWith(variable + ":", e.Message);
    }

    [Fact]
    public void Seeds_and_bootstrap_together_are_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => Read(new() { ["MEGAFLOW_BOOTSTRAP"] = "config", ["MEGAFLOW_CONTACT_POINTS"] = "10.0.0.1:8600" },
            new NodeSettings { Hostname = "10.0.0.1", Seeds = ["akka.tcp://megaflow@10.0.0.1:4053"] }));
        Assert.Contains("MEGAFLOW_SEEDS", e.Message);
    }
}
