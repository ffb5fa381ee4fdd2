using Akka.Actor;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Hosting;
using MegaFlow.Hosting.Persistence;
using MegaFlow.Protocol.Tasks;
using MegaFlow.Storage.S3;
using static MegaFlow.Contracts.Tasks.TaskProtocol;
using TaskStatus = MegaFlow.Contracts.Tasks.TaskStatus;

namespace MegaFlow.Storage.Tests;

/// <summary>
/// A node configured for S3 artifacts puts its tasks' large step outputs in the bucket, and rides out
/// the S3 server being down for 30 s: writes are retried, tasks continue (or, past the outage
/// tolerance, fail their attempt as an infrastructure failure naming S3 and are retried), and nothing
/// already stored is lost.
/// </summary>
public sealed class NodeArtifactsTests : IAsyncLifetime
{
    private S3Server _server = null!;
    private string _dataDir = null!;

    public async Task InitializeAsync()
    {
        _server = await S3Server.StartAsync();
        _dataDir = Directory.CreateTempSubdirectory("megaflow-s3-node-").FullName;
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task Large_step_outputs_land_in_the_bucket_and_the_step_names_their_object()
    {
        await using var node = await StartNodeAsync("node-test/");
        var spec = new TaskSpec
        {
            TaskId = "s3-big",
            Mode = "ephemeral",
            Image = "local",
            Actions = ["head -c 100000 /dev/zero | tr '\\0' y", "echo small"],
            ScoreCommand = "true",
        };
        Assert.IsType<SubmitAccepted>(await TaskGateway.SubmitAsync(node.Refs.Tasks, spec, TimeSpan.FromSeconds(30), default));

        var state = await FinishedAsync(node, "s3-big", TimeSpan.FromSeconds(60));

        Assert.Equal(TaskStatus.Completed, state.Status);
        var location = state.Steps[0].ArtifactPath;
        Assert.NotNull(location);
        Assert.StartsWith($"s3://{S3Server.Bucket}/node-test/", location);
        Assert.Null(state.Steps[1].ArtifactPath);
        // Listed and read back through the S3 API, not the file system.
        using var store = new S3ArtifactStore(_server.Settings(prefix: "node-test/"));
        var listed = Assert.Single(await store.ListAsync());
        Assert.Equal(location, store.Location(listed.Key));
        Assert.Equal(100_000, listed.Size);
        Assert.False(Directory.Exists(Path.Combine(_dataDir, "artifacts")), "nothing went to the local artifact folder");
    }

    [Theory]
    [InlineData(60, "continue")]
    [InlineData(4, "fail their attempt and are retried")]
    public async Task The_S3_server_stopped_for_30_s_during_a_run_loses_nothing(int outageToleranceSeconds, string tasks)
    {
        var prefix = $"outage-{outageToleranceSeconds}/";
        await using var node = await StartNodeAsync(prefix, $"megaflow.artifacts.s3.outage-tolerance = {outageToleranceSeconds}s");
        // Each round writes a 100 kB output to the bucket; eight rounds a second apart span the outage.
        var ids = Enumerable.Range(1, 4).Select(i => $"outage-{i}").ToList();
        foreach (var id in ids)
            Assert.IsType<SubmitAccepted>(await TaskGateway.SubmitAsync(node.Refs.Tasks, new TaskSpec
            {
                TaskId = id,
                Mode = "ephemeral",
                Image = "local",
                Actions = [.. Enumerable.Repeat("sleep 1; head -c 100000 /dev/zero | tr '\\0' y", 8)],
                ScoreCommand = "true",
            }, TimeSpan.FromSeconds(30), default));
        using var store = new S3ArtifactStore(_server.Settings(prefix));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await store.ListAsync()).Count < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "no step output reached the bucket before the outage");
            await Task.Delay(200);
        }
        var storedBefore = await store.ListAsync();

        _server.Kill();
        var down = DateTimeOffset.UtcNow;
        await Task.Delay(TimeSpan.FromSeconds(30));
        var up = DateTimeOffset.UtcNow;
        await _server.RestartAsync();

        var states = new List<TaskState>();
        foreach (var id in ids) states.Add(await FinishedAsync(node, id, TimeSpan.FromMinutes(3)));
        var failedAttempts = states.SelectMany(s => s.History).Where(a => a.Outcome != "completed").ToList();
        if (tasks == "continue")
        {
            Assert.All(states, s => Assert.Equal(TaskStatus.Completed, s.Status));
            Assert.Empty(failedAttempts);
            // A round whose command ended while the server was down (its write waited for the server)
            // still has its full output in the bucket.
            var during = states.SelectMany(s => s.Steps)
                .Where(step => step.StartedAt.AddMilliseconds(step.DurationMs) > down && step.StartedAt < up).ToList();
            Assert.NotEmpty(during);
            foreach (var step in during)
                Assert.Equal(100_000, (await store.ReadLocationAsync(Assert.IsType<string>(step.ArtifactPath), default))!.Length);
        }
        else
        {
            // Retried on the infrastructure budget: completed once the server was back, or, with the budget
            // spent during the outage, failed as an infrastructure failure; every failure names S3.
            Assert.NotEmpty(failedAttempts);
            Assert.All(failedAttempts, a => Assert.Contains($"S3 artifact store {_server.Endpoint}", a.Reason));
            Assert.All(failedAttempts, a => Assert.True(a.Outcome is "infrastructure-failure" or "failed", a.Outcome));
            Assert.All(states.Where(s => s.Status != TaskStatus.Completed), s => Assert.Equal(FailureKind.Infrastructure, s.FailureKind));
        }
        // Nothing stored before the outage is lost, and every finished round's output is in the bucket.
        var storedAfter = (await store.ListAsync()).ToDictionary(o => o.Key, o => o.Size);
        Assert.All(storedBefore, o => Assert.Equal(o.Size, storedAfter[o.Key]));
        foreach (var step in states.Where(s => s.Status == TaskStatus.Completed).SelectMany(s => s.Steps))
            Assert.Equal(100_000, (await store.ReadLocationAsync(Assert.IsType<string>(step.ArtifactPath), default))!.Length);
    }

    private async Task<RunningNode> StartNodeAsync(string prefix, string extraHocon = "")
    {
        var settings = new NodeSettings
        {
            Port = 0,
            DataDir = Path.Combine(_dataDir, prefix.TrimEnd('/')),
            Provider = "local",
            S3Artifacts = new S3Location(_server.Endpoint, S3Server.Bucket, prefix),
            ExtraHocon = $"""
                akka.loglevel = WARNING
                megaflow.artifacts.s3 {'{'} access-key-env = {S3Server.AccessKeyEnv}, secret-key-env = {S3Server.SecretKeyEnv} {'}'}
                {extraHocon}
                """,
        };
        await SchemaInitializer.EnsureAsync(settings, TimeSpan.FromMinutes(1));
        return await RunningNode.StartSingleNodeAsync(settings);
    }

    private static async Task<TaskState> FinishedAsync(RunningNode node, string taskId, TimeSpan within)
    {
        TaskState state;
        var deadline = DateTime.UtcNow + within;
        while (!(state = await node.Refs.Tasks.Ask<TaskState>(new GetTaskState(taskId), TimeSpan.FromSeconds(10))).Status.IsTerminal())
        {
            Assert.True(DateTime.UtcNow < deadline, $"{taskId} still {state.Status}");
            await Task.Delay(200);
        }
        return state;
    }
}
