using System.Text.Json;
using MegaFlow.Management.Tests.Infrastructure;

namespace MegaFlow.Management.Tests.Api;

/// <summary>The tasks and envs palettes: submit, watch, list, show, cancel; environments released.</summary>
[Collection(ManagementClusterCollection.Name)]
public sealed class TasksAndEnvironmentsTests(ManagementClusterFixture f)
{
    [Fact]
    public async Task Tasks_submitted_from_a_file_are_followed_by_watch_to_completion()
    {
        var file = TestDatasets.Write("watch", 12);
        var submit = await f.Cli(0, "tasks", "submit", file);
        Assert.Equal(0, submit.ExitCode);
        Assert.Contains("submitted 12 new tasks", submit.Output);

        // Watched through another node than the one that took the submission.
        var watch = await f.Cli(1, "tasks", "watch", "--file", file);
        Assert.Equal(0, watch.ExitCode);
        Assert.Contains("[12/12]", watch.Output);
        for (var i = 0; i < 12; i++) Assert.Contains($"watch-{i:D3} completed", watch.Output);

        var list = (await f.Cli(2, "tasks", "list", "--status", "completed", "--json")).Json();
        var ids = list.GetProperty("tasks").EnumerateArray().Select(t => t.GetProperty("taskId").GetString()).ToHashSet();
        Assert.True(Enumerable.Range(0, 12).All(i => ids.Contains($"watch-{i:D3}")), "every watched task is listed as completed");

        var show = (await f.Cli(1, "tasks", "show", "watch-002", "--json")).Json();
        Assert.Equal("completed", show.GetProperty("status").GetString());
        Assert.Equal(0, show.GetProperty("score").GetProperty("reward").GetDouble()); // its scoring command exits 1

        var again = await f.Cli(0, "tasks", "submit", file);
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("submitted 0 new tasks (12 already known", again.Output);
    }

    [Fact]
    public async Task Cancel_stops_a_running_task_and_releases_its_environment()
    {
        var file = TestDatasets.Write("cancel", 1, action: "sleep 300");
        (await f.Cli(0, "tasks", "submit", file)).Ok();
        const string id = "cancel-000";
        string? environment = null;
        await CliRun.Eventually(async () =>
        {
            var s = (await f.Cli(1, "tasks", "show", id, "--json")).Json();
            if (s.GetProperty("status").GetString() != "running") return false;
            environment = s.GetProperty("lease").GetProperty("environmentId").GetString();
            return true;
        }, TimeSpan.FromMinutes(1), "the task runs");

        var envs = (await f.Cli(0, "envs", "list", "--json")).Json();
        var env = envs.GetProperty("environments").EnumerateArray().Single(e => e.GetProperty("environmentId").GetString() == environment);
        Assert.Equal("leased", env.GetProperty("status").GetString());
        Assert.Equal(id, env.GetProperty("leasedTo").GetString());
        var holders = Holders((await f.Cli(1, "scheduler", "show", "--json")).Json(), "running");
        Assert.Contains(id, holders);

        // A leased environment is not destroyed behind its task's back.
        var refused = await f.Cli(0, "envs", "destroy", environment!);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("leased to task 'cancel-000'", refused.Output);

        var cancel = await f.Cli(1, "tasks", "cancel", id, "--reason", "operator test");
        Assert.Equal(0, cancel.ExitCode);
        Assert.Equal("cancelled", (await f.Cli(2, "tasks", "show", id, "--json")).Json().GetProperty("status").GetString());

        await CliRun.Eventually(async () =>
            !Holders((await f.Cli(0, "scheduler", "show", "--json")).Json(), "running").Contains(id)
            && !(await f.Cli(0, "envs", "list", "--json")).Json().GetProperty("environments").EnumerateArray()
                .Any(e => e.GetProperty("environmentId").GetString() == environment),
            TimeSpan.FromSeconds(45), "the lease is released and the ephemeral environment destroyed");

        var late = await f.Cli(0, "tasks", "cancel", "watch-none-such");
        Assert.Equal(1, late.ExitCode);
        Assert.Contains("no task 'watch-none-such'", late.Output);
    }

    [Fact]
    public async Task Cancelling_a_finished_task_or_showing_an_unknown_one_fails_with_exit_1_and_a_reason()
    {
        var file = TestDatasets.Write("done", 1);
        (await f.Cli(0, "tasks", "submit", file, "--watch")).Ok();
        var cancel = await f.Cli(0, "tasks", "cancel", "done-000");
        Assert.Equal(1, cancel.ExitCode);
        Assert.Contains("cannot be cancelled", cancel.Output);

        var show = await f.Cli(1, "tasks", "show", "never-submitted");
        Assert.Equal(1, show.ExitCode);
        Assert.Contains("no task 'never-submitted'", show.Output);

        var env = await f.Cli(1, "envs", "show", "env-nothing@127.0.0.1:1");
        Assert.Equal(1, env.ExitCode);
        Assert.Contains("no live environment", env.Output);
    }

    private static HashSet<string> Holders(JsonElement scheduler, string semaphore) =>
        scheduler.GetProperty("semaphores").EnumerateArray()
            .Single(s => s.GetProperty("name").GetString() == semaphore)
            .GetProperty("holders").EnumerateArray().Select(h => h.GetString()!).ToHashSet();
}
