namespace MegaFlow.Dashboard.Tests.Infrastructure;

/// <summary>
/// One node and one browser shared by the page tests, with a few tasks already finished: two that
/// completed (one with a step output of several lines), one whose environment stays warm in a
/// persistent pool (so the environments page has a row).
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    public DashboardNode Node { get; private set; } = null!;

    public Browser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Browser = await Browser.LaunchAsync();
        Node = await DashboardNode.StartAsync();
        await Node.SubmitAsync(
            DashboardNode.Spec("seed-ok-a", "echo hello from the agent", "printf 'line one\\nline two\\n'"),
            DashboardNode.Spec("seed-ok-b", "echo second task"),
            new { taskId = "seed-warm", mode = "persistent", image = "warm-pool", actions = new[] { "echo warm" }, scoreCommand = "exit 1" });
        foreach (var id in new[] { "seed-ok-a", "seed-ok-b", "seed-warm" })
            await Node.WaitForStatusAsync(id, "completed", TimeSpan.FromMinutes(1));
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        if (Node is not null) await Node.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<DashboardFixture>
{
    public const string Name = "dashboard node and browser";
}

/// <summary>Where page screenshots go: MEGAFLOW_DASHBOARD_SCREENSHOTS (docs/dashboard when refreshing the README's), else a temporary folder.</summary>
public static class Screenshots
{
    public static string PathOf(string name)
    {
        var dir = Environment.GetEnvironmentVariable("MEGAFLOW_DASHBOARD_SCREENSHOTS") is { Length: > 0 } d
            ? d
            : System.IO.Path.Combine(System.IO.Path.GetTempPath(), "megaflow-dashboard-screenshots");
        Directory.CreateDirectory(dir);
        return System.IO.Path.Combine(dir, name + ".png");
    }
}
