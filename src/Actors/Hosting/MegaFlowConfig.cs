using System.Reflection;
using Akka.Configuration;

namespace MegaFlow.Actors.Hosting;

/// <summary>
/// Builds a node's configuration: the HOCON files in hocon/ (embedded in this assembly), then the
/// deployment settings from <see cref="NodeSettings"/>, then any extra HOCON. Later layers win.
/// </summary>
public static class MegaFlowConfig
{
    public static Config Build(NodeSettings s)
    {
        var overrides = $$"""
            megaflow.data-dir = {{Quote(Path.GetFullPath(s.DataDir))}}
            megaflow.provider = {{Quote(s.Provider)}}
            megaflow.persistence {
              connection-string = {{Quote(s.Persistence == PersistenceBackend.Sqlite ? s.SqliteConnectionString : s.ConnectionString!)}}
              provider-name = {{Quote(s.Persistence == PersistenceBackend.Sqlite ? "SQLite.MS" : "PostgreSQL.15")}}
              parallelism = {{(s.Persistence == PersistenceBackend.Sqlite ? 1 : 4)}}
            }
            akka.actor.provider = cluster
            akka.remote.dot-netty.tcp {
              hostname = {{Quote(s.Hostname)}}
              public-hostname = {{Quote(s.PublicHostname ?? s.Hostname)}}
              port = {{s.Port}}
            }
            akka.cluster.roles = [{{string.Join(", ", s.Roles.Select(Quote))}}]
            akka.cluster.seed-nodes = [{{string.Join(", ", s.Seeds.Select(Quote))}}]
            """;
        var text = string.Join("\n", Resource("megaflow.conf"), Resource("persistence.conf"), overrides, s.ExtraHocon ?? "");
        return ConfigurationFactory.ParseString(text)
            .WithFallback(Akka.Persistence.Sql.SqlPersistence.DefaultConfiguration)
            .WithFallback(Akka.Cluster.Sharding.ClusterSharding.DefaultConfig())
            .WithFallback(Akka.Cluster.Tools.Singleton.ClusterSingleton.DefaultConfig())
            .WithFallback(Akka.Cluster.Tools.PublishSubscribe.DistributedPubSub.DefaultConfig());
    }

    public static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    private static string Resource(string name)
    {
        var asm = typeof(MegaFlowConfig).Assembly;
        var resource = asm.GetManifestResourceNames().Single(n => n.EndsWith("." + name, StringComparison.Ordinal) || n == name);
        using var stream = asm.GetManifestResourceStream(resource)!;
        return new StreamReader(stream).ReadToEnd();
    }
}
