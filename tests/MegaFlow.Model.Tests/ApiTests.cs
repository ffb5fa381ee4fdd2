using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using MegaFlow.Model.Inference;
using MegaFlow.Model.Policy;
using MegaFlow.ModelService.Hosting;
using OpenAI;
using OpenAI.Chat;

namespace MegaFlow.Model.Tests;

/// <summary>The OpenAI-compatible API, through the official .NET client and raw HTTP.</summary>
public sealed class ApiTests(ModelServerFixture f) : IClassFixture<ModelServerFixture>
{
    private const string Model = ModelServerFixture.ModelName;

    private async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> Post(string path, string json)
    {
        var response = await f.Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return (response.StatusCode, body, response);
    }

    private static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();

    private static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(x => x.GetDouble()).ToArray();

    [Fact]
    public async Task Models_lists_the_served_model_with_its_weight_version()
    {
        var body = JsonDocument.Parse(await f.Http.GetStringAsync("v1/models")).RootElement;
        var model = body.GetProperty("data")[0];
        Assert.Equal(Model, model.GetProperty("id").GetString());
        Assert.Equal(3, model.GetProperty("megaflow").GetProperty("weight_version").GetInt64());
        Assert.Equal("megaflow-chat-v1", model.GetProperty("megaflow").GetProperty("chat_template").GetString());
    }

#pragma warning disable OPENAI001 // Seed is marked experimental in the client
    [Fact]
    public async Task The_official_OpenAI_dotnet_client_completes_a_chat_with_logprobs_equal_to_the_training_pass()
    {
        var client = new ChatClient(Model, new ApiKeyCredential("not-checked"), new OpenAIClientOptions { Endpoint = new Uri(f.Server.BaseAddress, "v1") });
        var options = new ChatCompletionOptions { IncludeLogProbabilities = true, TopLogProbabilityCount = 3, MaxOutputTokenCount = 20, Temperature = 0.9f, Seed = 11 };
        var result = await client.CompleteChatAsync([new SystemChatMessage("You are a tiny policy."), new UserChatMessage("What now?")], options);
#pragma warning restore OPENAI001
        var completion = result.Value;
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);

        // The extra fields: the exact token ids and the weight version.
        var raw = JsonDocument.Parse(result.GetRawResponse().Content.ToString()).RootElement;
        Assert.Equal(3, raw.GetProperty("megaflow").GetProperty("weight_version").GetInt64());
        var prompt = Ints(raw.GetProperty("megaflow").GetProperty("prompt_token_ids"));
        var extras = raw.GetProperty("choices")[0].GetProperty("megaflow");
        var ids = Ints(extras.GetProperty("token_ids"));
        var logprobs = Doubles(extras.GetProperty("token_logprobs"));
        Assert.Equal(completion.Usage.OutputTokenCount, ids.Length);
        Assert.Equal(prompt.Length, completion.Usage.InputTokenCount);

        // What the client parsed: one entry per visible token, the same numbers, 3 alternatives each.
        var parsed = completion.ContentTokenLogProbabilities;
        var visible = completion.FinishReason == ChatFinishReason.Stop ? ids.Length - 1 : ids.Length;
        Assert.Equal(visible, parsed.Count);
        for (var i = 0; i < parsed.Count; i++)
        {
            Assert.Equal(logprobs[i], parsed[i].LogProbability, 1e-5);
            Assert.Equal(3, parsed[i].TopLogProbabilities.Count);
        }
        // And they are the training pass's log-probs for those tokens under the same weights.
        var expected = f.TrainingLogProbs(prompt, ids);
        Assert.All(logprobs.Zip(expected), p => Assert.True(Math.Abs(p.First - p.Second) < 1e-4, $"{p.First} vs {p.Second}"));
        Assert.Equal(MegaFlow.Model.Tokenization.ByteTokenizer.Decode(ids.Take(visible)), completion.Content.Count == 0 ? "" : completion.Content[0].Text);
    }

    [Fact]
    public async Task Completions_take_n_stop_seed_and_logprobs_and_report_usage()
    {
        var (status, body, _) = await Post("v1/completions", $$"""{"model":"{{Model}}","prompt":"Once upon","n":3,"max_tokens":10,"temperature":1.2,"top_p":0.9,"seed":7,"logprobs":2}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        var choices = body.GetProperty("choices").EnumerateArray().ToList();
        Assert.Equal(3, choices.Count);
        var completionTokens = 0;
        foreach (var c in choices)
        {
            var ids = Ints(c.GetProperty("megaflow").GetProperty("token_ids"));
            completionTokens += ids.Length;
            var lp = c.GetProperty("logprobs");
            Assert.Equal(lp.GetProperty("tokens").GetArrayLength(), lp.GetProperty("token_logprobs").GetArrayLength());
            Assert.All(lp.GetProperty("top_logprobs").EnumerateArray(), t => Assert.InRange(t.EnumerateObject().Count(), 1, 2));
        }
        Assert.Equal(completionTokens, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        // The same seed gives the same samples.
        var (_, again, _) = await Post("v1/completions", $$"""{"model":"{{Model}}","prompt":"Once upon","n":3,"max_tokens":10,"temperature":1.2,"top_p":0.9,"seed":7}""");
        Assert.Equal(choices.Select(c => c.GetProperty("text").GetString()), again.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("text").GetString()));
    }

    [Fact]
    public async Task Guided_choice_answers_one_of_the_given_strings()
    {
        var (status, body, _) = await Post("v1/chat/completions", $$"""{"model":"{{Model}}","messages":[{"role":"user","content":"act"}],"guided_choice":["north","south","wait"],"logprobs":true,"top_logprobs":2,"seed":1}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var choice = body.GetProperty("choices")[0];
        Assert.Contains(choice.GetProperty("message").GetProperty("content").GetString(), new[] { "north", "south", "wait" });
        var extras = choice.GetProperty("megaflow");
        Assert.Equal(extras.GetProperty("choice_logprob").GetDouble(), Doubles(extras.GetProperty("token_logprobs")).Sum(), 1e-9);
        Assert.Equal("guided-choice-constrained", body.GetProperty("megaflow").GetProperty("logprobs_definition").GetString());
    }

    [Fact]
    public async Task Bad_requests_are_openai_style_400s_naming_the_parameter_and_the_server_keeps_serving()
    {
        var longPrompt = new string('a', 600);
        (string Body, string? Param)[] cases =
        [
            ("{not json", null),
            ("""{"model":"no-such-model","messages":[{"role":"user","content":"x"}]}""", "model"),
            ($$"""{"model":"{{Model}}","messages":[{"role":"user","content":"x"}],"max_tokens":0}""", "max_tokens"),
            ($$"""{"model":"{{Model}}","messages":[{"role":"user","content":"x"}],"max_tokens":5000}""", "max_tokens"),
            ($$"""{"model":"{{Model}}","messages":[{"role":"user","content":"x"}],"max_completion_tokens":-1}""", "max_completion_tokens"),
            ($$"""{"model":"{{Model}}","messages":[{"role":"user","content":"x"}],"n":65}""", "n"),
            ($$"""{"model":"{{Model}}","messages":[{"role":"user","content":"{{longPrompt}}"}]}""", "messages"),
            ($$"""{"model":"{{Model}}","messages":[{"role":"user","content":"x"}],"temperature":"hot"}""", "temperature"),
            ($$"""{"model":"{{Model}}","messages":[{"role":"wizard","content":"x"}]}""", "messages[0].role"),
            ($$"""{"model":"{{Model}}","messages":[]}""", "messages"),
            ($$"""{"model":"{{Model}}","messages":[{"role":"user","content":"x"}],"top_logprobs":2}""", "top_logprobs"),
            ($$"""{"model":"{{Model}}","messages":[{"role":"user","content":"x"}],"guided_choice":["a","a"]}""", "guided_choice"),
            ($$"""{"model":"{{Model}}","prompt":"{{longPrompt}}"}""", "prompt"),
        ];
        foreach (var (json, param) in cases)
        {
            var path = json.Contains("\"prompt\"") ? "v1/completions" : "v1/chat/completions";
            var (status, body, _) = await Post(path, json);
            Assert.True(status == HttpStatusCode.BadRequest, $"{json} → {status}");
            var error = body.GetProperty("error");
            Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
            Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
            if (param is null) Assert.False(error.TryGetProperty("param", out _));
            else Assert.Equal(param, error.GetProperty("param").GetString());
        }
        var (ok, good, _) = await Post("v1/chat/completions", $$"""{"model":"{{Model}}","messages":[{"role":"user","content":"still there?"}],"max_tokens":4}""");
        Assert.Equal(HttpStatusCode.OK, ok);
        Assert.Equal(3, good.GetProperty("megaflow").GetProperty("weight_version").GetInt64());
    }

    [Fact]
    public async Task Sixty_four_concurrent_http_requests_take_fewer_forward_passes_than_requests()
    {
        var before = f.Engine.Counters;
        var requests = Enumerable.Range(0, 64).Select(i =>
            Post("v1/chat/completions", $$"""{"model":"{{Model}}","messages":[{"role":"user","content":"request {{i}}"}],"max_tokens":8,"seed":{{i}}}"""));
        var responses = await Task.WhenAll(requests);
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        var after = f.Engine.Counters;
        Assert.Equal(64, after.RequestsCompleted - before.RequestsCompleted);
        Assert.True(after.ForwardPasses - before.ForwardPasses < 64, $"{after.ForwardPasses - before.ForwardPasses} forward passes for 64 requests");
    }

    [Fact]
    public async Task Past_the_queue_bound_the_answer_is_429_with_retry_after()
    {
        using var policy = PolicyModel.CreateInitial(Model, ModelServerFixture.Config, 1);
        using var engine = new InferenceEngine(PolicyModel.FromWeights(Model, 0, ModelServerFixture.Config, policy.SaveWeights()), new EngineOptions { MaxBatchRows = 4, QueueCapacity = 2 });
        await using var server = await ModelServer.StartAsync(engine);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        engine.AdmissionPaused = true; // keep the two accepted requests queued
        var json = $$"""{"model":"{{Model}}","messages":[{"role":"user","content":"x"}],"max_tokens":3}""";
        Task<HttpResponseMessage> Send() => http.PostAsync("v1/chat/completions", new StringContent(json, Encoding.UTF8, "application/json"));
        var accepted = new[] { Send(), Send() };
        while (engine.Counters.Queued < 2) await Task.Delay(5);
        var refused = await Send();
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("queue_full", error.GetProperty("code").GetString());
        engine.AdmissionPaused = false;
        Assert.All(await Task.WhenAll(accepted).WaitAsync(TimeSpan.FromSeconds(30)), r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
    }
}
