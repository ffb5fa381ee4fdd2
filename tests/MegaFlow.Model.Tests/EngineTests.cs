using MegaFlow.Model.Inference;
using MegaFlow.Model.Policy;
using MegaFlow.Model.Tokenization;
using TorchSharp;

namespace MegaFlow.Model.Tests;

/// <summary>The batching engine: log-prob agreement with the training forward pass, shared passes, weight swaps, constrained choice.</summary>
public sealed class EngineTests
{
    private static readonly PolicyConfig Config = new();

    private static PolicyModel Fresh(long seed, long version = 0) =>
        PolicyModel.FromWeights("m", version, Config, PolicyModel.CreateInitial("m", Config, seed).SaveWeights());

    private static int[] Prompt(string text) => ChatTemplate.Render([new ChatMessage("user", text)]);

    /// <summary>The training forward pass's log-probs of a sample's tokens, in one pass for all samples.</summary>
    private static double[][] TrainingLogProbs(PolicyModel trainer, IReadOnlyList<(int[] Prompt, GeneratedSequence Sample)> samples)
    {
        var sequences = samples.Select(s => (int[])[.. s.Prompt, .. s.Sample.Tokens.Select(t => t.TokenId)]).ToList();
        var logProbs = trainer.TokenLogProbs(sequences);
        Assert.All(logProbs, l => Assert.True(l.requires_grad)); // a real training pass: gradients flow
        return logProbs.Select((l, i) => l.detach().to(torch.float64).data<double>().ToArray()[(samples[i].Prompt.Length - 1)..]).ToArray();
    }

    [Fact]
    public async Task Logprobs_returned_with_samples_equal_the_training_forward_pass_within_1e_4_even_when_batched_with_different_prompt_lengths()
    {
        using var trainer = Fresh(21);
        using var engine = new InferenceEngine(Fresh(21), new EngineOptions { MaxBatchRows = 64 });
        // Different prompt lengths, several samples each, temperature and top-p sampling: all in shared passes.
        var prompts = Enumerable.Range(0, 12).Select(i => Prompt(new string('x', i * 17) + "go")).ToList();
        var tasks = prompts.Select((p, i) => engine.GenerateAsync(new GenerationRequest(p, new SamplingOptions
        {
            MaxTokens = 24 + i, N = 3, Temperature = 0.5 + i * 0.1, TopP = i % 2 == 0 ? 1.0 : 0.8, Seed = i,
        }))).ToList();
        var results = await Task.WhenAll(tasks);
        Assert.True(engine.Counters.LargestBatch > 1, "the requests shared forward passes");

        var samples = results.SelectMany((r, i) => r.Sequences.Select(s => (prompts[i], s))).ToList();
        var expected = TrainingLogProbs(trainer, samples);
        var maxError = 0.0;
        for (var k = 0; k < samples.Count; k++)
        {
            var got = samples[k].s.Tokens.Select(t => t.LogProb).ToArray();
            Assert.Equal(expected[k].Length, got.Length);
            for (var t = 0; t < got.Length; t++) maxError = Math.Max(maxError, Math.Abs(got[t] - expected[k][t]));
        }
        Assert.True(maxError < 1e-4, $"largest difference {maxError}");

        // The same request alone (no batch) gives the same tokens and log-probs: batching changes nothing.
        var alone = await engine.GenerateAsync(new GenerationRequest(prompts[3], new SamplingOptions { MaxTokens = 27, N = 3, Temperature = 0.8, TopP = 0.8, Seed = 3 }));
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(results[3].Sequences[i].Tokens.Select(t => t.TokenId), alone.Sequences[i].Tokens.Select(t => t.TokenId));
            Assert.All(alone.Sequences[i].Tokens.Zip(results[3].Sequences[i].Tokens), p => Assert.Equal(p.First.LogProb, p.Second.LogProb, 1e-5));
        }
    }

    [Fact]
    public async Task Sixty_four_concurrent_requests_share_forward_passes()
    {
        using var engine = new InferenceEngine(Fresh(3), new EngineOptions { MaxBatchRows = 64 });
        var tasks = Enumerable.Range(0, 64).Select(i => engine.GenerateAsync(new GenerationRequest(Prompt($"request {i}"),
            new SamplingOptions { MaxTokens = 8, Seed = i, StopTokenIds = [] }))).ToList();
        await Task.WhenAll(tasks);
        var c = engine.Counters;
        Assert.Equal(64, c.RequestsCompleted);
        Assert.True(c.ForwardPasses < 64, $"{c.ForwardPasses} forward passes for 64 requests");
        Assert.All(tasks, t => Assert.Equal(8, t.Result.Sequences[0].Tokens.Count));
    }

    [Fact]
    public async Task A_full_queue_refuses_with_a_retry_time_and_bad_requests_name_their_parameter()
    {
        using var engine = new InferenceEngine(Fresh(3), new EngineOptions { MaxBatchRows = 1, QueueCapacity = 2 });
        engine.AdmissionPaused = true;
        var running = Enumerable.Range(0, 2).Select(_ => engine.GenerateAsync(new GenerationRequest(Prompt("wait"), new SamplingOptions { MaxTokens = 5 }))).ToList();
        var refused = Assert.Throws<QueueFullException>(() => { _ = engine.GenerateAsync(new GenerationRequest(Prompt("more"), new SamplingOptions { MaxTokens = 5 })); });
        Assert.Equal(TimeSpan.FromSeconds(1), refused.RetryAfter);
        Assert.Equal(1, engine.Counters.RequestsRejected);
        engine.AdmissionPaused = false;
        await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(30)); // the accepted ones all complete

        Assert.Equal("max_tokens", Refused(engine, new GenerationRequest(Prompt("x"), new SamplingOptions { MaxTokens = 0 })));
        Assert.Equal("n", Refused(engine, new GenerationRequest(Prompt("x"), new SamplingOptions { N = 2 })));
        Assert.Equal("top_p", Refused(engine, new GenerationRequest(Prompt("x"), new SamplingOptions { TopP = 0 })));
        Assert.Equal("guided_choice", Refused(engine, new GenerationRequest(Prompt("x"), new SamplingOptions(), [[65, 258], [65, 258]])));
    }

    private static string Refused(InferenceEngine engine, GenerationRequest request) =>
        Assert.Throws<InvalidGenerationException>(() => { _ = engine.GenerateAsync(request); }).Param;

    [Fact]
    public async Task A_weight_swap_lets_running_requests_finish_on_their_version_and_serves_new_ones_with_the_next()
    {
        using var v0Trainer = Fresh(5);
        using var engine = new InferenceEngine(Fresh(5), new EngineOptions());
        var prompt = Prompt("swap");
        var steps = 0;
        var swapped = new TaskCompletionSource();
        engine.AfterDecodeStep = () =>
        {
            if (++steps != 50) return;
            engine.SwapWeights(Fresh(6, version: 1)); // in the middle of the long request
            swapped.SetResult();
        };
        var longRun = engine.GenerateAsync(new GenerationRequest(prompt, new SamplingOptions { MaxTokens = 600, Seed = 1 }));
        await swapped.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, engine.Current.Version);
        var after = await engine.GenerateAsync(new GenerationRequest(prompt, new SamplingOptions { MaxTokens = 10, Seed = 1 }));
        var before = await longRun.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(0, before.WeightVersion);
        Assert.Equal(600, before.Sequences[0].Tokens.Count);
        Assert.Equal(1, after.WeightVersion);
        // The long request's log-probs are all version 0's, from before and after the swap.
        var expected = TrainingLogProbs(v0Trainer, [(prompt, before.Sequences[0])])[0];
        Assert.All(before.Sequences[0].Tokens.Select((t, i) => Math.Abs(t.LogProb - expected[i])), d => Assert.True(d < 1e-4));
        Assert.Throws<ArgumentException>(() => engine.SwapWeights(PolicyModel.CreateInitial("other", Config, 1)));
    }

    [Fact]
    public async Task Guided_choice_answers_one_of_the_choices_with_log_probs_of_the_renormalised_distribution()
    {
        using var trainer = Fresh(8);
        using var engine = new InferenceEngine(Fresh(8));
        var prompt = Prompt("pick an action");
        string[] names = ["left", "right", "rest", "l"];
        var choices = names.Select(n => (int[])[.. ByteTokenizer.Encode(n), ByteTokenizer.TurnEnd]).ToList();
        var result = await engine.GenerateAsync(new GenerationRequest(prompt, new SamplingOptions { Seed = 4, TopLogprobs = 5 }, choices));
        var s = result.Sequences[0];
        Assert.NotNull(s.ChoiceIndex);
        Assert.Equal(choices[s.ChoiceIndex!.Value], s.Tokens.Select(t => t.TokenId));

        // s_i from the training forward pass; q = softmax(s).
        var scores = TrainingLogProbs(trainer, choices.Select(c => (prompt, new GeneratedSequence(0, c.Select(t => new GeneratedToken(t, 0, [])).ToList(), c.Length, "stop"))).ToList())
            .Select(l => l.Sum()).ToArray();
        var lse = Math.Log(scores.Sum(Math.Exp));
        Assert.Equal(scores[s.ChoiceIndex.Value], s.PolicyLogProb!.Value, 1e-4);
        Assert.Equal(scores[s.ChoiceIndex.Value] - lse, s.ChoiceLogProb!.Value, 1e-4);
        Assert.Equal(s.ChoiceLogProb.Value, s.Tokens.Sum(t => t.LogProb), 1e-9); // the per-token terms factorise it
        // The first token's alternatives are the allowed first bytes ('l' and 'r'), a distribution.
        Assert.Equal(new[] { (int)'l', 'r' }.Order(), s.Tokens[0].TopLogProbs.Select(a => a.TokenId).Order());
        Assert.Equal(1.0, s.Tokens[0].TopLogProbs.Sum(a => Math.Exp(a.LogProb)), 1e-9);

        // Greedy picks the most likely choice.
        var greedy = await engine.GenerateAsync(new GenerationRequest(prompt, new SamplingOptions { Temperature = 0 }, choices));
        Assert.Equal(Array.IndexOf(scores, scores.Max()), greedy.Sequences[0].ChoiceIndex);
    }

    [Fact]
    public async Task Stop_strings_end_the_text_before_them_but_the_sampled_tokens_are_all_kept()
    {
        using var engine = new InferenceEngine(Fresh(9));
        var prompt = Prompt("stop test");
        var free = await engine.GenerateAsync(new GenerationRequest(prompt, new SamplingOptions { MaxTokens = 64, Temperature = 0, StopTokenIds = [] }));
        var ids = free.Sequences[0].Tokens.Select(t => t.TokenId).ToList();
        Assert.Equal("length", free.Sequences[0].FinishReason);
        var at = ids.FindIndex(1, t => t is >= 0x20 and < 0x7f);
        Assert.True(at > 0, "greedy output has a printable ASCII byte after the first token");
        var stop = ((char)ids[at]).ToString();
        var first = ids.IndexOf(ids[at]); // the stop string's first occurrence ends the sample
        var stopped = await engine.GenerateAsync(new GenerationRequest(prompt, new SamplingOptions { MaxTokens = 64, Temperature = 0, Stop = [stop], StopTokenIds = [] }));
        var s = stopped.Sequences[0];
        Assert.Equal("stop", s.FinishReason);
        Assert.Equal(ids.Take(first + 1), s.Tokens.Select(t => t.TokenId));
        Assert.Equal(first, s.VisibleTokenCount);
    }
}
