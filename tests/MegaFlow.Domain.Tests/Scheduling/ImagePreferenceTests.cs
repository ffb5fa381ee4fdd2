using MegaFlow.Contracts.Scheduling;
using MegaFlow.Contracts;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;

namespace MegaFlow.Domain.Tests.Scheduling;

/// <summary>Admission prefers nodes that already hold the task's image (no pull before the start).</summary>
public sealed class ImagePreferenceTests
{
    private static SchedulerHarness Harness(int slots = 4) =>
        new(new SchedulerSettings { SlotsPerNode = slots, MaxStarting = 100 }, "node-a", "node-b", "node-c");

    private static void Enqueue(SchedulerHarness h, string task, string image) =>
        h.Do(s => SchedulerLogic.Enqueue(s, task, 1, "pool", ExecutionMode.Ephemeral, SchedulerHarness.T0, image));

    [Fact]
    public void A_node_holding_the_image_is_chosen_over_a_less_loaded_one_without_it()
    {
        var h = Harness();
        h.State = SchedulerLogic.ReportImages(h.State, "node-c", ["python:3.12", "megaflow/base:1"]);
        Enqueue(h, "t1", "python:3.12");

        Assert.Equal("node-c", Assert.Single(h.PlanLeases()).Node);
    }

    [Fact]
    public void Image_names_match_with_or_without_the_latest_tag()
    {
        var h = Harness();
        h.State = SchedulerLogic.ReportImages(h.State, "node-b", ["busybox:latest"]);
        Enqueue(h, "t1", "busybox");

        Assert.Equal("node-b", Assert.Single(h.PlanLeases()).Node);
    }

    [Fact]
    public void Among_holders_the_least_loaded_wins_and_a_full_holder_falls_back_to_any_node()
    {
        var h = Harness(slots: 2);
        h.State = SchedulerLogic.ReportImages(h.State, "node-b", ["img:1"]);
        h.State = SchedulerLogic.ReportImages(h.State, "node-c", ["img:1"]);
        for (var i = 0; i < 5; i++) Enqueue(h, $"t{i}", "img:1");

        var nodes = h.PlanLeases().Select(l => l.Node).ToList();

        // Two slots on each holder first (alternating by load), then the node without the image.
        Assert.Equal(["node-b", "node-c", "node-b", "node-c", "node-a"], nodes);
    }

    [Fact]
    public void Without_reports_or_without_an_image_placement_is_by_load_as_before()
    {
        var h = Harness();
        Enqueue(h, "t1", "img:1");
        h.Enqueue("t2", "pool");
        Assert.Equal(["node-a", "node-b"], h.PlanLeases().Select(l => l.Node));
    }

    [Fact]
    public void A_node_that_leaves_forgets_its_images_and_the_image_survives_queueing()
    {
        var h = Harness();
        h.State = SchedulerLogic.ReportImages(h.State, "node-c", ["img:1"]);
        h.Do(s => SchedulerLogic.NodeDown(s, "node-c"));
        Assert.False(h.State.NodeImages.ContainsKey("node-c"));

        Enqueue(h, "t1", "img:1");
        Assert.Equal("img:1", h.State.QueuedByTask["t1"].Image);
        Assert.Equal("node-a", Assert.Single(h.PlanLeases()).Node);
    }

    [Fact]
    public void Image_reports_are_not_part_of_the_snapshot()
    {
        var h = Harness();
        h.State = SchedulerLogic.ReportImages(h.State, "node-a", ["img:1"]);
        var restored = SchedulerState.FromSnapshot(h.State.ToSnapshot());
        Assert.Empty(restored.NodeImages);
    }
}
