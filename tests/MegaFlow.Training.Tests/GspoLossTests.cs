using static TorchSharp.torch;

namespace MegaFlow.Training.Tests;

public sealed class GspoLossTests
{
    public GspoLossTests() => TestSetup.Torch();

    [Fact]
    public void The_issue_example_gives_its_loss_and_gradients()
    {
        // Issue #12: ε = (3e-4, 4e-4), one group of two with rewards [1, 0].
        var advantages = GspoLoss.GroupAdvantages([1.0, 0.0]);
        Assert.Equal(0.707105781, advantages[0], 1e-6);
        Assert.Equal(-0.707105781, advantages[1], 1e-6);

        using var new0 = tensor(new[] { -1.0, -2.0 }, dtype: ScalarType.Float64).requires_grad_();
        using var new1 = tensor(new[] { -0.5, -0.5, -0.5 }, dtype: ScalarType.Float64).requires_grad_();
        using var result = GspoLoss.Compute([new0, new1], [[-1.1, -2.1], [-0.4, -0.6, -0.5]], advantages, 3e-4, 4e-4);

        Assert.Equal(Math.Exp(0.1), result.Ratios[0], 1e-9);
        Assert.Equal(1.0, result.Ratios[1], 1e-12);
        Assert.Equal(1, result.ClippedSequences); // sequence 0: positive advantage, ratio above 1 + ε_high
        Assert.Equal(-1.41421156e-4, result.Loss.item<double>(), 1e-6);
        // The relative check too: 1e-6 alone would pass a loss of 0.
        Assert.Equal(-1.41421156e-4, result.Loss.item<double>(), 1e-11);

        result.Loss.backward();
        using var grad0 = new0.grad!;
        using var grad1 = new1.grad!;
        Assert.All(grad0.data<double>().ToArray(), g => Assert.Equal(0.0, g, 1e-12));
        Assert.All(grad1.data<double>().ToArray(), g => Assert.Equal(0.117850964, g, 1e-6));
    }

    [Fact]
    public void A_ratio_moved_against_the_advantage_keeps_its_gradient()
    {
        // Negative advantage and a ratio above the range: min picks the unclipped term, so the policy
        // is still pushed back (clipping only stops moves the advantage already favours).
        using var lp = tensor(new[] { -0.9 }, dtype: ScalarType.Float64).requires_grad_();
        using var result = GspoLoss.Compute([lp], [[-1.0]], [-1.0], 3e-4, 4e-4);
        Assert.Equal(0, result.ClippedSequences);
        result.Loss.backward();
        using var grad = lp.grad!;
        Assert.Equal(Math.Exp(0.1), grad.item<double>(), 1e-9); // d/dlp of −(s·A) with s = e^(lp − old)
    }

    [Fact]
    public void Advantages_use_the_sample_std_and_are_zero_without_spread()
    {
        var a = GspoLoss.GroupAdvantages([1.0, 2.0, 3.0, 6.0]);
        var mean = 3.0;
        var std = Math.Sqrt((4 + 1 + 0 + 9) / 3.0);
        Assert.Equal((1 - mean) / (std + 1e-6), a[0], 1e-12);
        Assert.Equal((6 - mean) / (std + 1e-6), a[3], 1e-12);
        Assert.Equal(0.0, a.Sum(), 1e-12);
        Assert.All(GspoLoss.GroupAdvantages([0.5, 0.5, 0.5]), x => Assert.Equal(0.0, x));
        Assert.Equal([0.0], GspoLoss.GroupAdvantages([1.0]));
    }

    [Fact]
    public void Mismatched_inputs_are_refused()
    {
        using var lp = tensor(new[] { -1.0, -2.0 }, dtype: ScalarType.Float64);
        Assert.Throws<ArgumentException>(() => GspoLoss.Compute([lp], [[-1.0]], [1.0], 3e-4, 4e-4));
        Assert.Throws<ArgumentException>(() => GspoLoss.Compute([lp], [[-1.0, -2.0]], [1.0, 2.0], 3e-4, 4e-4));
        Assert.Throws<ArgumentException>(() => GspoLoss.Compute([], [], [], 3e-4, 4e-4));
    }
}
