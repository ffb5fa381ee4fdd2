using MegaFlow.Management.Tests.Infrastructure;

namespace MegaFlow.Management.Tests.Metrics;

/// <summary>/metrics on every node: valid Prometheus text whose counters match the tasks that ran.</summary>
[Collection(ManagementClusterCollection.Name)]
public sealed class MetricsEndpointTests(ManagementClusterFixture f)
{
    private const int Tasks = 9;

    [Fact]
    public async Task Metrics_parse_as_prometheus_text_and_their_counters_match_the_tasks_that_ran()
    {
        var before = await ScrapeAll();
        var file = TestDatasets.Write("metrics", Tasks);
        (await f.Cli(0, "tasks", "submit", file, "--watch")).Ok();

        // Status changes are counted by the node running each task: summed over nodes, each task once.
        IReadOnlyList<IReadOnlyList<PromSample>> after = [];
        await CliRun.Eventually(async () =>
        {
            after = await ScrapeAll();
            return Sum(after, "megaflow_task_transitions_total", ("status", "completed")) - Sum(before, "megaflow_task_transitions_total", ("status", "completed")) >= Tasks;
        }, TimeSpan.FromSeconds(30), "completions counted");
        Assert.Equal(Tasks, Sum(after, "megaflow_task_transitions_total", ("status", "completed")) - Sum(before, "megaflow_task_transitions_total", ("status", "completed")));
        Assert.Equal(Tasks, Sum(after, "megaflow_task_transitions_total", ("status", "submitted")) - Sum(before, "megaflow_task_transitions_total", ("status", "submitted")));
        Assert.Equal(Tasks, Sum(after, "megaflow_task_admission_latency_seconds_count") - Sum(before, "megaflow_task_admission_latency_seconds_count"));
        Assert.Equal(Tasks, Sum(after, "megaflow_environment_start_latency_seconds_count") - Sum(before, "megaflow_environment_start_latency_seconds_count"));
        Assert.True(Sum(after, "megaflow_persisted_events_total", ("kind", "task")) - Sum(before, "megaflow_persisted_events_total", ("kind", "task")) >= Tasks * 6,
            "each task persists at least submitted, queued, admitted, running, scoring, completed");

        // Tasks by state is every node's view of the whole cluster, from its task read model, which
        // follows the journal a moment behind the task actors' own counters: wait for it, then compare.
        await CliRun.Eventually(async () =>
        {
            after = await ScrapeAll();
            return before.Zip(after).All(p => p.Item2.Value("megaflow_tasks", ("status", "completed")) - p.Item1.Value("megaflow_tasks", ("status", "completed")) >= Tasks);
        }, TimeSpan.FromSeconds(30), "every node's read model counts the completions");
        foreach (var (b, a) in before.Zip(after))
            Assert.Equal(Tasks, a.Value("megaflow_tasks", ("status", "completed")) - b.Value("megaflow_tasks", ("status", "completed")));

        var one = after[0];
        Assert.Equal(3, one.Value("megaflow_cluster_members", ("status", "up")));
        Assert.Equal(1, one.Value("megaflow_scheduler_up"));
        Assert.Equal(0, one.Value("megaflow_scheduler_queue_depth"));
        Assert.Equal(256, one.Value("megaflow_semaphore_limit", ("semaphore", "running")));
        Assert.True(one.Value("process_cpu_seconds_total") > 0);
        Assert.True(one.Value("process_resident_memory_bytes") > 10_000_000);
        var buckets = one.Where(s => s.Name == "megaflow_task_admission_latency_seconds_bucket").Select(s => s.Value).ToList();
        Assert.Equal(buckets.OrderBy(v => v), buckets); // cumulative
    }

    private async Task<IReadOnlyList<IReadOnlyList<PromSample>>> ScrapeAll()
    {
        var pages = new List<IReadOnlyList<PromSample>>();
        for (var i = 0; i < 3; i++)
        {
            using var http = f.Http(i);
            var response = await http.GetAsync("metrics");
            Assert.StartsWith("text/plain; version=0.0.4", response.Content.Headers.ContentType!.ToString());
            pages.Add(PrometheusText.Parse(await response.Content.ReadAsStringAsync()));
        }
        return pages;
    }

    private static double Sum(IReadOnlyList<IReadOnlyList<PromSample>> pages, string name, params (string, string)[] labels) =>
        pages.Sum(p => p.Value(name, labels));
}
