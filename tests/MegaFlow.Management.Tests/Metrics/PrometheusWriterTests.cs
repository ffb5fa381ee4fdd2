using MegaFlow.Management.Metrics;
using MegaFlow.Management.Tests.Infrastructure;

namespace MegaFlow.Management.Tests.Metrics;

/// <summary>The Prometheus text format as the node writes it.</summary>
public sealed class PrometheusWriterTests
{
    [Fact]
    public void Families_have_help_and_type_lines_and_label_values_are_escaped()
    {
        var text = new PrometheusWriter()
            .Family("megaflow_tasks", "gauge", "Tasks by status\nper node")
            .Sample("megaflow_tasks", 3, ("status", "completed"))
            .Sample("megaflow_tasks", 0.5, ("pool", "py\"3\\12\nx"))
            .ToString();
        Assert.Equal(
            "# HELP megaflow_tasks Tasks by status\\nper node\n" +
            "# TYPE megaflow_tasks gauge\n" +
            "megaflow_tasks{status=\"completed\"} 3\n" +
            "megaflow_tasks{pool=\"py\\\"3\\\\12\\nx\"} 0.5\n", text);
        var samples = PrometheusText.Parse(text);
        Assert.Equal("py\"3\\12\nx", samples[1].Labels["pool"]);
    }

    [Fact]
    public void A_histogram_writes_cumulative_buckets_an_inf_bucket_a_sum_and_a_count()
    {
        var h = new Histogram([0.1, 1, 10]);
        foreach (var v in new[] { 0.05, 0.1, 0.5, 3, 99 }) h.Observe(v);
        var samples = PrometheusText.Parse(new PrometheusWriter().Histogram("lat_seconds", "latency", h.Snapshot()).ToString());
        Assert.Equal(2, samples.Value("lat_seconds_bucket", ("le", "0.1")));
        Assert.Equal(3, samples.Value("lat_seconds_bucket", ("le", "1")));
        Assert.Equal(4, samples.Value("lat_seconds_bucket", ("le", "10")));
        Assert.Equal(5, samples.Value("lat_seconds_bucket", ("le", "+Inf")));
        Assert.Equal(5, samples.Value("lat_seconds_count"));
        Assert.Equal(102.65, samples.Value("lat_seconds_sum"), 6);
    }

    [Theory]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(1e21, "1E+21")]
    [InlineData(0.1, "0.1")]
    public void Values_use_the_formats_prometheus_reads(double value, string text) =>
        Assert.Equal(text, PrometheusWriter.FormatValue(value));

    [Fact]
    public void Histogram_bounds_must_increase()
    {
        Assert.Throws<ArgumentException>(() => new Histogram([1, 1]));
        Assert.Throws<ArgumentException>(() => new Histogram([]));
    }
}
