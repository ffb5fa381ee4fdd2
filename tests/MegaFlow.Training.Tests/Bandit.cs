using MegaFlow.Model.Inference;
using MegaFlow.Model.Tokenization;

namespace MegaFlow.Training.Tests;

/// <summary>
/// A contextual bandit served by the real inference engine: each prompt asks for one of a few
/// equal-length words, the policy answers with guided_choice among them (as choice-v1 model agents
/// do), and the reward is 1 for the word the prompt asked for.
/// </summary>
internal sealed class Bandit(string[] words, bool endTurn = true)
{
    // Declared before SharedPrefix: static fields initialise in order.
    public static readonly string[] Phrasings = ["pick {0}", "say {0}"];

    /// <summary>"cat" and "car" share a prefix: a choice's log-prob is spread over more than one token.</summary>
    public static readonly Bandit SharedPrefix = new(["cat", "car", "dog"]);

    public IReadOnlyList<string> Words { get; } = words;

    /// <summary>
    /// As the model service sends guided_choice strings to the engine: with <paramref name="endTurn"/>,
    /// each ends with the chat turn's terminator (the answer ends the turn).
    /// </summary>
    public IReadOnlyList<int[]> Choices { get; } = words.Select(w => endTurn ? [.. ByteTokenizer.Encode(w), ByteTokenizer.TurnEnd] : ByteTokenizer.Encode(w)).ToArray();

    public IReadOnlyList<(string GroupId, int[] Prompt, int Target)> Prompts { get; } =
        Phrasings.SelectMany(p => words.Select((w, i) => (string.Format(p, w), ChatTemplate.Render([new ChatMessage("user", string.Format(p, w))]), i)))
            .ToArray();

    /// <summary>Every prompt × <paramref name="replicas"/> samples, a group per prompt.</summary>
    public async Task<List<TrajectorySample>> SampleAsync(InferenceEngine engine, int replicas, int seed)
    {
        var calls = new List<Task<TrajectorySample>>();
        for (var p = 0; p < Prompts.Count; p++)
            for (var r = 0; r < replicas; r++)
                calls.Add(One(engine, Prompts[p], unchecked(seed * 7919 + p * 101 + r)));
        return (await Task.WhenAll(calls)).ToList();
    }

    private async Task<TrajectorySample> One(InferenceEngine engine, (string GroupId, int[] Prompt, int Target) prompt, int seed)
    {
        var request = new GenerationRequest(prompt.Prompt, new SamplingOptions { Temperature = 1, Seed = seed, MaxTokens = 3 }, Choices);
        var result = await engine.GenerateAsync(request);
        var reward = result.Sequences[0].ChoiceIndex == prompt.Target ? 1.0 : 0.0;
        return TrajectorySample.FromGeneration(prompt.GroupId, request, result, reward);
    }
}
