using Akka.Actor;
using MegaFlow.Hosting;
using MegaFlow.Actors.Scheduling;
using MegaFlow.Cluster.Tests.Infrastructure;
using MegaFlow.Contracts.Scheduling;
using Microsoft.Data.Sqlite;

namespace MegaFlow.Cluster.Tests;

/// <summary>
/// After a snapshot the scheduler deletes the older snapshots and the events up to it, and a restart
/// recovers the whole state from what remains. Checked against the SQLite file itself.
/// </summary>
public sealed class SchedulerSnapshotTests
{
    private const int SnapshotEvery = 10;
    private const int TaskCount = 25;

    // One admission at a time and an environment start that never finishes: every task but one stays
    // queued, so the scheduler's state (and its journal) is exactly the 25 submissions and one admission.
    private const string Hocon = """
        megaflow.scheduler { snapshot-every = 10, max-running = 1 }
        megaflow.simulated.provision-latency = "uniform:600000-600000"
        """;

    [Fact]
    public async Task Older_snapshots_and_the_events_a_snapshot_covers_are_deleted_and_a_restart_recovers_from_the_rest()
    {
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        var specs = Enumerable.Range(0, TaskCount).Select(i => Specs.Simple($"snap-{i:D2}", "ephemeral")).ToList();

        SchedulerProtocol.SchedulerStatus before;
        long snapshotSeqNr = 0;
        await using (var first = await TestCluster.StartAsync(storage, workers: 1, extraHocon: Hocon))
        {
            await TestCluster.SubmitAllAsync(first.Nodes[0].Refs.Tasks, specs);
            var scheduler = first.Nodes[0].Refs.Scheduler;
            await TestCluster.Eventually(async () =>
            {
                var s = await scheduler.Ask<SchedulerProtocol.SchedulerStatus>(SchedulerProtocol.GetSchedulerState.Instance, TimeSpan.FromSeconds(10));
                return s.QueueDepth + s.Running == TaskCount;
            }, TimeSpan.FromSeconds(60), "every task queued or admitted");

            // At least two snapshots were taken (the newest is at or past 2 × snapshot-every), only the
            // newest is left, and no event it covers remains readable.
            var seen = "";
            try
            {
                await TestCluster.Eventually(async () =>
                {
                    var snapshots = await SnapshotSeqNrsAsync(storage);
                    var live = snapshots.Count == 0 ? -1 : await LiveEventsUpToAsync(storage, snapshots[^1]);
                    seen = $"snapshots at [{string.Join(", ", snapshots)}], {live} live events up to the newest";
                    if (snapshots.Count != 1 || snapshots[0] < 2 * SnapshotEvery) return false;
                    snapshotSeqNr = snapshots[0];
                    return live == 0;
                }, TimeSpan.FromSeconds(60), "one snapshot left and the events it covers deleted");
            }
            catch (TimeoutException e)
            {
                throw new TimeoutException($"{e.Message}; last seen: {seen}", e);
            }
            Assert.Equal(0, await RowsBelowAsync(storage, snapshotSeqNr));
            before = await scheduler.Ask<SchedulerProtocol.SchedulerStatus>(SchedulerProtocol.GetSchedulerState.Instance, TimeSpan.FromSeconds(10));
        }
        Assert.True(before.QueueDepth >= TaskCount - 1, $"queue depth {before.QueueDepth} before the restart");

        // Queued tasks do not enqueue themselves again: only the snapshot and the later events can
        // give the new incarnation its queue back. The one admitted attempt belonged to the stopped
        // node, so it may be queued again or admitted again, but never lost.
        await using var second = await TestCluster.StartAsync(storage, workers: 1, extraHocon: Hocon);
        var after = await second.Nodes[0].Refs.Scheduler.Ask<SchedulerProtocol.SchedulerStatus>(SchedulerProtocol.GetSchedulerState.Instance, TimeSpan.FromSeconds(30));
        Assert.True(after.QueueDepth >= TaskCount - 2, $"queue depth {after.QueueDepth} after the restart (before: {before.QueueDepth})");
        await TestCluster.Eventually(async () =>
        {
            var s = await second.Nodes[0].Refs.Scheduler.Ask<SchedulerProtocol.SchedulerStatus>(SchedulerProtocol.GetSchedulerState.Instance, TimeSpan.FromSeconds(10));
            return s.QueueDepth + s.Running == TaskCount;
        }, TimeSpan.FromSeconds(60), "every task queued or admitted after the restart");
    }

    // The journal's readers (the task read model's live query) take an ordering that vanished before
    // they read it for a gap, and wait for it for up to 10 s: deletion waits until they have passed.
    [Fact]
    public async Task The_events_a_snapshot_covers_are_still_in_the_journal_for_seconds_after_it_is_saved()
    {
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        var specs = Enumerable.Range(0, TaskCount).Select(i => Specs.Simple($"late-{i:D2}", "ephemeral")).ToList();
        await using var cluster = await TestCluster.StartAsync(storage, workers: 1, extraHocon: Hocon);
        await TestCluster.SubmitAllAsync(cluster.Nodes[0].Refs.Tasks, specs);

        // Polled often: the deletion used to follow the snapshot within milliseconds.
        IReadOnlyList<long> snapshots = [];
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((snapshots = await SnapshotSeqNrsAsync(storage)).Count == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "no scheduler snapshot within 60 s");
            await Task.Delay(10);
        }
        var seen = DateTime.UtcNow;
        var first = snapshots[0];

        Assert.Equal(first, await LiveEventsUpToAsync(storage, first));
        await Task.Delay(TimeSpan.FromSeconds(3) - (DateTime.UtcNow - seen));
        Assert.Equal(first, await LiveEventsUpToAsync(storage, first));
    }

    [Fact]
    public async Task With_delete_obsolete_off_every_snapshot_and_event_is_kept()
    {
        await using var storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        var specs = Enumerable.Range(0, TaskCount).Select(i => Specs.Simple($"keep-{i:D2}", "ephemeral")).ToList();
        await using var cluster = await TestCluster.StartAsync(storage, workers: 1, extraHocon: Hocon + "\nmegaflow.scheduler.delete-obsolete = off");
        await TestCluster.SubmitAllAsync(cluster.Nodes[0].Refs.Tasks, specs);

        await TestCluster.Eventually(async () => (await SnapshotSeqNrsAsync(storage)).Count >= 2, TimeSpan.FromSeconds(60), "two snapshots");
        Assert.True(await LiveEventsUpToAsync(storage, SnapshotEvery) >= SnapshotEvery, "the first events are still in the journal");
    }

    private static SqliteConnection Open(TestStorage storage)
    {
        var conn = new SqliteConnection(storage.Node().SqliteConnectionString);
        conn.Open();
        return conn;
    }

    private static async Task<IReadOnlyList<long>> SnapshotSeqNrsAsync(TestStorage storage)
    {
        await using var conn = Open(storage);
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT sequence_number FROM snapshot WHERE persistence_id = $id ORDER BY sequence_number";
        cmd.Parameters.AddWithValue("$id", SchedulerActor.PersistenceIdValue);
        var seqNrs = new List<long>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) seqNrs.Add(reader.GetInt64(0));
        return seqNrs;
    }

    /// <summary>Scheduler events at or below <paramref name="seqNr"/> that recovery could still read (not marked deleted).</summary>
    private static async Task<long> LiveEventsUpToAsync(TestStorage storage, long seqNr)
    {
        await using var conn = Open(storage);
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM journal WHERE persistence_id = $id AND sequence_number <= $seq AND deleted = 0";
        cmd.Parameters.AddWithValue("$id", SchedulerActor.PersistenceIdValue);
        cmd.Parameters.AddWithValue("$seq", seqNr);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    /// <summary>Scheduler rows of any kind below <paramref name="seqNr"/> (the plugin may keep the highest deleted row as a marker).</summary>
    private static async Task<long> RowsBelowAsync(TestStorage storage, long seqNr)
    {
        await using var conn = Open(storage);
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM journal WHERE persistence_id = $id AND sequence_number < $seq";
        cmd.Parameters.AddWithValue("$id", SchedulerActor.PersistenceIdValue);
        cmd.Parameters.AddWithValue("$seq", seqNr);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }
}
