using MegaFlow.Dashboard.Tests.Infrastructure;
using System.Text.Json;
using MegaFlow.Contracts.Management;
using MegaFlow.Contracts.Training;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace MegaFlow.Dashboard.Tests;

/// <summary>The dashboard's pages in Chromium against a real node: what an operator sees and can do.</summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardPageTests(DashboardFixture f)
{
    [Theory]
    [InlineData("cluster", "#cluster-members table", "#cluster-sharding table")]
    [InlineData("scheduler", "#scheduler-semaphores .meter", "#scheduler-chart svg")]
    [InlineData("tasks", "#tasks-table table", "tr[data-task-id='seed-ok-a']")]
    [InlineData("tasks/seed-ok-a", "#task-steps table", "#task-status")]
    [InlineData("environments", "#environments-table table", "text=warm-pool")]
    [InlineData("training", "#no-trainer", "text=No trainer node")]
    public async Task Each_page_renders_without_console_errors(string page, string shown, string alsoShown)
    {
        await using var p = await f.Browser.OpenAsync(f.Node.BaseUrl);
        await p.Page.GotoAsync($"/dashboard/#/{page}");
        await Expect(p.Page.Locator(shown).First).ToBeVisibleAsync();
        await Expect(p.Page.Locator(alsoShown).First).ToBeVisibleAsync();
        // Live: the stream's samples arrive and the page keeps rendering them without errors.
        await Expect(p.Page.Locator("#live-state")).ToHaveTextAsync("live");
        await p.Page.WaitForTimeoutAsync(2500);
        if (page != "tasks") // the tasks page's screenshot is taken with 100,000 tasks (LargeTaskListTests)
            // training.png is the page with experiments (below); this node has no trainer.
            await p.Page.ScreenshotAsync(new() { Path = Screenshots.PathOf(page == "training" ? "training-no-trainer" : page.Replace("tasks/", "task-")), FullPage = true });
        Assert.Empty(p.Errors());
    }

    [Fact]
    public async Task A_task_that_finishes_while_the_page_is_open_changes_its_row_without_a_reload()
    {
        await f.Node.SubmitAsync(DashboardNode.Spec("live-finish", "sleep 8"));
        await f.Node.WaitUntilRunningAsync("live-finish", TimeSpan.FromMinutes(1));
        await using var p = await f.Browser.OpenAsync(f.Node.BaseUrl);
        await p.Page.GotoAsync("/dashboard/#/tasks");
        var status = p.Page.Locator("tr[data-task-id='live-finish'] [data-field='status']");
        // Still running (the read model may still say provisioning or admitted): not yet finished.
        await Expect(status).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^(admitted|provisioning|running)$"));
        // A marker on the window survives only if the page is not reloaded.
        await p.Page.EvaluateAsync("() => { window.__sameDocument = true; }");

        await Expect(status).ToHaveTextAsync("completed", new() { Timeout = 60_000 });
        Assert.True(await p.Page.EvaluateAsync<bool>("() => window.__sameDocument === true"), "the row changed without a reload");
        Assert.Empty(p.Errors());
    }

    [Fact]
    public async Task The_status_filter_and_the_search_narrow_the_list()
    {
        await f.Node.SubmitAsync(DashboardNode.Spec("filter-cancelled", "sleep 300"));
        await f.Node.WaitUntilRunningAsync("filter-cancelled", TimeSpan.FromMinutes(1));
        using (var http = f.Node.Http(withToken: true))
        {
            var cancel = await http.PostAsync("api/tasks/filter-cancelled/cancel", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
            Assert.True(cancel.IsSuccessStatusCode, await cancel.Content.ReadAsStringAsync());
        }
        await f.Node.WaitForStatusAsync("filter-cancelled", "cancelled", TimeSpan.FromMinutes(1));

        await using var p = await f.Browser.OpenAsync(f.Node.BaseUrl);
        await p.Page.GotoAsync("/dashboard/#/tasks");
        await Expect(p.Page.Locator("tr[data-task-id='seed-ok-a']")).ToBeVisibleAsync();

        await p.Page.GetByLabel("Status", new() { Exact = true }).SelectOptionAsync("cancelled");
        await Expect(p.Page.Locator("tr[data-task-id='filter-cancelled']")).ToBeVisibleAsync();
        await Expect(p.Page.Locator("tr[data-task-id='seed-ok-a']")).ToHaveCountAsync(0);
        foreach (var cell in await p.Page.Locator("#tasks-table [data-field='status']").AllInnerTextsAsync())
            Assert.Equal("cancelled", cell);

        await p.Page.GetByLabel("Status", new() { Exact = true }).SelectOptionAsync("");
        await p.Page.GetByLabel("Search by id").FillAsync("ok-b");
        await p.Page.GetByLabel("Search by id").PressAsync("Enter");
        await Expect(p.Page.Locator("#tasks-table tbody tr")).ToHaveCountAsync(1);
        await Expect(p.Page.Locator("tr[data-task-id='seed-ok-b']")).ToBeVisibleAsync();
        await Expect(p.Page.Locator("#tasks-summary")).ToContainTextAsync("of 1");
        Assert.Empty(p.Errors());
    }

    [Fact]
    public async Task A_tasks_page_shows_its_steps_with_their_output()
    {
        await using var p = await f.Browser.OpenAsync(f.Node.BaseUrl);
        await p.Page.GotoAsync("/dashboard/#/tasks");
        // Keyboard: the task's link is reachable and opens its page.
        await p.Page.Locator("tr[data-task-id='seed-ok-a'] a").FocusAsync();
        await p.Page.Keyboard.PressAsync("Enter");
        var steps = p.Page.Locator("#task-steps tbody tr");
        await Expect(steps).ToHaveCountAsync(2);
        await Expect(steps.Nth(0)).ToContainTextAsync("echo hello from the agent");
        await Expect(steps.Nth(0)).ToContainTextAsync("hello from the agent");
        await Expect(steps.Nth(1)).ToContainTextAsync("line two");
        await Expect(p.Page.Locator("#task-status")).ToHaveTextAsync("completed");
        await Expect(p.Page.GetByText("reward 1.00")).ToBeVisibleAsync();
        // One attempt, listed once (the finished attempt is in the history, not again as "current").
        await Expect(p.Page.Locator("#task-attempts tbody tr")).ToHaveCountAsync(1);
        Assert.Empty(p.Errors());
    }

    [Fact]
    public async Task A_cancel_without_the_token_is_refused_with_a_message_and_works_with_it()
    {
        await f.Node.SubmitAsync(DashboardNode.Spec("cancel-me", "sleep 300"));
        await f.Node.WaitUntilRunningAsync("cancel-me", TimeSpan.FromMinutes(1));
        await using var p = await f.Browser.OpenAsync(f.Node.BaseUrl);
        await p.Page.GotoAsync("/dashboard/#/tasks/cancel-me");
        await Expect(p.Page.Locator("#task-status")).ToHaveTextAsync("running");

        await p.Page.Locator("#cancel-task").ClickAsync();
        var notice = p.Page.Locator("#task-notice");
        await Expect(notice).ToContainTextAsync("Refused");
        await Expect(notice).ToContainTextAsync("token");
        await p.Page.ScreenshotAsync(new() { Path = Screenshots.PathOf("cancel-refused"), FullPage = true });
        await Expect(p.Page.Locator("#task-status")).ToHaveTextAsync("running");
        Assert.NotEqual("cancelled", await f.Node.StatusAsync("cancel-me"));

        await p.Page.GetByLabel("Token").FillAsync(DashboardNode.Token);
        await p.Page.GetByLabel("Token").PressAsync("Enter");
        await p.Page.Locator("#cancel-task").ClickAsync();
        await Expect(notice).ToContainTextAsync("cancelled");
        await Expect(p.Page.Locator("#task-status")).ToHaveTextAsync("cancelled", new() { Timeout = 30_000 });
        // The refused attempt's 401 is the only error the browser logged.
        Assert.Empty(p.Errors(e => e.Contains("401")));
    }

    [Fact]
    public async Task The_training_page_draws_each_experiments_reward_curve_and_evaluations()
    {
        await using var p = await f.Browser.OpenAsync(f.Node.BaseUrl);
        // This node has no trainer role: the page is shown a cluster with a trainer member, and the
        // trainer's reports as the route serialises them (every shape a real run cannot reach in a
        // test's time: staleness 1, 40 steps, a failed experiment). docs/training/ has a real run's.
        await p.Page.RouteAsync("**/api/cluster", async route =>
        {
            var view = System.Text.Json.Nodes.JsonNode.Parse(await (await route.FetchAsync()).TextAsync())!;
            view["oldestByRole"]!["trainer"] = view["self"]!.GetValue<string>();
            await route.FulfillAsync(new() { ContentType = "application/json", Body = view.ToJsonString() });
        });
        await p.Page.RouteAsync("**/api/training/experiments", route => route.FulfillAsync(new() { ContentType = "application/json", Body = SampleExperiments() }));
        await p.Page.GotoAsync("/dashboard/#/training");
        var first = p.Page.Locator("[data-experiment='gspo-touch-small']");
        await Expect(first.Locator("svg.chart path[data-series='mean reward']")).ToBeVisibleAsync();
        await Expect(first.Locator("svg.chart path[data-series='held-out pass@1']")).ToBeVisibleAsync();
        await Expect(first).ToContainTextAsync("pass@k");
        await Expect(first).ToContainTextAsync("0.650"); // an evaluation's pass@k
        await Expect(first.Locator("dd.weights")).ToHaveTextAsync("v40 (from v0)");
        await Expect(first.Locator("dd.steps-done")).ToHaveTextAsync("40 of 60");
        await Expect(first.Locator("dd.stale")).ToHaveTextAsync("18"); // 3 in each of the 6 steps divisible by 7 (0, 7, … 35)
        await Expect(first.Locator("dd.timings")).ToContainTextAsync("wait 2.0 s");
        await Expect(first).ToContainTextAsync("v38–39"); // a step sampled with two versions (staleness 1)
        var failed = p.Page.Locator("[data-experiment='eval-only']");
        await Expect(failed).ToContainTextAsync("No training steps yet.");
        await Expect(failed.Locator(".message.error")).ToContainTextAsync("could not load model");
        await p.Page.ScreenshotAsync(new() { Path = Screenshots.PathOf("training-sample"), FullPage = true });
        Assert.Empty(p.Errors());
    }

    private static string SampleExperiments()
    {
        var steps = Enumerable.Range(0, 40).Select(i => new StepReport(
            Step: i, SampledVersionMin: Math.Max(0, i - 1), SampledVersionMax: i, Version: i + 1,
            MeanReward: Math.Round(0.2 + 0.5 * (1 - Math.Exp(-i / 12.0)) + 0.03 * Math.Sin(i), 3),
            Pass1: Math.Round(0.15 + 0.45 * (1 - Math.Exp(-i / 15.0)), 3),
            Tokens: 48_000 + 500 * i, Trained: 64, Stale: i % 7 == 0 ? 3 : 0, InfraExcluded: i % 11 == 0 ? 2 : 0,
            GroupsTrained: 8, GroupsSkipped: 0, RolloutSeconds: 31.5 + i % 4, WaitSeconds: 2, TrainSeconds: 12.25, SyncSeconds: 0.4,
            Loss: -0.01, ClipFraction: 0.02, FirstRatioDeviation: 1e-7)).ToList();
        var evaluations = new[]
        {
            new EvaluationReport(0, 10, 10, 12, 48, 4, 0.41, 0.58, 0),
            new EvaluationReport(1, 20, 20, 12, 48, 4, 0.47, 0.63, 0),
            new EvaluationReport(2, 40, 40, 12, 48, 4, 0.52, 0.65, 1),
        };
        var spec = new ExperimentSpec { Id = "gspo-touch-small", Dataset = BuiltInSuites.Touch, Steps = 60, Staleness = 1 };
        return JsonSerializer.Serialize(new[]
        {
            new ExperimentReport("gspo-touch-small", ExperimentStatuses.Running, spec, 0, 40, 41, steps, evaluations, 17, false, null),
            new ExperimentReport("eval-only", ExperimentStatuses.Failed, spec with { Id = "eval-only" }, 0, 0, 0, [],
                [new EvaluationReport(0, 0, 0, 12, 48, 4, 0.3, 0.5, 0)], 0, false, "the trainer could not load model 'megaflow-policy': no such file"),
        }, ManagementJson.Options);
    }
}
