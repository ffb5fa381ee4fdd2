using System.Diagnostics;
using System.Globalization;
using System.Text;
using MegaFlow.Bench;
using MegaFlow.Model.Inference;
using MegaFlow.Model.Policy;
using MegaFlow.Training;
using TorchSharp;

// Usage: MegaFlow.TrainerBench [--groups N] [--replicas N] [--rounds N] [--minibatch N] [--epochs N]
//                              [--reps N] [--torch-threads N] [--seed N] [--out FILE]
// One batch shaped like the built-in suite's (groups × replicas episodes of 1..rounds guided-choice
// rounds, sampled by the inference engine), then trainer steps and bare-loop steps over it, each from
// the same initial weights, in interleaved repetitions (the order flips every repetition, so drift in
// the machine's load hits both alike). Only the step itself is timed.
var options = args.Chunk(2).Where(p => p.Length == 2).ToDictionary(p => p[0].TrimStart('-'), p => p[1]);
int Arg(string name, int fallback) => options.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
var groups = Arg("groups", 6);
var replicas = Arg("replicas", 8);
var rounds = Arg("rounds", 3);
var reps = Arg("reps", 7);
var seed = Arg("seed", 1);
var threads = Arg("torch-threads", 1);
var output = options.GetValueOrDefault("out");

// One intra-op thread by default: the policy is tiny, the machine has two shared cores, and the
// trainer's tests run the same way. --torch-threads 2 measures the other setting.
torch.set_num_threads(threads);
var config = new PolicyConfig();
// As the trainer role configures GSPO from an experiment spec with its defaults.
var gspo = new GspoOptions { MinibatchSize = Arg("minibatch", 32), PpoEpochs = Arg("epochs", 2), LearningRate = 1e-3, Beta2 = 0.99, Seed = seed }.Validated();

var machine = MachineInfo.Read();
var loadAtStart = MachineInfo.LoadAverage();
Console.WriteLine(machine);
Console.WriteLine($"load average at start: {loadAtStart} | torch threads: {torch.get_num_threads()}");

byte[] weights;
List<TrajectorySample> batch;
using (var initial = PolicyModel.CreateInitial("bench-policy", config, seed))
{
    weights = initial.SaveWeights();
    using var engine = new InferenceEngine(PolicyModel.FromWeights("bench-policy", 0, config, weights));
    batch = await Rollouts.SampleAsync(engine, groups, replicas, rounds, seed);
}
var promptLengths = batch.Select(s => s.PromptTokenIds.Length).Order().ToArray();
var responseTokens = batch.Sum(s => (long)s.ResponseTokenIds.Length);
var promptTokens = promptLengths.Sum(l => (long)l);
var batchLine = $"batch: {groups} groups x {replicas} replicas, {batch.Count} samples (rounds per episode 1..{rounds}), {responseTokens} response tokens, "
    + $"prompts {promptLengths[0]}..{promptLengths[^1]} tokens (median {promptLengths[promptLengths.Length / 2]}), {promptTokens} prompt tokens; "
    + $"mean reward {batch.Average(s => s.Reward):F3}; minibatch {gspo.MinibatchSize}, epochs {gspo.PpoEpochs}, AdamW lr {gspo.LearningRate}, clip {gspo.MaxGradNorm}";
Console.WriteLine(batchLine);

GspoTrainer NewTrainer() => new(PolicyModel.FromWeights("bench-policy", 0, config, weights), gspo);
BareGspo NewBare() => new(config, weights, gspo);

// Same math: one step of each from the same weights, then the losses and the weights compared.
string check;
{
    using var trainer = NewTrainer();
    var recomputed = trainer.RecomputeLogProbs(batch);
    var samplerGap = batch.Select((s, i) => s.OldLogProbs.Zip(recomputed[i], (a, b) => Math.Abs(a - b)).Max()).Max();
    var stats = await trainer.StepAsync(batch);
    using var bare = NewBare();
    var losses = bare.Step(batch, version: 0);
    using var trained = trainer.Snapshot();
    using var bareModel = PolicyModel.FromWeights("bare", 1, config, bare.SaveWeights());
    var weightGap = trained.Parameters().Zip(bareModel.Parameters(), (a, b) =>
    {
        using var d = (a - b).abs().max();
        return d.item<float>();
    }).Max();
    check = $"same math: trainer {stats.Updates} updates, first loss {stats.FirstLoss:E6}, mean {stats.MeanLoss:E6}; bare loop {losses.Count} updates, "
        + $"first loss {losses.FirstOrDefault():E6}, mean {(losses.Count > 0 ? losses.Average() : double.NaN):E6}; "
        + $"largest weight difference after the step {weightGap:E2} (learning rate {gspo.LearningRate}); "
        + $"sampler vs trainer log-probs before the update: largest gap {samplerGap:E2}; trainer's largest |s - 1| in its first update {stats.FirstUpdateMaxRatioDeviation:E2}";
    Console.WriteLine(check);
    if (stats.Updates != losses.Count || Math.Abs(stats.FirstLoss - losses[0]) > 1e-5 + 1e-3 * Math.Abs(losses[0]))
        throw new InvalidOperationException("the bare loop does not compute what the trainer computes: " + check);
}

var trainerSeconds = new List<double>();
var bareSeconds = new List<double>();
int sequencesTrained = 0;
async Task<double> TimeTrainer()
{
    using var trainer = NewTrainer();
    Settle();
    var clock = Stopwatch.StartNew();
    var stats = await trainer.StepAsync(batch);
    clock.Stop();
    sequencesTrained = stats.SequencesTrained;
    return clock.Elapsed.TotalSeconds;
}
double TimeBare()
{
    using var bare = NewBare();
    Settle();
    var clock = Stopwatch.StartNew();
    bare.Step(batch, version: 0);
    clock.Stop();
    return clock.Elapsed.TotalSeconds;
}

// One unmeasured round of each (JIT tiers, libtorch's first-call allocations), then the repetitions.
await TimeTrainer();
TimeBare();
var wall = Stopwatch.StartNew();
for (var rep = 0; rep < reps; rep++)
{
    if (rep % 2 == 0)
    {
        trainerSeconds.Add(await TimeTrainer());
        bareSeconds.Add(TimeBare());
    }
    else
    {
        bareSeconds.Add(TimeBare());
        trainerSeconds.Add(await TimeTrainer());
    }
    Console.WriteLine($"repetition {rep + 1}/{reps}: trainer {trainerSeconds[^1] * 1000:F0} ms, bare loop {bareSeconds[^1] * 1000:F0} ms");
}
wall.Stop();
var loadAtEnd = MachineInfo.LoadAverage();

// A repetition's ratio compares two steps run back to back, so it is the figure least moved by load drift.
var pairRatios = bareSeconds.Zip(trainerSeconds, (b, t) => b / t).Order().ToArray();
var table = new ResultTable("path", "step time, median", "spread (min..max)", "response tokens/s", "sequences/s", "prompt tokens/s", "vs bare loop");
Row("bare TorchSharp loop", bareSeconds, "1.00x");
Row("GspoTrainer.StepAsync", trainerSeconds, $"{Median(bareSeconds) / Median(trainerSeconds):F2}x");
var rendered = table.Render();
var ratioLine = $"trainer/bare throughput ratio per repetition (bare time / trainer time): median {Median(pairRatios):F2}, range {pairRatios[0]:F2}..{pairRatios[^1]:F2}; target >= 0.90";
Console.WriteLine();
Console.WriteLine(rendered);
Console.WriteLine(ratioLine);
Console.WriteLine($"{reps} repetitions in {wall.Elapsed.TotalSeconds:F1} s; load average at end: {loadAtEnd}");

if (output is not null)
{
    var md = new StringBuilder()
        .AppendLine($"Machine: {machine}")
        .AppendLine($"Load average (1/5/15 min): {loadAtStart} at start, {loadAtEnd} at end; torch threads {threads}; {reps} repetitions.")
        .AppendLine()
        .AppendLine(batchLine + ".")
        .AppendLine()
        .AppendLine(check + ".")
        .AppendLine()
        .AppendLine("```")
        .Append(rendered)
        .AppendLine("```")
        .AppendLine()
        .AppendLine(ratioLine + ".")
        .AppendLine()
        .AppendLine("Per repetition (ms, trainer / bare): " + string.Join(", ", trainerSeconds.Zip(bareSeconds, (t, b) => $"{t * 1000:F0} / {b * 1000:F0}")) + ".");
    await File.WriteAllTextAsync(output, md.ToString());
    Console.WriteLine($"written: {output}");
}
return 0;

void Row(string path, List<double> seconds, string ratio)
{
    var median = Median(seconds);
    table.Add(path, $"{median * 1000:F0} ms", $"{seconds.Min() * 1000:F0}..{seconds.Max() * 1000:F0} ms",
        $"{responseTokens / median:F0}", $"{sequencesTrained / median:F1}", $"{promptTokens / median:F0}", ratio);
}

static double Median(IReadOnlyCollection<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}

// Garbage from the previous run collected and finalised before the clock starts, for both paths alike.
static void Settle()
{
    GC.Collect();
    GC.WaitForPendingFinalizers();
    GC.Collect();
}
