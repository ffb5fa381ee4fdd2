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

// Wall time and the process's CPU time per step. On a shared machine the wall clock also counts the
// time other processes held the cores; with one torch thread and nothing else running in this process,
// CPU time is the figure least moved by them (it still includes GC and JIT threads, for both paths).
var trainerSeconds = new List<double>();
var bareSeconds = new List<double>();
var trainerCpu = new List<double>();
var bareCpu = new List<double>();
int sequencesTrained = 0;
async Task TimeTrainer()
{
    using var trainer = NewTrainer();
    Settle();
    var cpu = CpuSeconds();
    var clock = Stopwatch.StartNew();
    var stats = await trainer.StepAsync(batch);
    clock.Stop();
    trainerCpu.Add(CpuSeconds() - cpu);
    trainerSeconds.Add(clock.Elapsed.TotalSeconds);
    sequencesTrained = stats.SequencesTrained;
}
void TimeBare()
{
    using var bare = NewBare();
    Settle();
    var cpu = CpuSeconds();
    var clock = Stopwatch.StartNew();
    bare.Step(batch, version: 0);
    clock.Stop();
    bareCpu.Add(CpuSeconds() - cpu);
    bareSeconds.Add(clock.Elapsed.TotalSeconds);
}

// The same-math check above was each path's unmeasured first round (JIT tiers, libtorch's first-call
// allocations); now the repetitions.
var wall = Stopwatch.StartNew();
for (var rep = 0; rep < reps; rep++)
{
    if (rep % 2 == 0)
    {
        await TimeTrainer();
        TimeBare();
    }
    else
    {
        TimeBare();
        await TimeTrainer();
    }
    Console.WriteLine($"repetition {rep + 1}/{reps}: trainer {trainerSeconds[^1] * 1000:F0} ms (CPU {trainerCpu[^1] * 1000:F0} ms), "
        + $"bare loop {bareSeconds[^1] * 1000:F0} ms (CPU {bareCpu[^1] * 1000:F0} ms)");
}
wall.Stop();
var loadAtEnd = MachineInfo.LoadAverage();

// A repetition's ratio compares two steps run back to back, so it is the figure least moved by load drift.
var pairRatios = bareSeconds.Zip(trainerSeconds, (b, t) => b / t).Order().ToArray();
var cpuRatios = bareCpu.Zip(trainerCpu, (b, t) => b / t).Order().ToArray();
var table = new ResultTable("path", "step wall, median", "wall spread", "response tokens/s", "sequences/s", "prompt tokens/s", "vs bare (wall)",
    "step CPU, median", "CPU spread", "response tokens/CPU-s", "vs bare (CPU)");
Row("bare TorchSharp loop", bareSeconds, bareCpu, "1.00x", "1.00x");
Row("GspoTrainer.StepAsync", trainerSeconds, trainerCpu, $"{Median(bareSeconds) / Median(trainerSeconds):F2}x", $"{Median(bareCpu) / Median(trainerCpu):F2}x");
var rendered = table.Render();
var ratioLine = $"trainer/bare throughput ratio per repetition (bare time / trainer time, the two steps run back to back): wall median {Median(pairRatios):F2} "
    + $"(range {pairRatios[0]:F2}..{pairRatios[^1]:F2}), CPU median {Median(cpuRatios):F2} (range {cpuRatios[0]:F2}..{cpuRatios[^1]:F2}); target >= 0.90";
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
        .AppendLine("Per repetition, wall ms (trainer / bare): " + string.Join(", ", trainerSeconds.Zip(bareSeconds, (t, b) => $"{t * 1000:F0} / {b * 1000:F0}")) + ".")
        .AppendLine()
        .AppendLine("Per repetition, CPU ms (trainer / bare): " + string.Join(", ", trainerCpu.Zip(bareCpu, (t, b) => $"{t * 1000:F0} / {b * 1000:F0}")) + ".");
    await File.WriteAllTextAsync(output, md.ToString());
    Console.WriteLine($"written: {output}");
}
return 0;

void Row(string path, List<double> seconds, List<double> cpu, string ratio, string cpuRatio)
{
    var median = Median(seconds);
    var cpuMedian = Median(cpu);
    table.Add(path, $"{median * 1000:F0} ms", $"{seconds.Min() * 1000:F0}..{seconds.Max() * 1000:F0} ms",
        $"{responseTokens / median:F1}", $"{sequencesTrained / median:F1}", $"{promptTokens / median:F0}", ratio,
        $"{cpuMedian * 1000:F0} ms", $"{cpu.Min() * 1000:F0}..{cpu.Max() * 1000:F0} ms", $"{responseTokens / cpuMedian:F1}", cpuRatio);
}

static double CpuSeconds()
{
    using var self = Process.GetCurrentProcess();
    return self.TotalProcessorTime.TotalSeconds;
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
