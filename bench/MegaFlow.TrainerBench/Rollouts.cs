using MegaFlow.Model.Inference;
using MegaFlow.Model.Tokenization;
using MegaFlow.Training;

namespace MegaFlow.Bench;

/// <summary>
/// Batches shaped like the built-in touch-v1 suite's: each group is one ticket ("the test needs the
/// file X.txt"), each replica an episode of up to three rounds in which the policy picks a letter
/// among A) touch a.txt, B) touch b.txt, C) touch c.txt, D) submit with guided_choice, sampled by the
/// real inference engine (so the old log-probs are the sampler's own). Every round is one sample:
/// the prompt is the conversation so far rendered with the chat template (about 200–300 byte
/// tokens), the response one letter and the turn's end. Reward 1 when the named file was touched.
/// </summary>
internal static class Rollouts
{
    private static readonly string[] Files = ["a.txt", "b.txt", "c.txt"];
    private static readonly string[] Letters = ["A", "B", "C", "D"];

    /// <summary>As the model service sends a labelled template's choices to the engine: the letter, then the end of the turn.</summary>
    public static readonly IReadOnlyList<int[]> Choices = [.. Letters.Select(l => (int[])[.. ByteTokenizer.Encode(l), ByteTokenizer.TurnEnd])];

    private const string System = """
        Reply with the letter of one command. It runs in a shell and you see its exit code and output. At most 3 commands; submit ends the task.
        A) touch a.txt
        B) touch b.txt
        C) touch c.txt
        D) submit
        """;

    public static async Task<List<TrajectorySample>> SampleAsync(InferenceEngine engine, int groups, int replicas, int maxRounds, int seed)
    {
        var episodes = new List<Task<List<TrajectorySample>>>();
        for (var g = 0; g < groups; g++)
        {
            // Not HashCode.Combine: it is salted per process, and the batch must be the same in every run.
            var random = new Random(seed * 7919 + g);
            var ticket = 2 * random.Next(1000, 50_000);
            var file = random.Next(Files.Length);
            var statement = $"Task: Ticket {ticket}: the test needs the file {Files[file]}. Create it, then submit.";
            for (var r = 0; r < replicas; r++)
                episodes.Add(EpisodeAsync(engine, $"g{g}", statement, file, maxRounds, seed: seed * 100_003 + g * 1009 + r * 17));
        }
        // Grouped and in order (the trainer groups by id anyway; this keeps the batch readable).
        return [.. (await Task.WhenAll(episodes)).SelectMany(e => e)];
    }

    private static async Task<List<TrajectorySample>> EpisodeAsync(InferenceEngine engine, string group, string statement, int file, int maxRounds, int seed)
    {
        var messages = new List<ChatMessage> { new("system", System), new("user", statement) };
        var rounds = new List<(GenerationRequest Request, GenerationResult Result)>();
        var touched = new HashSet<int>();
        for (var round = 0; round < maxRounds; round++)
        {
            var request = new GenerationRequest(ChatTemplate.Render(messages),
                new SamplingOptions { Temperature = 1, MaxTokens = 2, Seed = seed + round }, Choices);
            var result = await engine.GenerateAsync(request);
            rounds.Add((request, result));
            var choice = result.Sequences[0].ChoiceIndex ?? throw new InvalidOperationException("the engine answered no choice");
            if (choice == 3) break;
            touched.Add(choice);
            messages.Add(new ChatMessage("assistant", Letters[choice]));
            messages.Add(new ChatMessage("user", "exit 0: "));
        }
        var reward = touched.Contains(file) ? 1.0 : 0.0;
        return [.. rounds.Select(x => TrajectorySample.FromGeneration(group, x.Request, x.Result, reward))];
    }
}
