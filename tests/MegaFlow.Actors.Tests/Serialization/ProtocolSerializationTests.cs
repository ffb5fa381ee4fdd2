using System.Reflection;
using System.Runtime.Serialization;
using System.Text;
using Akka.Actor;
using MegaFlow.Hosting;
using MegaFlow.Protocol.Serialization;
using MegaFlow.Contracts;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Contracts.Scheduling;
using AkkaSerialization = Akka.Serialization.Serialization;

namespace MegaFlow.Actors.Tests.Serialization;

/// <summary>
/// An ActorSystem built from the node's real configuration (cluster provider, not joined, port 0),
/// so the tests see the serializer Akka actually picks, not one constructed by hand.
/// </summary>
public sealed class ConfiguredSystemFixture : IAsyncLifetime
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "megaflow-actors-tests-" + Guid.NewGuid().ToString("N"));

    public ActorSystem System { get; private set; } = null!;

    public Task InitializeAsync()
    {
        var settings = new NodeSettings { Port = 0, Hostname = "127.0.0.1", DataDir = _dataDir };
        System = ActorSystem.Create(settings.SystemName, MegaFlowConfig.Build(settings));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await System.Terminate().WaitAsync(TimeSpan.FromSeconds(30));
        if (Directory.Exists(_dataDir)) Directory.Delete(_dataDir, recursive: true);
    }

    /// <summary>A fresh temp folder, so nothing lands in ./data even if something did touch the database.</summary>
    public string DataDir => _dataDir;
}

public sealed class ProtocolSerializationTests(ConfiguredSystemFixture fixture) : IClassFixture<ConfiguredSystemFixture>
{
    private static readonly Assembly DomainAssembly = typeof(IMegaFlowMessage).Assembly;

    private static IReadOnlyList<Type> ProtocolTypes() =>
        DomainAssembly.GetTypes()
            .Where(t => t is { IsAbstract: false, IsInterface: false } && typeof(IMegaFlowMessage).IsAssignableFrom(t))
            .OrderBy(t => t.FullName, StringComparer.Ordinal)
            .ToList();

    public static TheoryData<string> Manifests()
    {
        var data = new TheoryData<string>();
        foreach (var m in ProtocolManifests.ByManifest.Keys.Order(StringComparer.Ordinal)) data.Add(m);
        return data;
    }

    [Fact]
    public void Every_concrete_protocol_type_in_the_domain_has_a_manifest()
    {
        var missing = ProtocolTypes().Where(t => !ProtocolManifests.ByType.ContainsKey(t)).Select(t => t.FullName).ToList();

        Assert.True(missing.Count == 0, "protocol types without a manifest in ProtocolManifests: " + string.Join(", ", missing));
    }

    [Fact]
    public void Every_manifest_names_a_protocol_type_and_manifests_are_unique()
    {
        // Both lookups come from one table; equal sizes mean no manifest and no type appears twice.
        Assert.Equal(ProtocolManifests.ByType.Count, ProtocolManifests.ByManifest.Count);
        Assert.All(ProtocolManifests.ByManifest, kv =>
        {
            Assert.True(typeof(IMegaFlowMessage).IsAssignableFrom(kv.Value), $"{kv.Key} → {kv.Value.FullName} is not an IMegaFlowMessage");
            Assert.Equal(kv.Key, ProtocolManifests.ByType[kv.Value]);
            Assert.False(string.IsNullOrWhiteSpace(kv.Key));
        });
    }

    [Fact]
    public void The_manifest_table_has_no_duplicates_in_its_source()
    {
        // ToFrozenDictionary keeps the last duplicate silently, so check the table itself.
        var table = (Array)typeof(ProtocolManifests).GetField("Table", BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null)!;
        var rows = table.Cast<(string Manifest, Type Type)>().ToList();

        var dupManifests = rows.GroupBy(r => r.Manifest).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        var dupTypes = rows.GroupBy(r => r.Type).Where(g => g.Count() > 1).Select(g => g.Key.FullName).ToList();

        Assert.True(dupManifests.Count == 0, "manifests used twice: " + string.Join(", ", dupManifests));
        Assert.True(dupTypes.Count == 0, "types listed twice: " + string.Join(", ", dupTypes));
        Assert.Equal(rows.Count, ProtocolManifests.ByManifest.Count);
    }

    [Fact]
    public void Samples_cover_every_manifest_type_once()
    {
        var sampleTypes = ProtocolSamples.All.Select(s => s.GetType()).ToList();
        var duplicates = sampleTypes.GroupBy(t => t).Where(g => g.Count() > 1).Select(g => g.Key.FullName).ToList();
        var missing = ProtocolManifests.ByType.Keys.Except(sampleTypes).Select(t => t.FullName).ToList();

        Assert.True(missing.Count == 0, "add a sample to ProtocolSamples for: " + string.Join(", ", missing));
        Assert.True(duplicates.Count == 0, "more than one sample for: " + string.Join(", ", duplicates));
    }

    [Fact]
    public void Samples_set_every_member_so_round_trips_exercise_the_whole_shape()
    {
        var nulls = ProtocolSamples.All.SelectMany(s => Structural.NullMembers(s).Select(p => $"{s.GetType().Name}{p[1..]}")).ToList();

        Assert.True(nulls.Count == 0, "sample members left null: " + string.Join(", ", nulls));
    }

    [Theory]
    [MemberData(nameof(Manifests))]
    public void Protocol_type_round_trips_through_the_serializer_the_system_binds(string manifest)
    {
        var serialization = fixture.System.Serialization;
        var sample = ProtocolSamples.For(ProtocolManifests.ByManifest[manifest]);

        var serializer = serialization.FindSerializerFor(sample);
        Assert.IsType<MegaFlowSerializer>(serializer);
        Assert.Equal(411, serializer.Identifier);
        Assert.Equal(manifest, AkkaSerialization.ManifestFor(serializer, sample));

        var bytes = serializer.ToBinary(sample);
        var back = serialization.Deserialize(bytes, serializer.Identifier, manifest);

        Assert.IsType(sample.GetType(), back);
        var diffs = Structural.Differences(sample, back);
        Assert.True(diffs.Count == 0, $"{manifest} changed in the round trip:\n  " + string.Join("\n  ", diffs));
        // Re-encoding gives the same bytes: nothing was lost or reordered on the way back.
        Assert.Equal(Encoding.UTF8.GetString(bytes), Encoding.UTF8.GetString(serializer.ToBinary(back)));
    }

    [Fact]
    public void A_submission_journalled_before_specs_named_an_agent_still_decodes_as_a_scripted_task()
    {
        var manifest = ProtocolManifests.ByType[typeof(MegaFlow.Contracts.Tasks.TaskEvents.Submitted)];
        var sample = ProtocolSamples.For(typeof(MegaFlow.Contracts.Tasks.TaskEvents.Submitted));
        var json = System.Text.Json.Nodes.JsonNode.Parse(fixture.System.Serialization.FindSerializerFor(sample).ToBinary(sample))!;
        // An old journal row: the same event written by a version whose TaskSpec had no Agent member.
        Assert.True(json["Spec"]!.AsObject().Remove("Agent"));

        var back = (MegaFlow.Contracts.Tasks.TaskEvents.Submitted)MegaFlowSerializer.Decode(Encoding.UTF8.GetBytes(json.ToJsonString()), manifest);

        Assert.Null(back.Spec.Agent);
        Assert.Equal(MegaFlow.Contracts.Tasks.AgentKinds.Scripted, back.Spec.AgentKind);
        Assert.Empty(MegaFlow.Contracts.Tasks.TaskSpecValidator.Validate(back.Spec));
        Assert.Equal(((MegaFlow.Contracts.Tasks.TaskEvents.Submitted)sample).Spec.Actions, back.Spec.Actions);
    }

    [Theory]
    [InlineData("te.sub")]
    [InlineData("se.enq")]
    [InlineData("se.adm")]
    [InlineData("ss")]
    public void A_row_journalled_before_quotas_still_decodes_with_no_quota(string manifest)
    {
        var sample = ProtocolSamples.For(ProtocolManifests.ByManifest[manifest]);
        var bytes = fixture.System.Serialization.FindSerializerFor(sample).ToBinary(sample);
        Assert.Contains("\"Quota\"", Encoding.UTF8.GetString(bytes));

        // The same row as a version without quotas wrote it: no "Quota" member anywhere.
        var decoded = MegaFlowSerializer.Decode(Encoding.UTF8.GetBytes(Stripped(bytes)), manifest);

        Assert.IsType(sample.GetType(), decoded);
        Assert.DoesNotContain("\"Quota\"", Encoding.UTF8.GetString(fixture.System.Serialization.FindSerializerFor(decoded).ToBinary(decoded)));
        IReadOnlyList<string?> quotas = decoded switch
        {
            MegaFlow.Contracts.Tasks.TaskEvents.Submitted x => [x.Spec.Quota],
            SchedulerEvents.Enqueued x => [x.Quota],
            SchedulerEvents.Admitted x => [x.Lease.Quota],
            SchedulerSnapshot x => [.. x.Queue.Select(q => q.Quota), .. x.Leases.Select(l => l.Quota)],
            _ => ["unexpected"],
        };
        Assert.All(quotas, Assert.Null);
    }

    private static string Stripped(byte[] json)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!;
        RemoveMember(node, "Quota");
        return node.ToJsonString();
    }

    // Removes the member everywhere in the tree; returns how many were removed.
    private static int RemoveMember(System.Text.Json.Nodes.JsonNode node, string name)
    {
        var removed = 0;
        switch (node)
        {
            case System.Text.Json.Nodes.JsonObject o:
                if (o.Remove(name)) removed++;
                foreach (var (_, child) in o.ToList())
                    if (child is not null) removed += RemoveMember(child, name);
                break;
            case System.Text.Json.Nodes.JsonArray a:
                foreach (var child in a)
                    if (child is not null) removed += RemoveMember(child, name);
                break;
        }
        return removed;
    }

    [Fact]
    public void Payloads_are_plain_json_without_clr_type_names()
    {
        var serializer = fixture.System.Serialization.FindSerializerFor(ProtocolSamples.All[0]);
        foreach (var sample in ProtocolSamples.All)
        {
            var json = Encoding.UTF8.GetString(serializer.ToBinary(sample));
            Assert.StartsWith("{", json);
            Assert.DoesNotContain("$type", json);
            Assert.DoesNotContain("MegaFlow.Domain", json);
        }
    }

    [Fact]
    public void Unknown_manifest_fails_with_a_serialization_exception_naming_it()
    {
        var bytes = "{\"TaskId\":\"t-1\"}"u8.ToArray();

        var ex = Assert.Throws<SerializationException>(() => fixture.System.Serialization.Deserialize(bytes, MegaFlowSerializer.Id, "zz.future"));

        Assert.Contains("zz.future", ex.Message);
    }

    [Fact]
    public void A_task_admission_written_before_the_lease_types_were_unified_still_reads()
    {
        // The exact shape task journals held before: the task's own four-field lease.
        var bytes = """
            {"TaskId":"task-old","Attempt":2,"Lease":{"LeaseId":"lease-9","EnvironmentId":"env-1@node-a:1~7","Node":"node-a:1~7","ReusedEnvironment":true},"TaskNode":"node-a:1","At":"2026-01-01T00:00:00+00:00"}
            """u8.ToArray();

        var admitted = Assert.IsType<TaskEvents.Admitted>(fixture.System.Serialization.Deserialize(bytes, MegaFlowSerializer.Id, "te.adm"));

        Assert.Equal(("lease-9", "env-1@node-a:1~7", "node-a:1~7", true), (admitted.Lease.LeaseId, admitted.Lease.EnvironmentId, admitted.Lease.Node, admitted.Lease.Reused));
        // Written back in today's shape, it round-trips as itself.
        var again = fixture.System.Serialization.Deserialize(fixture.System.Serialization.FindSerializerFor(admitted).ToBinary(admitted), MegaFlowSerializer.Id, "te.adm");
        Assert.Empty(Structural.Differences(admitted, again));
    }

    private sealed record NotInTheTable(string TaskId) : IMegaFlowMessage;

    [Fact]
    public void Manifest_for_a_protocol_type_missing_from_the_table_fails_with_a_serialization_exception()
    {
        var message = new NotInTheTable("t-1");
        var serializer = fixture.System.Serialization.FindSerializerFor(message);
        Assert.IsType<MegaFlowSerializer>(serializer);

        var ex = Assert.Throws<SerializationException>(() => AkkaSerialization.ManifestFor(serializer, message));

        Assert.Contains(nameof(NotInTheTable), ex.Message);
    }

    [Fact]
    public void Creating_the_system_does_not_touch_the_database()
    {
        Assert.False(Directory.Exists(fixture.DataDir), $"{fixture.DataDir} was created before persistence was used");
    }
}
