using System.Diagnostics;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using MegaFlow.Contracts.Management;
using MegaFlow.Verification;
using Npgsql;
using Xunit.Abstractions;

namespace MegaFlow.Compose.Tests;

/// <summary>
/// docker/docker-compose.yml as users run it: every member healthy, 200 tasks across the workers with
/// their outputs in the S3 server, a transaction a silent node left open ended by the server, a worker
/// killed, a worker cut off from the network, workers scaled
/// up and down mid-run, and `compose down` leaving nothing. One cluster for the class (bringing it up
/// takes minutes on 2 cores); the steps run in order and each restores three healthy workers.
/// Loss and double execution are judged from the PostgreSQL journal, not from the API or logs.
/// </summary>
[TestCaseOrderer(StepOrderer.Name, StepOrderer.Assembly)]
public sealed class ComposeClusterTests(ComposeCluster cluster, ITestOutputHelper output) : IClassFixture<ComposeCluster>
{
    private static readonly TimeSpan Formation = TimeSpan.FromMinutes(4);
    private static readonly TimeSpan Run = TimeSpan.FromMinutes(6);

    [Fact, Step(1)]
    public Task Every_member_is_up_and_ready_and_200_tasks_run_across_the_workers_with_artifacts_in_s3() => Diagnosed(async () =>
    {
        output.WriteLine($"compose up: 9 containers healthy (GET /ready) after {cluster.StartedIn.TotalSeconds:F0} s");
        var members = await cluster.WaitForMembersAsync(m => m.Count(x => x.Status == "up") == ComposeCluster.Members(3), Formation, "7 members Up");
        Assert.Equal(2, members.Count(m => m.Roles.Contains("scheduler")));
        Assert.Equal(3, members.Count(m => m.Roles.Contains("worker")));
        Assert.Single(members, m => m.Roles.Contains("model"));
        Assert.Single(members, m => m.Roles.Contains("trainer"));

        var ids = Ids("up", 200);
        var clock = Stopwatch.StartNew();
        await cluster.SubmitAsync(ids, rounds: 2, secondsPerRound: 1);
        var rows = await cluster.WaitFinishedAsync("up-", ids.Count, Run);
        output.WriteLine($"200 tasks finished in {clock.Elapsed.TotalSeconds:F0} s");
        Assert.All(rows, r => Assert.Equal("completed", r.Status));
        var byNode = rows.GroupBy(r => r.Node).ToDictionary(g => g.Key ?? "?", g => g.Count());
        output.WriteLine("tasks per worker: " + string.Join(", ", byNode.Select(kv => $"{kv.Key} {kv.Value}")));
        Assert.Equal(3, byNode.Count);

        // Each round's 3,000-byte output is an object in the bucket, found through the S3 API.
        var keys = await ListBucketAsync();
        foreach (var id in ids)
            Assert.True(keys.Count(k => k.StartsWith(id + "/", StringComparison.Ordinal)) >= 2, $"no round outputs of {id} in the bucket");
        output.WriteLine($"{keys.Count} objects in s3://megaflow");

        var journal = await cluster.VerifyJournalAsync(ids);
        Assert.Empty(journal.Lost);
        Assert.Empty(journal.MoreThanOneTerminal);
        Assert.Equal(200, journal.Outcomes.Completed);
    });

    [Fact, Step(2)]
    public async Task A_transaction_a_silent_node_left_open_is_ended_by_the_server_so_writers_of_the_same_rows_go_on()
    {
        // What a worker cut off mid-write leaves behind: its transaction holds the journal rows it
        // inserted, and the node taking over its task blocks on them (the unique sequence number).
        // The compose PostgreSQL ends a transaction idle for 30 s (docker/postgres/entrypoint.sh).
        await using var silent = new NpgsqlConnection(cluster.JournalConnectionString);
        await silent.OpenAsync();
        await using (var create = new NpgsqlCommand("CREATE TABLE IF NOT EXISTS silent_writer_probe (k text PRIMARY KEY)", silent))
            await create.ExecuteNonQueryAsync();
        var open = await silent.BeginTransactionAsync();
        await using (var insert = new NpgsqlCommand("INSERT INTO silent_writer_probe VALUES ('row')", silent, open))
            await insert.ExecuteNonQueryAsync();
        // From here on the "node" sends nothing, as a node whose network is gone.

        await using var taker = new NpgsqlConnection(cluster.JournalConnectionString);
        await taker.OpenAsync();
        var clock = Stopwatch.StartNew();
        await using (var same = new NpgsqlCommand("INSERT INTO silent_writer_probe VALUES ('row')", taker) { CommandTimeout = 120 })
            await same.ExecuteNonQueryAsync(); // waits for the silent transaction, then takes the row
        output.WriteLine($"the second writer waited {clock.Elapsed.TotalSeconds:F0} s for the silent transaction to end");
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(60));
        await Assert.ThrowsAnyAsync<Exception>(() => open.CommitAsync()); // the server ended it: its row was never committed
        await using var drop = new NpgsqlCommand("DROP TABLE silent_writer_probe", taker);
        await drop.ExecuteNonQueryAsync();
    }

    [Fact, Step(3)]
    public Task A_worker_killed_mid_run_has_its_tasks_retried_elsewhere_with_none_lost_or_finished_twice() => Diagnosed(async () =>
    {
        await RestoreWorkersAsync();
        var ids = Ids("kill", 60);
        // 20 s tasks: the fault must hit tasks that are really running, even when the read model that
        // lists them as running lags by seconds on a loaded machine (6 s tasks once all finished first).
        await cluster.SubmitAsync(ids, rounds: 4, secondsPerRound: 5);
        var (victim, address) = await BusiestWorkerAsync("kill-");
        await cluster.DockerAsync("kill", victim);
        output.WriteLine($"docker kill {victim[..12]} ({address})");

        var rows = await EveryTaskCompletedOnceAsync("kill-", ids);
        // The kill hit running tasks: they needed another attempt, which ran on a surviving worker.
        var retried = rows.Where(r => r.Attempt > 1).ToList();
        Assert.NotEmpty(retried);
        Assert.All(retried, r => Assert.NotEqual($"{address}:4053", r.Node));
    });

    [Fact, Step(4)]
    public Task A_worker_cut_off_longer_than_stable_after_is_downed_and_rejoins_after_reconnecting_and_restarting() => Diagnosed(async () =>
    {
        await RestoreWorkersAsync();
        var ids = Ids("cut", 60);
        await cluster.SubmitAsync(ids, rounds: 4, secondsPerRound: 5);
        var (victim, address) = await BusiestWorkerAsync("cut-");
        var network = await cluster.NetworkAsync(victim);
        var clock = Stopwatch.StartNew();
        await cluster.DockerAsync("network", "disconnect", network, victim);
        output.WriteLine($"docker network disconnect {network} {victim[..12]} ({address})");
        var reconnected = false;
        try
        {
            // Keep-majority (6 against 1) downs it once the partition has been stable for stable-after (20 s).
            await cluster.WaitForMembersAsync(m => !m.Any(x => x.Address.Contains($"@{address}:", StringComparison.Ordinal)), TimeSpan.FromMinutes(2),
                $"{address} removed");
            output.WriteLine($"{address} downed and removed {clock.Elapsed.TotalSeconds:F0} s after the cut");
            Assert.True(clock.Elapsed > TimeSpan.FromSeconds(20), "removed before stable-after: not the split brain resolver's decision");

            var rows = await EveryTaskCompletedOnceAsync("cut-", ids);
            // Tasks that needed another attempt finished on the majority's side, not on the node cut off.
            Assert.All(rows.Where(r => r.Attempt > 1), r => Assert.NotEqual($"{address}:4053", r.Node));

            await cluster.DockerAsync("network", "connect", network, victim);
            reconnected = true;
            await cluster.DockerAsync("restart", "--time", "5", victim);
            var rejoined = await cluster.AddressAsync(victim);
            await cluster.WaitForMembersAsync(m => m.Any(x => x.Address.Contains($"@{rejoined}:", StringComparison.Ordinal) && x.Status == "up"), Formation,
                $"{rejoined} Up again");
            output.WriteLine($"reconnected and restarted: Up again as {rejoined} {clock.Elapsed.TotalSeconds:F0} s after the cut");
        }
        finally
        {
            // A failed step must not leave the worker cut off: the next steps start from three healthy workers.
            if (!reconnected)
            {
                await cluster.DockerAsync("network", "connect", network, victim);
                await cluster.DockerAsync("restart", "--time", "5", victim);
            }
        }
    });

    [Fact, Step(5)]
    public Task Workers_scaled_up_by_two_and_down_by_two_during_a_run_lose_nothing() => Diagnosed(async () =>
    {
        await RestoreWorkersAsync();
        var ids = Ids("scale", 120);
        await cluster.SubmitAsync(ids, rounds: 3, secondsPerRound: 1);
        var clock = Stopwatch.StartNew();
        await cluster.ComposeAsync(["up", "-d", "--no-recreate", "--scale", "worker=5"], TimeSpan.FromMinutes(6));
        await cluster.WaitForMembersAsync(m => m.Count(x => x.Roles.Contains("worker") && x.Status == "up") == 5, Formation, "5 workers Up");
        output.WriteLine($"scaled to 5 workers: all Up after {clock.Elapsed.TotalSeconds:F0} s");
        // Compose stops the two highest-numbered workers (SIGTERM: they leave and hand their shards off).
        await cluster.ComposeAsync(["up", "-d", "--no-recreate", "--scale", "worker=3"], TimeSpan.FromMinutes(6));
        await cluster.WaitForMembersAsync(m => m.Count(x => x.Roles.Contains("worker")) == 3, Formation, "3 workers left");
        output.WriteLine($"scaled back to 3 workers after {clock.Elapsed.TotalSeconds:F0} s");

        var rows = await EveryTaskCompletedOnceAsync("scale-", ids);
        output.WriteLine("tasks per node: " + string.Join(", ", rows.GroupBy(r => r.Node).Select(g => $"{g.Key} {g.Count()}")));
    });

    [Fact, Step(6)]
    public Task Compose_down_leaves_no_containers() => Diagnosed(async () =>
    {
        Assert.NotEmpty(await cluster.ContainersAsync());
        await cluster.ComposeAsync(["down", "-v", "--timeout", "40"], TimeSpan.FromMinutes(5));
        Assert.Empty(await cluster.ContainersAsync());
        // Workers run tasks as processes inside their own containers, so no task container exists anywhere.
        Assert.Empty((await cluster.ContainersAsync(project: false)).Except(cluster.OtherContainersBefore));
    });

    private static List<string> Ids(string prefix, int count) => Enumerable.Range(1, count).Select(i => $"{prefix}-{i:D3}").ToList();

    /// <summary>Back to three healthy workers, whatever the previous step left.</summary>
    private async Task RestoreWorkersAsync()
    {
        await cluster.ComposeAsync(["up", "-d", "--no-recreate", "--scale", $"worker={ComposeCluster.Workers}"], TimeSpan.FromMinutes(6));
        await cluster.WaitAllHealthyAsync(ComposeCluster.Members(ComposeCluster.Workers) + 2, Formation);
        await cluster.WaitForMembersAsync(m => m.Count(x => x.Status == "up") == ComposeCluster.Members(ComposeCluster.Workers), Formation, "7 members Up");
    }

    /// <summary>The worker running the most of these tasks, once a few are running.</summary>
    private async Task<(string Container, string Address)> BusiestWorkerAsync(string idPrefix)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (true)
        {
            var running = (await cluster.TasksAsync(idPrefix)).Where(r => r.Status == "running" && r.Node is not null).ToList();
            if (running.Count >= 10 || DateTime.UtcNow > deadline)
            {
                Assert.NotEmpty(running);
                var busiest = running.GroupBy(r => r.Node!).OrderByDescending(g => g.Count()).First();
                foreach (var id in await cluster.ContainersAsync("worker", running: true))
                {
                    var address = await cluster.AddressAsync(id);
                    if (busiest.Key == $"{address}:4053")
                    {
                        output.WriteLine($"{busiest.Count()} of {running.Count} running tasks on {address}");
                        return (id, address);
                    }
                }
                throw new InvalidOperationException($"no worker container has the address of {busiest.Key}");
            }
            await Task.Delay(500);
        }
    }

    private async Task<List<string>> ListBucketAsync()
    {
        using var s3 = new AmazonS3Client(new BasicAWSCredentials("S3RVER", "S3RVER"),
            new AmazonS3Config { ServiceURL = cluster.S3Endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1" });
        var keys = new List<string>();
        var request = new ListObjectsV2Request { BucketName = "megaflow" };
        ListObjectsV2Response page;
        do
        {
            page = await s3.ListObjectsV2Async(request);
            keys.AddRange((page.S3Objects ?? []).Select(o => o.Key));
            request.ContinuationToken = page.NextContinuationToken;
        } while (page.IsTruncated == true);
        return keys;
    }

    /// <summary>Waits for the tasks to finish, then checks the journal: none lost, none with two terminal
    /// events; and every task completed. Returns the read model's rows.</summary>
    private async Task<List<TaskRow>> EveryTaskCompletedOnceAsync(string idPrefix, IReadOnlyList<string> ids)
    {
        var rows = await cluster.WaitFinishedAsync(idPrefix, ids.Count, Run);
        var journal = await cluster.VerifyJournalAsync(ids);
        Report(journal);
        Assert.Empty(journal.Lost);
        Assert.Empty(journal.MoreThanOneTerminal);
        Assert.All(rows, r => Assert.Equal("completed", r.Status));
        return rows;
    }

    private void Report(RunVerification v)
    {
        foreach (var r in cluster.Resubmissions) output.WriteLine($"submission sent again after: {r}");
        cluster.Resubmissions.Clear();
        output.WriteLine($"journal: {v.Outcomes.Completed} completed, {v.Lost.Count} lost, {v.MoreThanOneTerminal.Count} with two terminal events, " +
                         $"{v.InfrastructureFailures} infrastructure failures retried ({string.Join("; ", v.InfrastructureReasons.Select(r => $"{r.Count}× {r.Reason}"))})");
    }

    /// <summary>On failure, the cluster's recent logs go to the test output before the assertion.</summary>
    private async Task Diagnosed(Func<Task> body)
    {
        try { await body(); }
        catch
        {
            output.WriteLine(await cluster.LogsAsync());
            throw;
        }
    }
}
