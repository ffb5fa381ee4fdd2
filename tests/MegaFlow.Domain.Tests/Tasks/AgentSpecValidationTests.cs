using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Domain.Tests.Tasks;

/// <summary>The spec's <c>agent</c>: scripted by default, model with its endpoint settings, every mistake naming agent.&lt;field&gt;.</summary>
public sealed class AgentSpecValidationTests
{
    private static readonly IReadOnlyDictionary<string, string> Problem =
        new Dictionary<string, string> { [TaskSpecValidator.ProblemStatementKey] = "Fix the parser." };

    private static TaskSpec Model(AgentSpec? agent = null) => Specs.Valid() with
    {
        Actions = null,
        Agent = agent ?? new AgentSpec { Kind = AgentKinds.Model },
        Metadata = Problem,
    };

    private static ValidationError Single(TaskSpec spec) => Assert.Single(TaskSpecValidator.Validate(spec));

    [Fact]
    public void A_spec_without_an_agent_is_scripted_and_needs_its_actions()
    {
        var spec = Specs.Valid();
        Assert.Null(spec.Agent);
        Assert.Equal(AgentKinds.Scripted, spec.AgentKind);
        Assert.Empty(TaskSpecValidator.Validate(spec));

        var error = Single(spec with { Actions = null });
        Assert.Equal("actions", error.Field);
        Assert.Contains("required for the scripted agent", error.Message);
    }

    [Fact]
    public void A_named_scripted_agent_needs_actions_too()
    {
        Assert.Empty(TaskSpecValidator.Validate(Specs.Valid() with { Agent = AgentSpec.Default }));
        Assert.Equal("actions", Single(Specs.Valid() with { Agent = AgentSpec.Default, Actions = null }).Field);
    }

    [Fact]
    public void A_model_agent_needs_no_actions_and_takes_the_cluster_endpoint_by_default()
    {
        Assert.Empty(TaskSpecValidator.Validate(Model()));
        Assert.Equal(AgentKinds.Model, Model().AgentKind);
    }

    [Fact]
    public void A_model_agent_with_every_setting_passes()
    {
        Assert.Empty(TaskSpecValidator.Validate(Model(new AgentSpec
        {
            Kind = AgentKinds.Model, Endpoint = "https://api.example.com/v1", Model = "coder-7b", ApiKeyEnv = "EXAMPLE_API_KEY",
            Template = "swe-v1", Temperature = 0, MaxTokens = 4096,
        })));
    }

    [Theory]
    [InlineData("shell")]
    [InlineData("Model")]
    [InlineData("gpt")]
    public void An_unknown_kind_is_an_error_naming_agent_kind(string kind)
    {
        var error = Single(Model(new AgentSpec { Kind = kind }));
        Assert.Equal("agent.kind", error.Field);
        Assert.Contains($"unknown agent kind '{kind}'", error.Message);
        Assert.Contains("scripted, model or command", error.Message);
    }

    [Fact]
    public void A_missing_kind_is_an_error_naming_agent_kind() =>
        Assert.Equal("agent.kind", Single(Model(new AgentSpec { Kind = " " })).Field);

    [Fact]
    public void A_model_agent_needs_a_problem_statement()
    {
        var error = Single(Model() with { Metadata = null });
        Assert.Equal("metadata.problem_statement", error.Field);
    }

    public static TheoryData<AgentSpec, string> BadModelSettings => new()
    {
        { new() { Kind = "model", Endpoint = "localhost:8000/v1", Model = "m" }, "agent.endpoint" },
        { new() { Kind = "model", Endpoint = "ftp://host/v1", Model = "m" }, "agent.endpoint" },
        { new() { Kind = "model", Endpoint = "http://user:secret@host/v1", Model = "m" }, "agent.endpoint" },
        { new() { Kind = "model", Endpoint = "http://host:8000/v1" }, "agent.model" },
        { new() { Kind = "model", Model = "" }, "agent.model" },
        { new() { Kind = "model", ApiKeyEnv = "sk-abc123-the-key-itself" }, "agent.apiKeyEnv" },
        { new() { Kind = "model", Template = "swe-v9" }, "agent.template" },
        { new() { Kind = "model", Temperature = 2.5 }, "agent.temperature" },
        { new() { Kind = "model", Temperature = double.NaN }, "agent.temperature" },
        { new() { Kind = "model", MaxTokens = 0 }, "agent.maxTokens" },
    };

    [Theory]
    [MemberData(nameof(BadModelSettings))]
    public void A_bad_model_setting_is_an_error_naming_it(AgentSpec agent, string field) =>
        Assert.Equal(field, Single(Model(agent)).Field);

    [Fact]
    public void Model_settings_given_to_the_scripted_agent_are_errors_not_silently_ignored()
    {
        var errors = TaskSpecValidator.Validate(Specs.Valid() with { Agent = new AgentSpec { Kind = "scripted", Model = "m", Temperature = 1 } });
        Assert.Equal(["agent.model", "agent.temperature"], errors.Select(e => e.Field));
    }

    [Fact]
    public void A_command_agent_needs_its_program_and_neither_actions_nor_a_problem_statement()
    {
        var command = Specs.Valid() with { Actions = null, Agent = new AgentSpec { Kind = AgentKinds.Command, Command = "python3 agent.py" } };
        Assert.Empty(TaskSpecValidator.Validate(command));
        var error = Single(command with { Agent = command.Agent! with { Command = " " } });
        Assert.Equal("agent.command", error.Field);
        Assert.Contains("is required for the command agent", error.Message);
    }

    [Fact]
    public void Prompt_and_sampling_settings_are_refused_for_the_command_agent_and_a_program_for_the_others()
    {
        var command = Specs.Valid() with { Agent = new AgentSpec { Kind = AgentKinds.Command, Command = "node agent.js", Template = "swe-v1", Temperature = 1, MaxTokens = 5 } };
        Assert.Equal(["agent.template", "agent.temperature", "agent.maxTokens"], TaskSpecValidator.Validate(command).Select(e => e.Field));
        Assert.Equal("agent.command", Single(Model(new AgentSpec { Kind = AgentKinds.Model, Command = "x" })).Field);
        Assert.Equal("agent.command", Single(Specs.Valid() with { Agent = new AgentSpec { Kind = AgentKinds.Scripted, Command = "x" } }).Field);
    }
}
