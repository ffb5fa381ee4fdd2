using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Persistence.Sql.Config;
using LinqToDB;
using MegaFlow.Hosting.Persistence;
using MegaFlow.Protocol;

namespace MegaFlow.Hosting;

/// <summary>
/// Builds a node's configuration: hocon/megaflow.conf (see <see cref="ClusterConfig"/>) and
/// hocon/persistence.conf (embedded here), then the deployment settings from <see cref="NodeSettings"/>,
/// then any extra HOCON. Later layers win.
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
              rows-per-statement = {{(s.Persistence == PersistenceBackend.Sqlite ? 32 : 2000)}}
              # SQLite: every plugin read runs in a transaction; at the default level Microsoft.Data.Sqlite
              # issues BEGIN IMMEDIATE, which takes the single write lock, so concurrent recoveries queued
              # behind it (the cause of ~150 fresh recoveries/s). WAL readers see only committed data anyway.
              read-isolation-level = {{(s.Persistence == PersistenceBackend.Sqlite ? "read-uncommitted" : "read-committed")}}
            }
            {{(s.DockerEndpoint is null ? "" : "megaflow.docker.endpoint = " + Quote(s.DockerEndpoint))}}
            {{(s.DockerPrepull is null ? "" : "megaflow.docker.prepull = [" + string.Join(", ", s.DockerPrepull.Select(Quote)) + "]")}}
            {{(s.S3Artifacts is not { } s3 ? "" : $"megaflow.artifacts {{ store = s3, s3 {{ endpoint = {Quote(s3.Endpoint)}, bucket = {Quote(s3.Bucket)}, prefix = {Quote(s3.Prefix)} }} }}")}}
            """;
        var text = string.Join("\n", ClusterConfig.BaseHocon, Resource("persistence.conf"), overrides, ClusterConfig.EndpointHocon(s.Endpoint), s.ExtraHocon ?? "");
        return ClusterConfig.WithClusterFallbacks(ConfigurationFactory.ParseString(text)
            .WithFallback(Akka.Persistence.Sql.SqlPersistence.DefaultConfiguration));
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

    private static string Quote(string s) => ClusterConfig.Quote(s);

    private static string Resource(string name)
    {
        var asm = typeof(MegaFlowConfig).Assembly;
        var resource = asm.GetManifestResourceNames().Single(n => n.EndsWith("." + name, StringComparison.Ordinal) || n == name);
        using var stream = asm.GetManifestResourceStream(resource)!;
        return new StreamReader(stream).ReadToEnd();
    }
}
