using Akka.Configuration;

namespace MegaFlow.Protocol;

/// <summary>Where a cluster member listens and whom it joins: what nodes and clients have in common.</summary>
/// <param name="PublicHostname">Address other members use to reach this one; null means <paramref name="Hostname"/>.</param>
/// <param name="Port">0 picks a free port (tests, clients).</param>
/// <param name="Seeds">Seed node addresses ("akka.tcp://megaflow@host:port").</param>
public sealed record ClusterEndpoint(string Hostname, string? PublicHostname, int Port, IReadOnlyList<string> Roles, IReadOnlyList<string> Seeds);

/// <summary>
/// The configuration every cluster member shares: hocon/megaflow.conf (embedded here: remoting, the
/// cluster, the serializer binding, MegaFlow's defaults), then the member's endpoint, then extra
/// HOCON. Later layers win. Nodes layer their persistence on top (MegaFlow.Hosting).
/// </summary>
public static class ClusterConfig
{
    /// <summary>hocon/megaflow.conf as shipped.</summary>
    public static string BaseHocon { get; } = Resource("megaflow.conf");

    /// <summary>The endpoint's HOCON lines, to layer over <see cref="BaseHocon"/>.</summary>
    public static string EndpointHocon(ClusterEndpoint e) => $"""
        akka.actor.provider = cluster
        akka.remote.dot-netty.tcp {"{"}
          hostname = {Quote(e.Hostname)}
          public-hostname = {Quote(e.PublicHostname ?? e.Hostname)}
          port = {e.Port}
        {"}"}
        akka.cluster.roles = [{string.Join(", ", e.Roles.Select(Quote))}]
        akka.cluster.seed-nodes = [{string.Join(", ", e.Seeds.Select(Quote))}]
        """;

    /// <summary>A member's configuration without persistence (clients).</summary>
    public static Config Build(ClusterEndpoint endpoint, string? extraHocon = null) =>
        WithClusterFallbacks(ConfigurationFactory.ParseString(string.Join("\n", BaseHocon, EndpointHocon(endpoint), extraHocon ?? "")));

    /// <summary>Akka's own defaults for sharding, singletons and pub-sub under the given configuration.</summary>
    public static Config WithClusterFallbacks(Config config) => config
        .WithFallback(Akka.Cluster.Sharding.ClusterSharding.DefaultConfig())
        .WithFallback(Akka.Cluster.Tools.Singleton.ClusterSingleton.DefaultConfig())
        .WithFallback(Akka.Cluster.Tools.PublishSubscribe.DistributedPubSub.DefaultConfig());

    /// <summary>A HOCON string literal.</summary>
    public static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    private static string Resource(string name)
    {
        var asm = typeof(ClusterConfig).Assembly;
        var resource = asm.GetManifestResourceNames().Single(n => n.EndsWith("." + name, StringComparison.Ordinal) || n == name);
        using var stream = asm.GetManifestResourceStream(resource)!;
        return new StreamReader(stream).ReadToEnd();
    }
}
