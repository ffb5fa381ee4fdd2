using System.Text.Json;
using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Datasets.Tests;

/// <summary>The <c>agent</c> field of a task record: a kind or an object, every mistake line-numbered and naming agent.&lt;field&gt;.</summary>
public sealed class AgentFieldTests
{
    private const string Base = "\"mode\":\"ephemeral\",\"image\":\"img\",\"scoreCommand\":\"true\",\"metadata\":{\"problem_statement\":\"Fix it.\"}";

    /// <summary>A record of task <paramref name="id"/> with <paramref name="extra"/> members (each starting with a comma).</summary>
    private static string Line(string extra = "", string id = "t1") => "{\"taskId\":\"" + id + "\"," + Base + extra + "}";

    private static DatasetReadResult Read(params string[] lines) => DatasetReader.Read(new StringReader(string.Join("\n", lines)));

    private static string Only(DatasetReadResult r) => Assert.Single(r.Errors).ToString();

    [Fact]
    public void A_model_task_needs_no_actions()
    {
        var result = Read(Line(",\"agent\":\"model\""));

        Assert.False(result.HasErrors, string.Join("; ", result.Errors));
        var spec = Assert.Single(result.Specs);
        Assert.Equal(AgentKinds.Model, spec.AgentKind);
        Assert.Null(spec.Actions);
    }

    [Fact]
    public void The_object_form_carries_every_setting()
    {
        var result = Read(Line(
            ""","agent":{"kind":"model","endpoint":"http://10.0.0.5:8000/v1","model":"coder-7b","apiKeyEnv":"VLLM_KEY","template":"swe-v1","temperature":0.2,"maxTokens":512}"""));

        Assert.False(result.HasErrors, string.Join("; ", result.Errors));
        Assert.Equal(new AgentSpec
        {
            Kind = "model", Endpoint = "http://10.0.0.5:8000/v1", Model = "coder-7b", ApiKeyEnv = "VLLM_KEY",
            Template = "swe-v1", Temperature = 0.2, MaxTokens = 512,
        }, Assert.Single(result.Specs).Agent);
    }

    [Fact]
    public void A_record_without_an_agent_is_scripted_and_still_needs_its_actions()
    {
        Assert.Equal("line 1: actions: missing required field", Only(Read(Line())));
        Assert.Equal("line 1: actions: missing required field", Only(Read(Line(",\"agent\":\"scripted\""))));
        Assert.Null(Assert.Single(Read(Line(",\"actions\":[\"ls\"]")).Specs).Agent);
    }

    [Theory]
    [InlineData("\"robot\"", "agent.kind: unknown agent kind 'robot' (expected scripted, model or command)")]
    [InlineData("{\"kind\":\"robot\"}", "agent.kind: unknown agent kind 'robot' (expected scripted, model or command)")]
    [InlineData("3", "agent: must be an agent kind (scripted, model or command) or an object (got number 3)")]
    [InlineData("null", "agent: must be an agent kind or an object (got null)")]
    [InlineData("{\"model\":\"m\"}", "agent.kind: missing required field (scripted, model or command)")]
    [InlineData("{\"kind\":\"model\",\"api_key_env\":\"K\"}", "agent: unknown field 'api_key_env' (did you mean 'apiKeyEnv'?)")]
    [InlineData("{\"kind\":\"model\",\"base_url\":\"http://h/v1\"}", "agent: unknown field 'base_url' (did you mean 'endpoint'?)")]
    [InlineData("{\"kind\":\"model\",\"temperature\":\"hot\"}", "agent.temperature: must be a number (got string \"hot\")")]
    [InlineData("{\"kind\":\"model\",\"maxTokens\":1.5}", "agent.maxTokens: must be an integer (got number 1.5)")]
    [InlineData("{\"kind\":\"model\",\"model\":7}", "agent.model: must be a string (got number 7)")]
    [InlineData("{\"kind\":\"model\",\"kind\":\"model\"}", "agent.kind: appears more than once")]
    [InlineData("{\"kind\":\"model\",\"endpoint\":\"http://h:1/v1\"}", "agent.model: is required when agent.endpoint names an external endpoint")]
    [InlineData("{\"kind\":\"model\",\"apiKeyEnv\":\"sk-123\"}", "agent.apiKeyEnv: 'sk-123' is not an environment variable name (letters, digits, '_'; the key itself never goes in a spec)")]
    public void A_bad_agent_is_one_line_numbered_error_naming_the_field(string agent, string expected) =>
        Assert.Equal($"line 2: {expected}", Only(Read(Line(",\"actions\":[]", id: "t0"), Line(",\"agent\":" + agent))));

    [Fact]
    public void The_management_api_binds_the_agent_case_insensitively_and_reads_null_members_as_not_given()
    {
        using var doc = JsonDocument.Parse("""{"taskId":"t1","mode":"ephemeral","image":"img","scoreCommand":"true","actions":null,"metadata":{"problem_statement":"x"},"agent":{"Kind":"model","endpoint":null,"MODEL":"m","apiKeyEnv":null,"template":null,"temperature":null,"maxTokens":null}}""");

        var bound = TaskRecordBinder.Bind(doc.RootElement, TaskRecordSource.ManagementApi);

        Assert.Empty(bound.Errors);
        Assert.Equal(new AgentSpec { Kind = "model", Model = "m" }, Assert.Single(bound.Specs).Agent);
    }

    [Fact]
    public void A_spec_as_the_cli_sends_it_binds_back_to_the_same_agent()
    {
        var spec = new TaskSpec
        {
            TaskId = "t1", Mode = "ephemeral", Image = "img", ScoreCommand = "true",
            Agent = new AgentSpec { Kind = "model", Endpoint = "http://h:8000/v1", Model = "m", Temperature = 0.5 },
            Metadata = new Dictionary<string, string> { ["problem_statement"] = "x" },
        };
        using var doc = JsonDocument.Parse(JsonSerializer.Serialize(spec, MegaFlow.Contracts.Management.ManagementJson.Options));

        var bound = TaskRecordBinder.Bind(doc.RootElement, TaskRecordSource.ManagementApi);

        Assert.Empty(bound.Errors);
        Assert.Equal(spec.Agent, Assert.Single(bound.Specs).Agent);
    }
}
