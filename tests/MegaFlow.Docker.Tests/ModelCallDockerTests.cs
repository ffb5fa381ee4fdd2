using MegaFlow.Cluster.Tests.Infrastructure;
using MegaFlow.Contracts.Environments;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Environments.Docker;
using MegaFlow.Hosting;

namespace MegaFlow.Docker.Tests;

/// <summary>
/// Model calls of tasks whose environments are containers. An agent program in a container calls its
/// model through the node's gateway over the internal gateway network: the container reaches the
/// gateway (on the host's address of that network) and nothing beyond the host; a task that calls no
/// model keeps network "none". And the model-agent task set of the local-process run
/// (<see cref="ChoiceTaskSet"/>) on Docker: fifty tasks, each in its own container, every decision a
/// call through the node's gateway (the model agent runs in the node, so these containers stay on "none").
/// </summary>
public sealed class ModelCallDockerTests : IAsyncLifetime
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

    // The image has BusyBox only: the program speaks HTTP/1.0 through nc to the URL and key the
    // environment was given, then checks that an address outside the host is unreachable. The request
    // side stays open until nc has the answer: nc would otherwise half-close the connection after the
    // request, which Kestrel takes for the client going away (real HTTP clients do not half-close).
    private const string Program = """
        echo "calling $OPENAI_BASE_URL"
        u=${OPENAI_BASE_URL#http://}; hp=${u%%/*}; path=/${u#*/}
        body='{"model":"x","messages":[{"role":"user","content":"hi"}],"max_tokens":4}'
        (printf 'POST %s/chat/completions HTTP/1.0\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %s\r\n\r\n%s' "$path" "$hp" "$OPENAI_API_KEY" "${#body}" "$body"
         while [ ! -e /tmp/done ]; do sleep 0.1; done) | { nc -w 30 ${hp%:*} ${hp#*:} > /tmp/reply; touch /tmp/done; }
        head -1 /tmp/reply
        if nc -w 2 1.1.1.1 80 </dev/null; then echo outside reachable; else echo outside unreachable; fi
        """;

    [Fact]
    public async Task A_command_agent_in_a_container_reaches_the_gateway_over_the_internal_network_and_its_call_is_recorded()
    {
        await using var model = await LocalModelService.StartAsync();
        using var provider = DockerEngine.Provider(_cluster, node: "gw-node");
        await using var node = await DockerNode.StartAsync(_storage.Node(extraHocon: model.Hocon), provider);
        var agent = Specs.Simple("gw-docker", score: "head -1 /tmp/reply | grep -q ' 200 '") with
        {
            Image = DockerEngine.BaseImage,
            Pool = "pool-gw",
            Actions = null,
            Agent = new AgentSpec { Kind = AgentKinds.Command, Command = Program },
        };
        var plain = Specs.Simple("gw-plain", actions: ["sleep 3"]) with { Image = DockerEngine.BaseImage, Pool = "pool-plain" };

        await TestCluster.SubmitAllAsync(node.Refs.Tasks, [agent, plain]);
        var networks = new Dictionary<string, string>();
        using var client = DockerEngine.Client();
        await TestCluster.Eventually(async () =>
        {
            foreach (var c in await DockerEngine.ContainersAsync(_cluster))
                if (c.Labels.TryGetValue(DockerProvider.TaskLabel, out var task))
                    networks[task] = (await client.Containers.InspectContainerAsync(c.ID)).HostConfig.NetworkMode;
            return networks.Count == 2;
        }, TimeSpan.FromSeconds(60), "both tasks' containers");
        var states = (await TestCluster.WaitForTerminalAsync(node.Refs.Tasks, ["gw-docker", "gw-plain"], TimeSpan.FromSeconds(120))).ToDictionary(s => s.TaskId);

        Assert.Equal("megaflow-gateway", networks["gw-docker"]);
        Assert.Equal("none", networks["gw-plain"]);
        var state = states["gw-docker"];
        Assert.True(state.Status == TaskStatus.Completed, $"{state.Status}: {state.FailureReason} {state.Steps.FirstOrDefault()?.Output}");
        var output = Assert.Single(state.Steps).Output;
        Assert.True(state.Score!.Reward == 1.0, output);
        Assert.Contains(" 200 ", output);
        Assert.Contains("outside unreachable", output);
        var call = Assert.Single((await _storage.Journal().ReadAllAsync("task-gw-docker")).Select(r => r.Event).OfType<TaskEvents.ModelCallRecorded>()).Call;
        Assert.Equal((200, LocalModelService.WeightVersion), (call.Status, call.WeightVersion));
        Assert.True(call.CompletionTokens is > 0 and <= 4);
        Assert.Equal(TaskStatus.Completed, states["gw-plain"].Status);
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
