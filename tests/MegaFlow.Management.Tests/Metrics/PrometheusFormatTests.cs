using MegaFlow.Management.Metrics;
using MegaFlow.Management.Tests.Infrastructure;
using Prometheus;

namespace MegaFlow.Management.Tests.Metrics;

/// <summary>The Prometheus text format as a node's own registry writes it (prometheus-net).</summary>
public sealed class PrometheusFormatTests
{
    private static async Task<string> Text(CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    [Fact]
    public async Task Families_have_help_and_type_lines_and_label_values_are_escaped()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var tasks = Prometheus.Metrics.WithCustomRegistry(registry).CreateGauge("megaflow_tasks", "Tasks by status per node", ["pool"]);
        tasks.WithLabels("completed").Set(3);
        tasks.WithLabels("py\"3\\12\nx").Set(0.5);
        var text = await Text(registry);
        Assert.Equal(
            "# HELP megaflow_tasks Tasks by status per node\n" +
            "# TYPE megaflow_tasks gauge\n" +
            "megaflow_tasks{pool=\"completed\"} 3\n" +
            "megaflow_tasks{pool=\"py\\\"3\\\\12\\nx\"} 0.5\n", text);
        var samples = PrometheusText.Parse(text);
        Assert.Equal("py\"3\\12\nx", samples[1].Labels["pool"]);
    }

    [Fact]
    public async Task A_histogram_writes_cumulative_buckets_an_inf_bucket_a_sum_and_a_count()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var h = Prometheus.Metrics.WithCustomRegistry(registry).CreateHistogram("lat_seconds", "latency", new HistogramConfiguration { Buckets = [0.1, 1, 10] });
        foreach (var v in new[] { 0.05, 0.1, 0.5, 3, 99 }) h.Observe(v);
        var samples = PrometheusText.Parse(await Text(registry));
        Assert.Equal(2, samples.Value("lat_seconds_bucket", ("le", "0.1")));
        Assert.Equal(3, samples.Value("lat_seconds_bucket", ("le", "1")));
        Assert.Equal(4, samples.Value("lat_seconds_bucket", ("le", "10")));
        Assert.Equal(5, samples.Value("lat_seconds_bucket", ("le", "+Inf")));
        Assert.Equal(5, samples.Value("lat_seconds_count"));
        Assert.Equal(102.65, samples.Value("lat_seconds_sum"), 6);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(1e21)]
    [InlineData(0.1)]
    [InlineData(-3)]
    public async Task Values_use_formats_prometheus_reads(double value)
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        Prometheus.Metrics.WithCustomRegistry(registry).CreateGauge("v", "value").Set(value);
        Assert.Equal(value, PrometheusText.Parse(await Text(registry)).Value("v"));
    }

    [Fact]
    public void Histogram_bounds_must_increase()
    {
        var factory = Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry());
        Assert.Throws<ArgumentException>(() => factory.CreateHistogram("a", "a", new HistogramConfiguration { Buckets = [1, 1] }));
        Assert.Throws<ArgumentException>(() => factory.CreateHistogram("b", "b", new HistogramConfiguration { Buckets = [] }));
    }

    [Fact]
    public async Task Each_node_counts_in_its_own_registry_with_the_latency_buckets()
    {
        var one = new NodeMetrics();
        var two = new NodeMetrics();
        one.CountTransition(TaskStatus.Completed);
        one.AdmissionLatency.Observe(0.2);

        var first = PrometheusText.Parse(await one.SerializeAsync());
        var second = PrometheusText.Parse(await two.SerializeAsync());
        Assert.Equal(1, first.Value("megaflow_task_transitions_total", ("status", "completed")));
        Assert.Equal(0, second.Value("megaflow_task_transitions_total", ("status", "completed")));
        Assert.Equal(0, second.Value("megaflow_task_admission_latency_seconds_count"));
        // The process-wide default registry is left alone.
        Assert.DoesNotContain("megaflow_", await Text(Prometheus.Metrics.DefaultRegistry));

        var bounds = first.Where(s => s.Name == "megaflow_task_admission_latency_seconds_bucket").Select(s => s.Labels["le"]).ToList();
        Assert.Equal(NodeMetrics.LatencyBounds.Select(b => b.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append("+Inf"), bounds);
        Assert.Equal(1, first.Value("megaflow_task_admission_latency_seconds_bucket", ("le", "0.25")));
        Assert.Equal(0, first.Value("megaflow_task_admission_latency_seconds_bucket", ("le", "0.1")));
    }
}
