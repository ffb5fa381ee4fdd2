using Akka.Configuration;
using MegaFlow.Contracts;
using Akka.Persistence.Sql;
using Akka.Persistence.Sql.Config;
using MegaFlow.Hosting;
using MegaFlow.Protocol.Serialization;
using MegaFlow.Actors.Tests.Serialization;

namespace MegaFlow.Actors.Tests.Configuration;

public sealed class NodeSettingsTests
{
    private static NodeSettings FromEnv(params (string Name, string Value)[] vars)
    {
        var env = vars.ToDictionary(v => v.Name, v => v.Value);
        return NodeSettings.FromEnvironment(name => env.GetValueOrDefault(name));
    }

    private static Config Built(params (string Name, string Value)[] vars) => MegaFlowConfig.Build(FromEnv(vars));

    // ---- every variable reaches the built configuration -----------------------------------------

    [Fact]
    public void Hostname_public_hostname_and_port_reach_the_remote_transport()
    {
        var c = Built(("MEGAFLOW_HOSTNAME", "0.0.0.0"), ("MEGAFLOW_PUBLIC_HOSTNAME", "vm-3.example.net"), ("MEGAFLOW_PORT", " 4060 "));

        Assert.Equal("0.0.0.0", c.GetString("akka.remote.dot-netty.tcp.hostname"));
        Assert.Equal("vm-3.example.net", c.GetString("akka.remote.dot-netty.tcp.public-hostname"));
        Assert.Equal(4060, c.GetInt("akka.remote.dot-netty.tcp.port"));
    }

    [Fact]
    public void Public_hostname_defaults_to_the_hostname()
    {
        var c = Built(("MEGAFLOW_HOSTNAME", "10.0.0.5"));

        Assert.Equal("10.0.0.5", c.GetString("akka.remote.dot-netty.tcp.public-hostname"));
    }

    [Fact]
    public void Seeds_reach_the_cluster_seed_nodes_in_order()
    {
        var c = Built(("MEGAFLOW_SEEDS", "akka.tcp://megaflow@vm-1:4053, akka.tcp://megaflow@vm-2:4053,"));

        Assert.Equal(["akka.tcp://megaflow@vm-1:4053", "akka.tcp://megaflow@vm-2:4053"], c.GetStringList("akka.cluster.seed-nodes"));
    }

    [Fact]
    public void Roles_replace_the_default_roles()
    {
        var c = Built(("MEGAFLOW_ROLES", "worker, trainer"));

        Assert.Equal(["worker", "trainer"], c.GetStringList("akka.cluster.roles"));
    }

    [Fact]
    public void Postgres_persistence_sets_connection_string_provider_and_parallelism_for_every_store()
    {
        const string cs = "Host=db;Database=megaflow;Username=mf;Password=p\"w";
        var c = Built(("MEGAFLOW_PERSISTENCE", "Postgres"), ("MEGAFLOW_CONNECTION_STRING", cs));

        Assert.Equal(cs, c.GetString("akka.persistence.journal.sql.connection-string"));
        Assert.Equal("PostgreSQL.15", c.GetString("akka.persistence.journal.sql.provider-name"));
        Assert.Equal(4, c.GetInt("akka.persistence.journal.sql.parallelism"));
        // The substitutions resolve against the overrides, not the file's empty defaults.
        foreach (var store in new[] { "journal.sharding", "snapshot-store.sql", "snapshot-store.sharding", "query.journal.sql" })
        {
            Assert.Equal(cs, c.GetString($"akka.persistence.{store}.connection-string"));
            Assert.Equal("PostgreSQL.15", c.GetString($"akka.persistence.{store}.provider-name"));
        }
        Assert.Equal(4, c.GetInt("akka.persistence.journal.sharding.parallelism"));
        // Rows per INSERT: small statements are a SQLite measure (session 19); PostgreSQL keeps one per batch.
        Assert.Equal(2000, c.GetInt("akka.persistence.journal.sql.db-round-trip-max-batch-size"));
        Assert.Equal(2000, c.GetInt("akka.persistence.journal.sharding.db-round-trip-max-batch-size"));
    }

    [Fact]
    public void A_connection_string_also_overrides_the_derived_sqlite_one()
    {
        var c = Built(("MEGAFLOW_CONNECTION_STRING", "Data Source=/srv/mf.db"));

        Assert.Equal("Data Source=/srv/mf.db", c.GetString("akka.persistence.journal.sql.connection-string"));
        Assert.Equal("SQLite.MS", c.GetString("akka.persistence.journal.sql.provider-name"));
    }

    [Fact]
    public void Data_dir_reaches_megaflow_data_dir_and_the_sqlite_path()
    {
        var dir = Path.Combine(Path.GetTempPath(), "mf data");
        var c = Built(("MEGAFLOW_DATA_DIR", dir));

        Assert.Equal(Path.GetFullPath(dir), c.GetString("megaflow.data-dir"));
        Assert.Equal($"Data Source={Path.Combine(Path.GetFullPath(dir), "megaflow.db")}", c.GetString("akka.persistence.journal.sql.connection-string"));
    }

    [Fact]
    public void Provider_reaches_megaflow_provider()
    {
        Assert.Equal("simulated", Built(("MEGAFLOW_PROVIDER", "simulated")).GetString("megaflow.provider"));
    }

    [Fact]
    public void S3_artifact_variables_reach_megaflow_artifacts()
    {
        var c = Built(("MEGAFLOW_ARTIFACTS", "s3"), ("MEGAFLOW_S3_ENDPOINT", "http://s3:4568"), ("MEGAFLOW_S3_BUCKET", "runs"), ("MEGAFLOW_S3_PREFIX", "exp-7/"));

        Assert.Equal("s3", c.GetString("megaflow.artifacts.store"));
        Assert.Equal("http://s3:4568", c.GetString("megaflow.artifacts.s3.endpoint"));
        Assert.Equal("runs", c.GetString("megaflow.artifacts.s3.bucket"));
        Assert.Equal("exp-7/", c.GetString("megaflow.artifacts.s3.prefix"));
        Assert.Equal(8 * 1024 * 1024, c.GetByteSize("megaflow.artifacts.s3.part-size"));
        Assert.Equal("local", Built().GetString("megaflow.artifacts.store"));
    }

    [Fact]
    public void Blank_variables_count_as_unset()
    {
        var s = FromEnv(("MEGAFLOW_PORT", "  "), ("MEGAFLOW_ROLES", ""), ("MEGAFLOW_PERSISTENCE", " "));

        Assert.Empty(Structural.Differences(new NodeSettings(), s));
        Assert.Equal(4053, s.Port);
        Assert.Equal(["scheduler", "worker"], s.Roles);
    }

    // ---- bad values fail at start, naming the variable ------------------------------------------

    [Theory]
    [InlineData("MEGAFLOW_PORT", "abc")]
    [InlineData("MEGAFLOW_PORT", "70000")]
    [InlineData("MEGAFLOW_PORT", "-1")]
    [InlineData("MEGAFLOW_SEEDS", "http://x")]
    [InlineData("MEGAFLOW_SEEDS", "akka.tcp://megaflow@vm-1:4053,http://x")]
    [InlineData("MEGAFLOW_SEEDS", "akka.tcp://megaflow@vm-1")]
    [InlineData("MEGAFLOW_ROLES", "boss")]
    [InlineData("MEGAFLOW_ROLES", "worker,boss")]
    [InlineData("MEGAFLOW_PERSISTENCE", "mysql")]
    [InlineData("MEGAFLOW_PROVIDER", "k8s")]
    [InlineData("MEGAFLOW_ARTIFACTS", "ftp")]
    public void Bad_value_throws_naming_the_variable(string variable, string value)
    {
        var ex = Assert.Throws<ArgumentException>(() => FromEnv((variable, value)));

        Assert.Contains(variable, ex.Message);
        Assert.Contains(value.Split(',').Last(), ex.Message);
    }

    [Fact]
    public void Postgres_without_a_connection_string_throws_naming_the_missing_variable()
    {
        var ex = Assert.Throws<ArgumentException>(() => FromEnv(("MEGAFLOW_PERSISTENCE", "postgres")));

        Assert.Contains("MEGAFLOW_CONNECTION_STRING", ex.Message);
    }

    [Fact]
    public void S3_artifacts_without_a_bucket_or_with_a_bad_endpoint_throw_naming_the_variable()
    {
        Assert.Contains("MEGAFLOW_S3_BUCKET", Assert.Throws<ArgumentException>(() => FromEnv(("MEGAFLOW_ARTIFACTS", "s3"))).Message);
        Assert.Contains("MEGAFLOW_S3_ENDPOINT", Assert.Throws<ArgumentException>(() =>
            FromEnv(("MEGAFLOW_ARTIFACTS", "s3"), ("MEGAFLOW_S3_BUCKET", "b"), ("MEGAFLOW_S3_ENDPOINT", "s3 host"))).Message);
    }

    // ---- defaults -------------------------------------------------------------------------------

    [Fact]
    public void Defaults_give_a_single_node_on_sqlite_in_data_with_scheduler_and_worker_roles()
    {
        var s = FromEnv();
        var c = MegaFlowConfig.Build(s);

        Assert.Empty(Structural.Differences(new NodeSettings(), s));
        Assert.Equal("cluster", c.GetString("akka.actor.provider"));
        Assert.Equal("127.0.0.1", c.GetString("akka.remote.dot-netty.tcp.hostname"));
        Assert.Equal(4053, c.GetInt("akka.remote.dot-netty.tcp.port"));
        Assert.Empty(c.GetStringList("akka.cluster.seed-nodes"));
        Assert.Equal(["scheduler", "worker"], c.GetStringList("akka.cluster.roles"));
        Assert.Equal(1, c.GetInt("akka.cluster.min-nr-of-members"));
        Assert.Equal(Path.GetFullPath("./data"), c.GetString("megaflow.data-dir"));
        Assert.Equal("local", c.GetString("megaflow.provider"));
        Assert.Equal($"Data Source={Path.GetFullPath("./data/megaflow.db")}", c.GetString("akka.persistence.journal.sql.connection-string"));
        Assert.Equal("SQLite.MS", c.GetString("akka.persistence.journal.sql.provider-name"));
        Assert.Equal(1, c.GetInt("akka.persistence.journal.sql.parallelism"));
        Assert.Equal(32, c.GetInt("akka.persistence.journal.sql.db-round-trip-max-batch-size"));
        Assert.Equal(32, c.GetInt("akka.persistence.journal.sharding.db-round-trip-max-batch-size"));
        Assert.Equal("akka.persistence.journal.sql", c.GetString("akka.persistence.journal.plugin"));
        Assert.Equal("akka.persistence.snapshot-store.sql", c.GetString("akka.persistence.snapshot-store.plugin"));
    }

    // ---- fixed parts of the configuration -------------------------------------------------------

    [Fact]
    public void Remember_entities_are_event_sourced_in_their_own_journal_table()
    {
        var c = MegaFlowConfig.Build(new NodeSettings());

        Assert.True(c.GetBoolean("akka.cluster.sharding.remember-entities"));
        Assert.Equal("eventsourced", c.GetString("akka.cluster.sharding.remember-entities-store"));
        var journalId = c.GetString("akka.cluster.sharding.journal-plugin-id");
        var snapshotId = c.GetString("akka.cluster.sharding.snapshot-plugin-id");
        Assert.Equal("akka.persistence.journal.sharding", journalId);
        Assert.NotEqual(c.GetString("akka.persistence.journal.plugin"), journalId);

        Assert.Equal("Akka.Persistence.Sql.Journal.SqlWriteJournal, Akka.Persistence.Sql", c.GetString($"{journalId}.class"));
        Assert.NotNull(Type.GetType(c.GetString($"{journalId}.class")));
        Assert.Equal("sharding_journal", c.GetString($"{journalId}.default.journal.table-name"));
        Assert.Equal("journal", c.GetString("akka.persistence.journal.sql.default.journal.table-name"));
        Assert.NotEqual(c.GetString($"{journalId}.default.metadata.table-name"), c.GetString("akka.persistence.journal.sql.default.metadata.table-name"));
        Assert.NotEqual(c.GetString($"{journalId}.default.tag.table-name"), c.GetString("akka.persistence.journal.sql.default.tag.table-name"));

        Assert.NotNull(Type.GetType(c.GetString($"{snapshotId}.class")));
        Assert.Equal("sharding_snapshot", c.GetString($"{snapshotId}.default.snapshot.table-name"));
        Assert.Equal("snapshot", c.GetString("akka.persistence.snapshot-store.sql.default.snapshot.table-name"));
    }

    [Fact]
    public void The_sql_plugin_itself_resolves_separate_tables_for_domain_events_and_remember_entities()
    {
        // Read the tables the way SqlWriteJournal does: its own plugin section over the plugin defaults.
        var c = MegaFlowConfig.Build(new NodeSettings());
        JournalConfig Plugin(string id) => new(c.GetConfig(id).WithFallback(SqlPersistence.DefaultJournalConfiguration));

        var domain = Plugin("akka.persistence.journal.sql");
        var sharding = Plugin(c.GetString("akka.cluster.sharding.journal-plugin-id"));

        Assert.Equal("journal", domain.TableConfig.EventJournalTable.Name);
        Assert.Equal("sharding_journal", sharding.TableConfig.EventJournalTable.Name);
        Assert.Equal("sharding_journal_metadata", sharding.TableConfig.MetadataTable.Name);
        Assert.Equal(domain.ConnectionString, sharding.ConnectionString);
        Assert.False(sharding.AutoInitialize);
    }

    [Fact]
    public void Split_brain_resolver_keeps_the_majority()
    {
        var c = MegaFlowConfig.Build(new NodeSettings());

        Assert.Equal("Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster", c.GetString("akka.cluster.downing-provider-class"));
        Assert.Equal("keep-majority", c.GetString("akka.cluster.split-brain-resolver.active-strategy"));
    }

    [Fact]
    public void Protocol_messages_are_bound_to_the_megaflow_serializer()
    {
        var c = MegaFlowConfig.Build(new NodeSettings());

        var bindings = c.GetConfig("akka.actor.serialization-bindings").AsEnumerable()
            .ToDictionary(kv => kv.Key, kv => kv.Value.GetString());
        Assert.Equal("megaflow", bindings["MegaFlow.Contracts.IMegaFlowMessage, MegaFlow.Contracts"]);
        Assert.Equal(typeof(MegaFlowSerializer), Type.GetType(c.GetString("akka.actor.serializers.megaflow")));
        var ids = c.GetConfig("akka.actor.serialization-identifiers").AsEnumerable()
            .ToDictionary(kv => kv.Key, kv => kv.Value.GetInt());
        Assert.Equal(MegaFlowSerializer.Id, ids["MegaFlow.Protocol.Serialization.MegaFlowSerializer, MegaFlow.Protocol"]);
    }

    [Fact]
    public void Extra_hocon_wins_over_files_and_settings()
    {
        var c = MegaFlowConfig.Build(new NodeSettings { Port = 5000, ExtraHocon = "akka.remote.dot-netty.tcp.port = 0\nmegaflow.scheduler.max-running = 3" });

        Assert.Equal(0, c.GetInt("akka.remote.dot-netty.tcp.port"));
        Assert.Equal(3, c.GetInt("megaflow.scheduler.max-running"));
    }

    private static MegaFlow.Contracts.Scheduling.SchedulerSettings Scheduler(string extraHocon) =>
        MegaFlowNode.ReadSchedulerSettings(MegaFlowConfig.Build(new NodeSettings { ExtraHocon = extraHocon }).GetConfig("megaflow.scheduler"));

    [Fact]
    public void Scheduler_quotas_are_empty_by_default_and_reach_the_settings_when_configured()
    {
        Assert.Empty(Scheduler("").Quotas);

        var s = Scheduler("megaflow.scheduler.quotas { train = 6, eval = 2 }");

        Assert.Equal(new Dictionary<string, int> { ["train"] = 6, ["eval"] = 2 }, s.Quotas);
        Assert.Equal(6, s.QuotaCap("train"));
        Assert.Equal(int.MaxValue, s.QuotaCap("nightly"));
    }

    [Theory]
    [InlineData("megaflow.scheduler.quotas { train = 0 }", "quotas.train")]
    [InlineData("megaflow.scheduler.quotas { eval = -1 }", "quotas.eval")]
    [InlineData("megaflow.scheduler.quotas { train = lots }", "quotas.train")]
    [InlineData("megaflow.scheduler.quotas { train = 2.5 }", "quotas.train")]
    [InlineData("megaflow.scheduler.quotas { train { cap = 2 } }", "quotas.train")]
    [InlineData("megaflow.scheduler.quotas { Train = 2 }", "quotas.Train")]
    [InlineData("megaflow.scheduler.quotas { \"train eval\" = 2 }", "quotas.train eval")]
    [InlineData("megaflow.scheduler.pool-caps { py = nope }", "pool-caps.py")]
    public void A_bad_scheduler_quota_fails_at_start_naming_the_key(string hocon, string key)
    {
        var ex = Assert.Throws<ConfigurationException>(() => Scheduler(hocon));

        Assert.Contains("megaflow.scheduler", ex.Message);
        Assert.Contains(key, ex.Message);
    }
}
