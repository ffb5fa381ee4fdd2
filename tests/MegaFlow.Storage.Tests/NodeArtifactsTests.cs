using Akka.Actor;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Hosting;
using MegaFlow.Hosting.Persistence;
using MegaFlow.Protocol.Tasks;
using MegaFlow.Storage.S3;
using static MegaFlow.Contracts.Tasks.TaskProtocol;
using TaskStatus = MegaFlow.Contracts.Tasks.TaskStatus;

namespace MegaFlow.Storage.Tests;

/// <summary>A node configured for S3 artifacts puts its tasks' large step outputs in the bucket.</summary>
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
        var settings = new NodeSettings
        {
            Port = 0,
            DataDir = _dataDir,
            Provider = "local",
            S3Artifacts = new S3Location(_server.Endpoint, S3Server.Bucket, "node-test/"),
            ExtraHocon = $"""
                akka.loglevel = WARNING
                megaflow.artifacts.s3 {'{'} access-key-env = {S3Server.AccessKeyEnv}, secret-key-env = {S3Server.SecretKeyEnv} {'}'}
                """,
        };
        await SchemaInitializer.EnsureAsync(settings, TimeSpan.FromMinutes(1));
        await using var node = await RunningNode.StartSingleNodeAsync(settings);
        var spec = new TaskSpec
        {
            TaskId = "s3-big",
            Mode = "ephemeral",
            Image = "local",
            Actions = ["head -c 100000 /dev/zero | tr '\\0' y", "echo small"],
            ScoreCommand = "true",
        };
        Assert.IsType<SubmitAccepted>(await TaskGateway.SubmitAsync(node.Refs.Tasks, spec, TimeSpan.FromSeconds(30), default));

        TaskState state;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!(state = await node.Refs.Tasks.Ask<TaskState>(new GetTaskState("s3-big"), TimeSpan.FromSeconds(10))).Status.IsTerminal())
        {
            Assert.True(DateTime.UtcNow < deadline, $"task still {state.Status}");
            await Task.Delay(200);
        }

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
}
