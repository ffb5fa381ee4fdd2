namespace MegaFlow.Model.Inference;

/// <summary>How tokens are drawn. Validation errors name the OpenAI parameter they come from.</summary>
public sealed record SamplingOptions
{
    /// <summary>0 = greedy; otherwise logits are divided by it before top-p and sampling.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Nucleus sampling: the smallest set of most likely tokens whose probability reaches it.</summary>
    public double TopP { get; init; } = 1.0;

    public int MaxTokens { get; init; } = 16;

    /// <summary>Independent samples for the same prompt (each a row of the batch).</summary>
    public int N { get; init; } = 1;

    /// <summary>Sample i draws from a generator seeded with Seed + i; the same request gives the same tokens.</summary>
    public int? Seed { get; init; }

    /// <summary>How many most likely alternatives to report with each token (0–20).</summary>
    public int TopLogprobs { get; init; }

    /// <summary>Strings that end a sample (not part of its text).</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>Token ids that end a sample (e.g. the chat template's end of turn).</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];
}

/// <summary>
/// One generation: a tokenized prompt and how to sample. With <see cref="Choices"/>, the answer is
/// constrained to exactly one of those token sequences (see <see cref="InferenceEngine"/> for how
/// their log-probs are defined).
/// </summary>
public sealed record GenerationRequest(int[] PromptTokenIds, SamplingOptions Options, IReadOnlyList<int[]>? Choices = null);

/// <summary>A token and its log-probability, as reported with a sample.</summary>
public readonly record struct TokenLogProb(int TokenId, double LogProb);

/// <summary>One sampled token: its log-prob and the most likely alternatives at its position.</summary>
public sealed record GeneratedToken(int TokenId, double LogProb, IReadOnlyList<TokenLogProb> TopLogProbs);

/// <summary>
/// One sample. <see cref="Tokens"/> is everything sampled, including a stop string's bytes and a stop
/// token (the trainer needs them); the first <see cref="VisibleTokenCount"/> tokens are the answer's text.
/// </summary>
public sealed record GeneratedSequence(
    int Index,
    IReadOnlyList<GeneratedToken> Tokens,
    int VisibleTokenCount,
    string FinishReason,
    int? ChoiceIndex = null,
    double? ChoiceLogProb = null,
    double? PolicyLogProb = null);

/// <summary>The answer to a <see cref="GenerationRequest"/>: which weights produced it and the samples.</summary>
public sealed record GenerationResult(string ModelName, long WeightVersion, int PromptTokenCount, IReadOnlyList<GeneratedSequence> Sequences);

/// <summary>A request the engine refuses; <see cref="Param"/> is the OpenAI parameter at fault.</summary>
public sealed class InvalidGenerationException(string param, string message) : ArgumentException(message, param)
{
    public string Param { get; } = param;
}

/// <summary>The engine's queue is full: the caller should retry after <see cref="RetryAfter"/>.</summary>
public sealed class QueueFullException(int capacity, TimeSpan retryAfter)
    : Exception($"the model's request queue is full ({capacity} waiting); retry later")
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}
