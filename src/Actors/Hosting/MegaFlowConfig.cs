using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Persistence.Sql.Config;
using LinqToDB;
using MegaFlow.Actors.Persistence;

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
              # SQLite: every plugin read runs in a transaction; at the default level Microsoft.Data.Sqlite
              # issues BEGIN IMMEDIATE, which takes the single write lock, so concurrent recoveries queued
              # behind it (the cause of ~150 fresh recoveries/s). WAL readers see only committed data anyway.
              read-isolation-level = {{(s.Persistence == PersistenceBackend.Sqlite ? "read-uncommitted" : "read-committed")}}
            }
            akka.actor.provider = cluster
            akka.remote.dot-netty.tcp {
              hostname = {{Quote(s.Hostname)}}
              public-hostname = {{Quote(s.PublicHostname ?? s.Hostname)}}
              port = {{s.Port}}
            }
            akka.cluster.roles = [{{string.Join(", ", s.Roles.Select(Quote))}}]
            akka.cluster.seed-nodes = [{{string.Join(", ", s.Seeds.Select(Quote))}}]
            {{(s.DockerEndpoint is null ? "" : "megaflow.docker.endpoint = " + Quote(s.DockerEndpoint))}}
            {{(s.DockerPrepull is null ? "" : "megaflow.docker.prepull = [" + string.Join(", ", s.DockerPrepull.Select(Quote)) + "]")}}
            """;
        var text = string.Join("\n", Resource("megaflow.conf"), Resource("persistence.conf"), overrides, s.ExtraHocon ?? "");
        return ConfigurationFactory.ParseString(text)
            .WithFallback(Akka.Persistence.Sql.SqlPersistence.DefaultConfiguration)
            .WithFallback(Akka.Cluster.Sharding.ClusterSharding.DefaultConfig())
            .WithFallback(Akka.Cluster.Tools.Singleton.ClusterSingleton.DefaultConfig())
            .WithFallback(Akka.Cluster.Tools.PublishSubscribe.DistributedPubSub.DefaultConfig());
    }

    /// <summary>
    /// The ActorSystem setup for a node: the config plus, on SQLite, the connection tuning every
    /// Akka.Persistence.Sql plugin picks up (see <see cref="SqliteConnectionTuning"/>).
    /// </summary>
    public static ActorSystemSetup Setup(NodeSettings s)
    {
        var setup = ActorSystemSetup.Create(BootstrapSetup.Create().WithConfig(Build(s)));
        return PersistenceSetup(s) is { } persistence ? setup.And(persistence) : setup;
    }

    /// <summary>The SQLite connection tuning as a setup (null on PostgreSQL, which needs none).</summary>
    public static Setup? PersistenceSetup(NodeSettings s) =>
        s.Persistence == PersistenceBackend.Sqlite
            ? new DataOptionsSetup(new DataOptions()
                .UseConnectionString("SQLite.MS", s.SqliteConnectionString)
                .UseInterceptor(new SqliteConnectionTuning()))
            : null;

    public static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    private static string Resource(string name)
    {
        var asm = typeof(MegaFlowConfig).Assembly;
        var resource = asm.GetManifestResourceNames().Single(n => n.EndsWith("." + name, StringComparison.Ordinal) || n == name);
        using var stream = asm.GetManifestResourceStream(resource)!;
        return new StreamReader(stream).ReadToEnd();
    }
}
