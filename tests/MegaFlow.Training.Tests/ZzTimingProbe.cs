using System.Diagnostics;
using System.Text.Json;
using MegaFlow.Contracts.Training;
using MegaFlow.Model.Policy;
using Xunit.Abstractions;

namespace MegaFlow.Training.Tests;

public sealed class ZzTimingProbe(ITestOutputHelper output)
{
    [Fact]
    public async Task Probe()
    {
        TestSetup.Torch();
        var files = Directory.GetFiles("/tmp/tt/trajectories", "*.json", SearchOption.AllDirectories).Where(f => f.Contains("-s0000-")).ToList();
        var trajectories = files.Select(f => JsonSerializer.Deserialize<Trajectory>(File.ReadAllBytes(f))!).ToList();
        var samples = trajectories.SelectMany(TrajectorySamples.From).ToList();
        output.WriteLine($"{trajectories.Count} trajectories, {samples.Count} samples");
        using var trainer = new GspoTrainer(PolicyModel.CreateInitial("megaflow-policy", new PolicyConfig(), 0), new GspoOptions { MinibatchSize = 16, PpoEpochs = 2, LearningRate = 2e-3 });
        var clock = Stopwatch.StartNew();
        var re = trainer.RecomputeLogProbs(samples.Take(16).ToList());
        output.WriteLine($"recompute 16: {clock.ElapsedMilliseconds} ms");
        clock.Restart();
        var stats = await trainer.StepAsync(samples);
        output.WriteLine($"step: {clock.ElapsedMilliseconds} ms, updates {stats.Updates}, dev {stats.FirstUpdateMaxRatioDeviation}");
    }
}
