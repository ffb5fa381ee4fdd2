using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Agents;
using OpenAI;
using OpenAI.Chat;

namespace MegaFlow.Agents.Model;

/// <summary>
/// The <c>model</c> agent: each round it sends the conversation (<see cref="Conversation"/>) to an
/// OpenAI-compatible chat endpoint through the official OpenAI client and turns the reply into a
/// command or a submission (<see cref="ReplyParser"/>); with a choice template (choice-v1) the request
/// restricts the reply to the spec's actions or submit (guided_choice) and the reply must be one of them.
/// Any base URL that speaks
/// <c>POST {base}/chat/completions</c> works: the cluster's model service by default, vLLM, SGLang or a
/// hosted API named in the spec.
/// <para>Failures are sorted by whose they are. An endpoint that refuses the connection, times out or
/// answers 5xx/429 is retried with exponential backoff; if it still fails, the decision throws
/// <see cref="AgentInfrastructureException"/> naming the endpoint (the task retries the attempt on its
/// infrastructure budget). So does an API key variable missing on this node. An endpoint that answers
/// 4xx (unknown model, bad request, wrong key) or a model that keeps breaking the reply format is the
/// agent's failure: a result, since asking again would get the same answer.</para>
/// </summary>
public sealed class ModelAgent : IAgent
{
    private readonly ModelAgentSettings _settings;
    private readonly Func<string, string?> _environment;
    // One client per endpoint, model and key: each holds a connection pool worth reusing across tasks.
    private readonly ConcurrentDictionary<(Uri Endpoint, string Model, string Key), ChatClient> _clients = new();

    /// <param name="settings">The node's settings.</param>
    /// <param name="environment">Reads an environment variable (the process's by default; tests pass their own).</param>
    public ModelAgent(ModelAgentSettings settings, Func<string, string?>? environment = null)
    {
        _settings = settings;
        _environment = environment ?? Environment.GetEnvironmentVariable;
    }

    /// <inheritdoc />
    public async ValueTask<AgentDecision> DecideAsync(AgentContext context, CancellationToken cancellationToken)
    {
        var agent = context.Spec.Agent ?? new AgentSpec { Kind = AgentKinds.Model };
        // Through the node's gateway when there is one (it records the call and forwards it to the
        // upstream with the upstream's key, read on the gateway's node); else straight to the upstream.
        ModelUpstream upstream;
        ChatClient client;
        if (context.Gateway is { } gateway)
        {
            upstream = ModelUpstream.Target(agent, _settings);
            // Not cached: the URL and key are this attempt's. The client library's HTTP transport is shared.
            client = NewClient(gateway.BaseUrl, upstream.Model, gateway.Key);
        }
        else
        {
            upstream = ModelUpstream.Resolve(agent, _settings, _environment);
            client = Client(upstream.BaseUrl, upstream.Model, upstream.ApiKey ?? "none");
        }
        var endpoint = upstream.BaseUrl;
        var model = upstream.Model;
        var template = PromptTemplate.Get(agent.Template);
        var options = new ChatCompletionOptions
        {
            Temperature = agent.Temperature is { } t ? (float)t : null,
            MaxOutputTokenCount = agent.MaxTokens,
        };
        var candidates = template.GuidedChoice ? ReplyParser.ChoiceCandidates(context.Spec) : null;
        if (candidates is not null)
            GuidedChoice(options, template.Labelled ? ReplyParser.ChoiceLabels(candidates.Count) : candidates);

        var messages = Conversation.Build(context, template, _settings.ObservationChars).Select(ToMessage).ToList();
        for (var reply = 0; ; reply++)
        {
            var text = await CompleteAsync(client, endpoint, messages, options, cancellationToken).ConfigureAwait(false);
            var parsed = candidates is null ? ReplyParser.Parse(text)
                : template.Labelled ? ReplyParser.ParseLabelled(text, candidates)
                : ReplyParser.ParseChoice(text, candidates);
            switch (parsed.Kind)
            {
                case ReplyKind.Command:
                    return AgentDecision.Run(parsed.Command!);
                case ReplyKind.Submit:
                    return AgentDecision.Submit;
            }
            if (reply >= _settings.FormatRetries)
                throw new InvalidOperationException(
                    $"model '{model}' at {endpoint} broke the reply format {reply + 1} time(s) in a row: {parsed.Error}");
            // Told in the same round, not as a step: nothing ran, and the journal's steps stay commands.
            messages.Add(new AssistantChatMessage(text ?? ""));
            messages.Add(new UserChatMessage("Format error: " + parsed.Error));
        }
    }

    /// <summary>
    /// Adds vLLM's <c>guided_choice</c> to the request body. ChatCompletionOptions has no such property;
    /// the library's JSON patch (OpenAI 2.x on System.ClientModel's JsonPatch) writes extra fields into
    /// the serialised request, so no hand-built body or pipeline policy is needed.
    /// </summary>
    private static void GuidedChoice(ChatCompletionOptions options, IReadOnlyList<string> candidates)
    {
#pragma warning disable SCME0001 // JsonPatch is marked experimental; the field it writes is plain JSON that any version can be checked against (the tests read the request body).
        options.Patch.Set("$.guided_choice"u8, BinaryData.FromObjectAsJson(candidates));
#pragma warning restore SCME0001
    }

    private async Task<string?> CompleteAsync(ChatClient client, Uri endpoint, List<ChatMessage> messages, ChatCompletionOptions options, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            Exception failure;
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                timeout.CancelAfter(_settings.RequestTimeout);
                try
                {
                    ClientResult<ChatCompletion> result = await client.CompleteChatAsync(messages, options, timeout.Token).ConfigureAwait(false);
                    var content = result.Value.Content;
                    return content.Count == 0 ? null : string.Concat(content.Select(p => p.Text));
                }
                catch (ClientResultException x) when (x.Status is >= 400 and < 500 and not 408 and not 429)
                {
                    // The endpoint is up and says the request is wrong: asking again changes nothing.
                    throw new InvalidOperationException($"model endpoint {endpoint} refused the request (HTTP {x.Status}): {x.Message}", x);
                }
                catch (ClientResultException x)
                {
                    failure = x;
                }
                catch (Exception x) when (x is HttpRequestException or IOException || (x is OperationCanceledException && !ct.IsCancellationRequested))
                {
                    failure = x;
                }
            }
            if (attempt >= _settings.Retries)
                throw new AgentInfrastructureException(endpoint.ToString(),
                    $"model endpoint {endpoint} failed {attempt + 1} time(s) in a row: {Describe(failure)}", failure);
            await Task.Delay(_settings.RetryBackoff * Math.Pow(2, attempt), ct).ConfigureAwait(false);
        }
    }

    private string Describe(Exception failure) => failure switch
    {
        ClientResultException { Status: 0 } x => ModelUpstream.Innermost(x),
        ClientResultException x => $"HTTP {x.Status}: {x.Message}",
        OperationCanceledException => $"no answer within {_settings.RequestTimeout.TotalSeconds:0.#} s",
        _ => ModelUpstream.Innermost(failure),
    };

    private ChatClient Client(Uri endpoint, string model, string key) =>
        _clients.GetOrAdd((endpoint, model, key), k => NewClient(k.Endpoint, k.Model, k.Key));

    private static ChatClient NewClient(Uri endpoint, string model, string key) =>
        new(model, new ApiKeyCredential(key), new OpenAIClientOptions
        {
            Endpoint = endpoint,
            // Retries are ours (above): they know which failures are the infrastructure's.
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            // Our per-call timeout governs; the library's default (100 s) must not cut it shorter.
            NetworkTimeout = Timeout.InfiniteTimeSpan,
        });

    private static ChatMessage ToMessage(ChatTurn turn) => turn.Role switch
    {
        ChatRole.System => new SystemChatMessage(turn.Content),
        ChatRole.Assistant => new AssistantChatMessage(turn.Content),
        _ => new UserChatMessage(turn.Content),
    };
}
