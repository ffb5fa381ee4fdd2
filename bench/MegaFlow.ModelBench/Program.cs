using System.Diagnostics;
using MegaFlow.Bench;
using MegaFlow.Model.Inference;
using MegaFlow.Model.Policy;
using MegaFlow.Model.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

// Usage: MegaFlow.ModelBench [--requests N] [--max-tokens N] [--hidden N] [--layers N]
// Every row generates the same number of requests with the same prompts, max_tokens and seeds
// (stop tokens off, so each request generates exactly max_tokens): only how they are run differs.
var arguments = args.Chunk(2).Where(p => p.Length == 2).ToDictionary(p => p[0].TrimStart('-'), p => int.Parse(p[1]));
int Arg(string name, int fallback) => arguments.TryGetValue(name, out var v) ? v : fallback;
var requests = Arg("requests", 128);
var maxTokens = Arg("max-tokens", 64);
var config = new PolicyConfig { HiddenSize = Arg("hidden", 128), Layers = Arg("layers", 1) };

Console.WriteLine(MachineInfo.Read());
Console.WriteLine($"load average at start: {MachineInfo.LoadAverage()} | torch threads: {torch.get_num_threads()}");
Console.WriteLine($"policy: GRU embedding {config.EmbeddingSize}, hidden {config.HiddenSize}, layers {config.Layers}; {requests} requests x {maxTokens} tokens per row");

var weights = PolicyModel.CreateInitial("bench", config, 1).SaveWeights();
var prompts = Enumerable.Range(0, requests)
    .Select(i => ChatTemplate.Render([new ChatMessage("system", "You are a policy."), new ChatMessage("user", $"Task {i}: " + new string('x', i % 40))]))
    .ToArray();
SamplingOptions Options(int i) => new() { MaxTokens = maxTokens, Seed = i, Temperature = 1.0, StopTokenIds = [] };

var table = new ResultTable("mode", "concurrency", "tokens/s", "vs unbatched", "vs engine x1", "p50 latency", "p99 latency", "forward passes", "largest batch", "wall");

// Baseline: no engine, no queue: each request alone, prefill then one batch-1 step per token. It
// runs first and again last (JIT tiering and load drift show as a difference between the two);
// "vs unbatched" divides by the first run.
double baselineRate = 0, engine1Rate = 0;
Row(Baseline(), "unbatched loop", 1);
foreach (var concurrency in new[] { 1, 8, 64 })
    Row(Engine(concurrency), "engine", concurrency);
Row(Baseline(), "unbatched loop (again)", 1);
Console.WriteLine();
Console.WriteLine(table.Render());
Console.WriteLine($"load average at end: {MachineInfo.LoadAverage()}");
return;

void Row((TimeSpan Wall, List<TimeSpan> Latencies, long Passes, int Largest) r, string mode, int concurrency)
{
    var rate = requests * maxTokens / r.Wall.TotalSeconds;
    if (baselineRate == 0) baselineRate = rate;
    if (mode == "engine" && concurrency == 1) engine1Rate = rate;
    var p = Percentiles.Of(r.Latencies);
    table.Add(mode, concurrency.ToString(), $"{rate:F0}", $"{rate / baselineRate:F2}x", engine1Rate > 0 ? $"{rate / engine1Rate:F2}x" : "", $"{p.P50:F1} ms", $"{p.P99:F1} ms", r.Passes.ToString(), r.Largest.ToString(), $"{r.Wall.TotalSeconds:F2} s");
    Console.WriteLine($"{mode} x{concurrency}: {rate:F0} tokens/s");
}

(TimeSpan, List<TimeSpan>, long, int) Baseline()
{
    using var model = PolicyModel.FromWeights("bench", 0, config, weights);
    using var noGrad = torch.no_grad();
    for (var i = 0; i < 16; i++) Run1(model, prompts[i % requests], Options(i)); // warm-up (JIT, allocator)
    var latencies = new List<TimeSpan>();
    long passes = 0;
    var wall = Stopwatch.StartNew();
    for (var i = 0; i < requests; i++)
    {
        var start = Stopwatch.GetTimestamp();
        passes += Run1(model, prompts[i], Options(i));
        latencies.Add(Stopwatch.GetElapsedTime(start));
    }
    return (wall.Elapsed, latencies, passes, 1);
}

// One request, unbatched: the same network calls and sampler the engine uses, batch size 1.
static int Run1(PolicyModel model, int[] prompt, SamplingOptions o)
{
    using var scope = torch.NewDisposeScope();
    var rng = new Random(o.Seed ?? 0);
    var (_, hidden) = model.Network.ForwardPacked(model.Padded([prompt]), [prompt.Length], null, allLogits: false);
    var logits = model.Network.LogitsFromHidden(hidden);
    var passes = 1;
    for (var t = 0; t < o.MaxTokens; t++)
    {
        var logProbs = Sampler.LogSoftmax(logits.data<float>().ToArray());
        var token = Sampler.Sample(logProbs, o.Temperature, o.TopP, rng);
        if (t == o.MaxTokens - 1) break;
        using var step = torch.NewDisposeScope();
        var (next, nextHidden) = model.Network.Step(tensor(new long[] { token }), hidden);
        logits = next.MoveToOuterDisposeScope();
        hidden = nextHidden.MoveToOuterDisposeScope();
        passes++;
    }
    return passes;
}

(TimeSpan, List<TimeSpan>, long, int) Engine(int concurrency)
{
    // Warm-up (JIT, allocator), alone and batched, on a throwaway engine so the counters below are the run's own.
    using (var warm = new InferenceEngine(PolicyModel.FromWeights("bench", 0, config, weights)))
    {
        Task.WhenAll(Enumerable.Range(0, 16).Select(i => warm.GenerateAsync(new GenerationRequest(prompts[i % requests], Options(i))))).GetAwaiter().GetResult();
        for (var i = 0; i < 4; i++) warm.GenerateAsync(new GenerationRequest(prompts[i % requests], Options(i))).GetAwaiter().GetResult();
    }
    using var engine = new InferenceEngine(PolicyModel.FromWeights("bench", 0, config, weights), new EngineOptions { MaxBatchRows = 64, QueueCapacity = 1024 });
    var before = engine.Counters.ForwardPasses;
    var latencies = new List<TimeSpan>();
    var next = -1;
    var wall = Stopwatch.StartNew();
    // `concurrency` callers, each sending its next request when the previous one is answered.
    var callers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
    {
        var mine = new List<TimeSpan>();
        int i;
        while ((i = Interlocked.Increment(ref next)) < requests)
        {
            var start = Stopwatch.GetTimestamp();
            var result = await engine.GenerateAsync(new GenerationRequest(prompts[i], Options(i)));
            if (result.Sequences[0].Tokens.Count != maxTokens) throw new InvalidOperationException("a request stopped early");
            mine.Add(Stopwatch.GetElapsedTime(start));
        }
        return mine;
    })).ToArray();
    foreach (var c in callers) latencies.AddRange(c.GetAwaiter().GetResult());
    return (wall.Elapsed, latencies, engine.Counters.ForwardPasses - before, engine.Counters.LargestBatch);
}
