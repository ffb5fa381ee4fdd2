using MegaFlow.Contracts;
using MegaFlow.Contracts.Management;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Management.Scheduling;
using static MegaFlow.Contracts.Scheduling.SchedulerProtocol;

namespace MegaFlow.Management.Tests.Scheduling;

/// <summary>The operator's view of the scheduler, built from its two answers (no actors involved).</summary>
public sealed class SchedulerViewTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static Lease LeaseOf(string task, string? quota) =>
        new(task, 1, $"lease-{task}", "p", ExecutionMode.Ephemeral, $"env-{task}@n:1", "n:1", false, false, 1, T0, T0, quota);

    [Fact]
    public void Quotas_appear_as_semaphores_with_their_holders_and_in_the_quota_list()
    {
        var settings = new SchedulerSettings { Quotas = new Dictionary<string, int> { ["train"] = 2, ["eval"] = 1 } };
        var status = new SchedulerStatus(5, 3, 0, new Dictionary<string, int> { ["p"] = 3 }, new Dictionary<string, int> { ["n:1"] = 3 },
            new Dictionary<string, int>(), new Dictionary<string, int>(), ["n:1"], settings,
            RunningByQuota: new Dictionary<string, int> { ["train"] = 2, ["nightly"] = 1 });
        var leases = new SchedulerLeases([LeaseOf("t1", "train"), LeaseOf("t2", "train"), LeaseOf("u1", "nightly")],
            new Dictionary<string, int> { ["p"] = 5 }, new Dictionary<string, int> { ["train"] = 4, ["eval"] = 1 });

        var view = SchedulerRoutes.Build(status, leases);

        var train = Assert.Single(view.Semaphores, s => s.Name == "quota:train");
        Assert.Equal((2, 2), (train.Used, train.Limit));
        Assert.Equal(["t1", "t2"], train.Holders);
        var eval = Assert.Single(view.Semaphores, s => s.Name == "quota:eval");
        Assert.Equal((0, 1), (eval.Used, eval.Limit));
        Assert.Equal(
            [new QuotaView("eval", 1, 0, 1, true), new QuotaView("nightly", 0, 1, int.MaxValue, false), new QuotaView("train", 4, 2, 2, true)],
            view.Quotas!);
    }

    [Fact]
    public void A_scheduler_older_than_quotas_gives_an_empty_quota_list()
    {
        var status = new SchedulerStatus(0, 0, 0, new Dictionary<string, int>(), new Dictionary<string, int>(),
            new Dictionary<string, int>(), new Dictionary<string, int>(), [], new SchedulerSettings());

        var view = SchedulerRoutes.Build(status, new SchedulerLeases([], new Dictionary<string, int>()));

        Assert.Empty(view.Quotas!);
        Assert.DoesNotContain(view.Semaphores, s => s.Name.StartsWith("quota:", StringComparison.Ordinal));
    }
}
