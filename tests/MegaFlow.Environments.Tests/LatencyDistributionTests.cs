using MegaFlow.Environments.Simulated;

namespace MegaFlow.Environments.Tests;

public sealed class LatencyDistributionTests
{
    public static TheoryData<string, LatencyDistribution> Valid => new()
    {
        { "0", LatencyDistribution.Zero },
        { "zero", LatencyDistribution.Zero },
        { "fixed:0", LatencyDistribution.Zero },
        { "fixed:50", LatencyDistribution.Fixed(50) },
        { " Fixed: 2.5 ", LatencyDistribution.Fixed(2.5) },
        { "75", LatencyDistribution.Fixed(75) },
        { "uniform:10-100", LatencyDistribution.Uniform(10, 100) },
        { "uniform:5-5", LatencyDistribution.Uniform(5, 5) },
        { "lognormal:200,0.5", LatencyDistribution.LogNormal(200, 0.5) },
        { "lognormal:1.5,0", LatencyDistribution.LogNormal(1.5, 0) },
    };

    [Theory]
    [MemberData(nameof(Valid))]
    public void Valid_strings_parse_to_their_distribution(string text, LatencyDistribution expected) =>
        Assert.Equal(expected, LatencyDistribution.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("fast")]
    [InlineData("-5")]
    [InlineData("fixed:")]
    [InlineData("fixed:abc")]
    [InlineData("fixed:-1")]
    [InlineData("fixed:NaN")]
    [InlineData("uniform:100-10")]
    [InlineData("uniform:10")]
    [InlineData("uniform:-1-5")]
    [InlineData("lognormal:200")]
    [InlineData("lognormal:0,0.5")]
    [InlineData("lognormal:200,-1")]
    [InlineData("gauss:1,2")]
    public void Invalid_strings_are_rejected_with_an_error_naming_the_text(string text)
    {
        var e = Assert.Throws<FormatException>(() => LatencyDistribution.Parse(text));
        Assert.Contains($"\"{text}\"", e.Message);
        Assert.False(LatencyDistribution.TryParse(text, out _, out var error));
        Assert.Equal(e.Message, error);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("fixed:50")]
    [InlineData("uniform:10-100")]
    [InlineData("lognormal:200,0.5")]
    public void ToString_round_trips(string text) =>
        Assert.Equal(text, LatencyDistribution.Parse(text).ToString());

    [Fact]
    public void Only_zero_is_zero()
    {
        Assert.True(LatencyDistribution.Zero.IsZero);
        Assert.True(LatencyDistribution.Uniform(0, 0).IsZero);
        Assert.False(LatencyDistribution.Fixed(1).IsZero);
        Assert.False(LatencyDistribution.Uniform(0, 1).IsZero);
    }

    [Fact]
    public void Uniform_samples_stay_within_bounds()
    {
        var d = LatencyDistribution.Uniform(10, 20);
        var random = new Random(1);
        var samples = Enumerable.Range(0, 5000).Select(_ => d.SampleMs(random)).ToList();

        Assert.All(samples, s => Assert.InRange(s, 10, 20));
        Assert.InRange(samples.Average(), 14.5, 15.5);
    }

    [Fact]
    public void LogNormal_samples_have_the_configured_median_and_a_long_tail()
    {
        var d = LatencyDistribution.LogNormal(200, 0.5);
        var random = new Random(2);
        var samples = Enumerable.Range(0, 20001).Select(_ => d.SampleMs(random)).Order().ToList();

        Assert.All(samples, s => Assert.True(s > 0));
        Assert.InRange(samples[samples.Count / 2], 190, 210);
        // exp(0.5 * 2.326) ≈ 3.2: the 99th percentile sits near 3.2× the median.
        Assert.InRange(samples[(int)(samples.Count * 0.99)], 560, 720);
    }

    [Fact]
    public void Seeded_sampling_is_reproducible()
    {
        var d = LatencyDistribution.LogNormal(100, 1);
        var a = new Random(9);
        var b = new Random(9);

        Assert.Equal(Enumerable.Range(0, 100).Select(_ => d.SampleMs(a)), Enumerable.Range(0, 100).Select(_ => d.SampleMs(b)));
    }

    [Fact]
    public void Factories_reject_impossible_parameters()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => LatencyDistribution.Fixed(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => LatencyDistribution.Fixed(double.PositiveInfinity));
        Assert.Throws<ArgumentOutOfRangeException>(() => LatencyDistribution.Uniform(5, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => LatencyDistribution.LogNormal(0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => LatencyDistribution.LogNormal(10, -1));
    }
}
