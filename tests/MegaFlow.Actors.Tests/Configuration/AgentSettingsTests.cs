using MegaFlow.Hosting;

namespace MegaFlow.Actors.Tests.Configuration;

/// <summary>megaflow.agents reaches the model agent's settings; a bad endpoint stops the node at start, naming the key.</summary>
public sealed class AgentSettingsTests
{
    private static Akka.Configuration.Config Megaflow(string extra = "") =>
        MegaFlowConfig.Build(new NodeSettings { ExtraHocon = extra }).GetConfig("megaflow");

    [Fact]
    public void The_defaults_point_at_the_model_service_on_this_host()
    {
        var s = MegaFlowNode.ReadModelAgentSettings(Megaflow());

        Assert.Equal(new Uri("http://127.0.0.1:8000/v1"), s.DefaultEndpoint);
        Assert.Equal("megaflow-policy", s.DefaultModel);
        Assert.Equal("", s.DefaultApiKeyEnv);
        Assert.Equal(3, s.Retries);
        Assert.Equal(TimeSpan.FromMilliseconds(500), s.RetryBackoff);
    }

    [Fact]
    public void Overrides_reach_the_settings()
    {
        var s = MegaFlowNode.ReadModelAgentSettings(Megaflow("""
            megaflow.agents {
              model-endpoint = "http://model-1.internal:8000/v1"
              model = "policy-7"
              api-key-env = "MODEL_KEY"
              retries = 5
              retry-backoff = 2s
              request-timeout = 30s
              observation-chars = 1000
              format-retries = 0
            }
            """));

        Assert.Equal(new Uri("http://model-1.internal:8000/v1"), s.DefaultEndpoint);
        Assert.Equal(("policy-7", "MODEL_KEY", 5), (s.DefaultModel, s.DefaultApiKeyEnv, s.Retries));
        Assert.Equal((TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30)), (s.RetryBackoff, s.RequestTimeout));
        Assert.Equal((1000, 0), (s.ObservationChars, s.FormatRetries));
    }

    [Fact]
    public void An_endpoint_that_is_not_an_http_url_is_refused_naming_the_key()
    {
        var e = Assert.Throws<ArgumentException>(() => MegaFlowNode.ReadModelAgentSettings(Megaflow("megaflow.agents.model-endpoint = \"model-1:8000\"")));
        Assert.StartsWith("megaflow.agents.model-endpoint: 'model-1:8000' is not an absolute http(s) URL", e.Message);
    }
}
