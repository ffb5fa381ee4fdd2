using System.Diagnostics;
using System.Text.Json;
using MegaFlow.Dashboard.Tests.Infrastructure;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace MegaFlow.Dashboard.Tests;

/// <summary>The tasks page with 100,000 tasks in the node's read model.</summary>
public sealed class LargeTaskListTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Tasks = 100_000;
    private DashboardNode _node = null!;
    private Browser _browser = null!;

    public async Task InitializeAsync()
    {
        _browser = await Browser.LaunchAsync();
        _node = await DashboardNode.StartAsync();
        var fill = Stopwatch.StartNew();
        await JournalFiller.FillAsync(_node.Node.System, Tasks);
        var written = fill.Elapsed;
        using var http = _node.Http();
        await Eventually.HoldsAsync(async () =>
        {
            using var doc = JsonDocument.Parse(await http.GetStringAsync("api/tasks?limit=1"));
            return doc.RootElement.GetProperty("total").GetInt32() >= Tasks;
        }, TimeSpan.FromMinutes(5), $"the read model holds {Tasks} tasks");
        output.WriteLine($"{Tasks} tasks written to the journal in {written.TotalSeconds:0.0} s, in the read model after {fill.Elapsed.TotalSeconds:0.0} s");
    }

    [Fact]
    public async Task The_tasks_page_opens_in_under_two_seconds_and_pages_filter_and_search_stay_fast()
    {
        await using var p = await _browser.OpenAsync(_node.BaseUrl);
        var open = Stopwatch.StartNew();
        await p.Page.GotoAsync("/dashboard/#/tasks", new() { WaitUntil = Microsoft.Playwright.WaitUntilState.Commit });
        // Checked at every animation frame (Expect's retries back off up to a second, which would be measured too).
        var inPage = await p.Page.WaitForFunctionAsync(
            "() => document.querySelectorAll('#tasks-table tbody tr').length === 50 && document.getElementById('tasks-summary').textContent.includes('of 100,000') && performance.now()",
            null, new() { PollingInterval = null, Timeout = 15_000 });
        open.Stop();
        var sinceNavigation = await inPage.JsonValueAsync<double>();
        output.WriteLine($"tasks page with {Tasks:N0} tasks: open {open.ElapsedMilliseconds} ms (navigation start to 50 rows shown: {sinceNavigation:0} ms)");

        var next = Stopwatch.StartNew();
        await p.Page.GetByRole(Microsoft.Playwright.AriaRole.Button, new() { Name = "Next ›" }).ClickAsync();
        await Expect(p.Page.Locator("#tasks-summary")).ToContainTextAsync("Tasks 51–100 of 100,000");
        next.Stop();

        var filter = Stopwatch.StartNew();
        await p.Page.GetByLabel("Status", new() { Exact = true }).SelectOptionAsync("failed");
        var failed = Enumerable.Range(0, Tasks).Count(i => JournalFiller.StatusOf(i) == "failed");
        await Expect(p.Page.Locator("#tasks-summary")).ToContainTextAsync($"of {failed:N0} with status failed");
        filter.Stop();

        var search = Stopwatch.StartNew();
        await p.Page.GetByLabel("Status", new() { Exact = true }).SelectOptionAsync("");
        await p.Page.GetByLabel("Search by id").FillAsync(JournalFiller.IdOf(4242));
        await p.Page.GetByLabel("Search by id").PressAsync("Enter");
        await Expect(p.Page.Locator("#tasks-table tbody tr")).ToHaveCountAsync(1);
        search.Stop();
        output.WriteLine($"next page {next.ElapsedMilliseconds} ms, status filter {filter.ElapsedMilliseconds} ms, search {search.ElapsedMilliseconds} ms");

        Assert.True(open.Elapsed < TimeSpan.FromSeconds(2), $"the tasks page opened in {open.ElapsedMilliseconds} ms");
        Assert.True(next.Elapsed < TimeSpan.FromSeconds(2), $"the next page took {next.ElapsedMilliseconds} ms");

        await p.Page.GotoAsync("/dashboard/#/tasks");
        await Expect(p.Page.Locator("#tasks-table tbody tr")).ToHaveCountAsync(50);
        await p.Page.ScreenshotAsync(new() { Path = Screenshots.PathOf("tasks") });
        Assert.Empty(p.Errors());
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null) await _browser.DisposeAsync();
        if (_node is not null) await _node.DisposeAsync();
    }
}
