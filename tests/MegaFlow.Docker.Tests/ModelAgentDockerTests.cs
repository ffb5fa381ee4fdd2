using MegaFlow.Cluster.Tests.Infrastructure;
using MegaFlow.Contracts.Environments;
using MegaFlow.Hosting;

namespace MegaFlow.Docker.Tests;

/// <summary>
/// The model-agent task set of the local-process run (<see cref="ChoiceTaskSet"/>) on Docker: fifty
/// tasks, each in its own container, every decision a call to our model service through the node's
/// gateway. The containers stay on network "none": the model agent runs in the node, not in them.
/// </summary>
public sealed class ModelAgentDockerTests : IAsyncLifetime
{
    private readonly string _cluster = DockerEngine.NewClusterLabel();
    private TestStorage _storage = null!;

    public async Task InitializeAsync()
    {
        await DockerEngine.RequireAsync();
        _storage = await TestStorage.CreateAsync(PersistenceBackend.Sqlite);
        await _storage.EnsureSchemaAsync();
    }

    public async Task DisposeAsync()
    {
        await DockerEngine.RemoveAllAsync(_cluster);
        await _storage.DisposeAsync();
    }

    [Fact]
    public async Task Fifty_model_agent_tasks_run_in_containers_with_every_call_recorded_with_its_weight_version_and_tokens()
    {
        await using var model = await LocalModelService.StartAsync();
        using var provider = DockerEngine.Provider(_cluster, node: "model-node");
        await using var node = await DockerNode.StartAsync(_storage.Node(extraHocon: model.Hocon), provider);
        var specs = ChoiceTaskSet.Specs("docker-choice", 50, s => s with { Image = DockerEngine.BaseImage, Pool = "pool-choice" });

        await TestCluster.SubmitAllAsync(node.Refs.Tasks, specs);
        var states = await TestCluster.WaitForTerminalAsync(node.Refs.Tasks, specs.Select(s => s.TaskId!).ToList(), TimeSpan.FromMinutes(5));

        Assert.Equal(50, states.Count);
        ChoiceTaskSet.AssertRanThrough(states, LocalModelService.WeightVersion);
        // Each task's environment was a container: the environments' journal says which provider made them.
        var provisioned = (await _storage.Journal().ReadAllAsync("env-")).Select(e => e.Event).OfType<EnvironmentEvents.Provisioned>().ToList();
        Assert.Equal(50, provisioned.Count);
        Assert.All(provisioned, p => Assert.Equal("docker", p.Handle.Provider));
    }
}
