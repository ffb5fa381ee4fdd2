namespace MegaFlow.Node.Tests;

/// <summary>The README's main job and the node's process behaviour, through the real executable.</summary>
public sealed class MainJobTests : IDisposable
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "megaflow-node-tests", Guid.NewGuid().ToString("N")[..10]);

    private Dictionary<string, string> Env() => new()
    {
        ["MEGAFLOW_DATA_DIR"] = _dataDir,
        ["MEGAFLOW_PORT"] = MegaflowProcess.FreePort().ToString(),
    };

    [Fact]
    public async Task The_demo_interrupted_with_ctrl_c_resumes_from_the_journal_and_finishes_every_task()
    {
        // Two tasks at a time: the first run must still be running when Ctrl-C arrives (at full
        // speed 240 tasks can finish within the moment the test takes to send the signal).
        var slow = Env();
        Directory.CreateDirectory(_dataDir);
        slow["MEGAFLOW_CONFIG"] = Path.Combine(_dataDir, "slow.conf");
        await File.WriteAllTextAsync(slow["MEGAFLOW_CONFIG"], "megaflow.scheduler.max-running = 2\n");
        using (var first = MegaflowProcess.Start(slow, "demo", "--tasks", "240"))
        {
            await first.WaitForOutputAsync("running:", TimeSpan.FromMinutes(2));
            first.Signal("INT");
            Assert.True(130 == await first.WaitForExitAsync(TimeSpan.FromMinutes(2)), first.Output);
            Assert.Contains("interrupted", first.Output);
        }

        using var second = MegaflowProcess.Start(Env(), "demo", "--tasks", "240");
        Assert.Equal(0, await second.WaitForExitAsync(TimeSpan.FromMinutes(4)));
        Assert.Contains("resumed from the journal: 240 tasks already known", second.Output);
        Assert.Contains("MegaFlow demo summary", second.Output);
        // The finished job leaves nothing behind: ephemeral environments were destroyed with their
        // tasks, the persistent pools' warm ones when the job ended.
        var drained = System.Text.RegularExpressions.Regex.Match(second.Output, @"removed (\d+) warm environments");
        Assert.True(drained.Success && int.Parse(drained.Groups[1].Value) > 0, second.Output);
        var envs = Path.Combine(_dataDir, "envs");
        Assert.Empty(Directory.Exists(envs) ? Directory.GetDirectories(envs) : []);

        using var list = MegaflowProcess.Start(Env(), "tasks", "list", "--journal", "--json");
        Assert.Equal(0, await list.WaitForExitAsync(TimeSpan.FromMinutes(1)));
        Assert.Contains("\"completed\": 240", list.Output);
    }

    [Fact]
    public async Task The_training_main_job_runs_steps_end_to_end_prints_the_step_table_and_saves_the_reward_curve()
    {
        // The README's first command with fewer steps: the whole loop (model service, gateway,
        // trajectories, GSPO steps, weight hand-over) in one embedded node.
        using var train = MegaflowProcess.Start(Env(), "train", "--steps", "2");
        Assert.True(0 == await train.WaitForExitAsync(TimeSpan.FromMinutes(6)), train.Output);
        Assert.Contains("experiment main: completed", train.Output);
        Assert.Contains("step 2/2", train.Output); // the progress line
        Assert.Contains("held-out evaluation", train.Output);
        var folder = Path.Combine(_dataDir, "experiments", "main");
        var svg = await File.ReadAllTextAsync(Path.Combine(folder, "reward.svg"));
        Assert.StartsWith("<svg", svg);
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(svg, "<circle"));
        var results = System.Text.Json.JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(folder, "results.json"))).RootElement;
        Assert.Equal(2, results.GetProperty("steps").GetArrayLength());
        // Lineage: each step names the version it sampled with and the one it left (the same when nothing was learned).
        Assert.All(results.GetProperty("steps").EnumerateArray(), s => Assert.True(s.GetProperty("version").GetInt64() >= s.GetProperty("sampledVersionMax").GetInt64()));

        // A bad spec file: refused naming the field, nothing started (no journal written).
        var bad = Path.Combine(Path.GetTempPath(), $"bad-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(bad, """{ "id": "x", "dataset": "builtin:touch-v1", "replicas": 1 }""");
        var fresh = Env();
        fresh["MEGAFLOW_DATA_DIR"] = _dataDir + "-bad";
        using var refused = MegaflowProcess.Start(fresh, "train", "--spec", bad);
        Assert.Equal(2, await refused.WaitForExitAsync(TimeSpan.FromMinutes(1)));
        Assert.Contains("replicas", refused.Output);
        Assert.False(Directory.Exists(_dataDir + "-bad"), "a refused spec created the data folder");
        File.Delete(bad);
    }

    [Fact]
    public async Task Tasks_export_writes_one_result_line_per_finished_task_that_agrees_with_the_demo_summary()
    {
        int expectedPassed;
        using (var demo = MegaflowProcess.Start(Env(), "demo", "--tasks", "24"))
        {
            Assert.Equal(0, await demo.WaitForExitAsync(TimeSpan.FromMinutes(3)));
            // The summary's "completed, tests pass" row, last column (all modes).
            var passRow = System.Text.RegularExpressions.Regex.Match(demo.Output, @"completed, tests pass[^\d]*(\d+)[^\d]+(\d+)[^\d]+(\d+)");
            Assert.True(passRow.Success, demo.Output);
            expectedPassed = int.Parse(passRow.Groups[3].Value);
        }

        var output = Path.Combine(_dataDir, "results.jsonl");
        using var export = MegaflowProcess.Start(Env(), "tasks", "export", output);
        Assert.Equal(0, await export.WaitForExitAsync(TimeSpan.FromMinutes(1)));
        Assert.Contains("exported 24 finished tasks", export.Output);

        var rows = (await File.ReadAllLinesAsync(output)).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(24, rows.Count);
        Assert.Equal(24, rows.Select(r => r.GetProperty("taskId").GetString()).Distinct().Count());
        Assert.All(rows, r =>
        {
            Assert.Equal("completed", r.GetProperty("status").GetString());
            Assert.StartsWith("journal:task-", r.GetProperty("trajectory").GetString());
            Assert.True(r.GetProperty("steps").GetInt32() > 0);
        });
        Assert.Equal(expectedPassed, rows.Count(r => r.GetProperty("reward").GetDouble() == 1.0));

        // A path that cannot be written: one line naming it, no stack trace, a non-zero exit.
        var bad = Path.Combine(_dataDir, "no-such-folder", "out.jsonl");
        using var failed = MegaflowProcess.Start(Env(), "tasks", "export", bad);
        Assert.NotEqual(0, await failed.WaitForExitAsync(TimeSpan.FromMinutes(1)));
        Assert.Contains("no-such-folder", failed.Output);
        Assert.DoesNotContain("   at ", failed.Output);
    }

    [Fact]
    public async Task The_demo_on_docker_leaves_no_container_behind()
    {
        // The last persistent tasks' environments are still resetting (a Docker reset recreates the
        // container) when the run ends: the demo must wait for them and remove them too.
        var env = Env();
        using (var demo = MegaflowProcess.Start(env, "demo", "--provider", "docker", "--tasks", "30"))
        {
            Assert.Equal(0, await demo.WaitForExitAsync(TimeSpan.FromMinutes(5)));
            Assert.Contains("MegaFlow demo summary", demo.Output);
        }
        var (code, left) = await Docker("ps", "-aq", "--filter", $"label=megaflow.node=127.0.0.1:{env["MEGAFLOW_PORT"]}");
        Assert.Equal(0, code);
        Assert.Equal("", left.Trim());
    }

    private static async Task<(int Code, string Output)> Docker(params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("docker") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        var error = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, output + error);
    }

    [Fact]
    public async Task A_node_stopped_with_sigterm_leaves_the_cluster_and_exits_0()
    {
        using var node = MegaflowProcess.Start(Env(), "node");
        await node.WaitForOutputAsync("is JOINING itself", TimeSpan.FromMinutes(1));
        await node.WaitForOutputAsync("to [Up]", TimeSpan.FromMinutes(1));
        node.Signal("TERM");
        Assert.Equal(0, await node.WaitForExitAsync(TimeSpan.FromMinutes(1)));
        Assert.Contains("Exiting completed", node.Output);
    }

    [Fact]
    public async Task A_running_node_watches_no_files_so_its_data_folder_below_the_working_folder_costs_no_inotify_watches()
    {
        using var node = MegaflowProcess.Start(Env(), "node");
        await node.WaitForOutputAsync("to [Up]", TimeSpan.FromMinutes(1));
        // Every host in the process (node, management API, model gateway) is up once the node is.
        var inotify = Directory.GetFiles($"/proc/{node.Id}/fd")
            .Count(fd => new FileInfo(fd).LinkTarget is { } target && target.Contains("inotify", StringComparison.Ordinal));
        Assert.Equal(0, inotify);
    }

    [Fact]
    public async Task A_second_node_given_a_port_another_node_listens_on_stops_with_a_message_naming_it()
    {
        var env = Env();
        env["MEGAFLOW_MANAGEMENT_PORT"] = MegaflowProcess.FreePort().ToString();
        using var first = MegaflowProcess.Start(env, "node");
        await first.WaitForOutputAsync("to [Up]", TimeSpan.FromMinutes(1));
        var second = new Dictionary<string, string>(env) { ["MEGAFLOW_DATA_DIR"] = _dataDir + "-second" };
        using var p = MegaflowProcess.Start(second, "node");
        Assert.Equal(2, await p.WaitForExitAsync(TimeSpan.FromMinutes(1)));
        Assert.Contains($"MEGAFLOW_PORT: the cluster port 127.0.0.1:{env["MEGAFLOW_PORT"]} is already in use", p.Output);
        Assert.DoesNotContain("JOINING itself", p.Output); // it never formed a cluster of its own
        Assert.False(first.HasExited);

        // Its management API's port too: one line naming the variable, no stack trace.
        var sameApi = new Dictionary<string, string>(second)
        {
            ["MEGAFLOW_PORT"] = MegaflowProcess.FreePort().ToString(),
            ["MEGAFLOW_MANAGEMENT_PORT"] = env["MEGAFLOW_MANAGEMENT_PORT"],
        };
        using (var api = MegaflowProcess.Start(sameApi, "node"))
        {
            Assert.Equal(1, await api.WaitForExitAsync(TimeSpan.FromMinutes(1)));
            Assert.Contains("management API", api.Output);
            Assert.Contains("MEGAFLOW_MANAGEMENT_PORT", api.Output);
            Assert.DoesNotContain("   at ", api.Output);
        }

        // Once the first node has stopped, the same port is free again at once (connections it left
        // in TIME_WAIT do not block it): a node restarted on its address must start.
        first.Signal("TERM");
        Assert.Equal(0, await first.WaitForExitAsync(TimeSpan.FromMinutes(1)));
        using var again = MegaflowProcess.Start(second, "node");
        await again.WaitForOutputAsync("to [Up]", TimeSpan.FromMinutes(1));
    }

    [Theory]
    [InlineData("MEGAFLOW_PORT", "abc")]
    [InlineData("MEGAFLOW_PERSISTENCE", "mysql")]
    [InlineData("MEGAFLOW_ROLES", "boss")]
    public async Task Bad_configuration_stops_with_a_message_naming_the_variable(string variable, string value)
    {
        var env = Env();
        env[variable] = value;
        using var p = MegaflowProcess.Start(env, "node");
        Assert.Equal(2, await p.WaitForExitAsync(TimeSpan.FromMinutes(1)));
        Assert.Contains(variable, p.Output);
        Assert.DoesNotContain("   at ", p.Output); // a message, not a stack trace
    }

    [Fact]
    public async Task Unknown_commands_and_bad_arguments_exit_2_with_usage()
    {
        using var p = MegaflowProcess.Start(Env(), "frobnicate");
        Assert.Equal(2, await p.WaitForExitAsync(TimeSpan.FromMinutes(1)));
        Assert.Contains("unknown command 'frobnicate'", p.Output);
        Assert.Contains("usage:", p.Output);
        using var q = MegaflowProcess.Start(Env(), "demo", "--tasks", "-3");
        Assert.Equal(2, await q.WaitForExitAsync(TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public async Task Tasks_submit_reports_every_bad_line_with_its_number_and_submits_nothing()
    {
        var file = Path.Combine(_dataDir, "bad.jsonl");
        Directory.CreateDirectory(_dataDir);
        await File.WriteAllLinesAsync(file,
        [
            """{"taskId":"ok-1","mode":"ephemeral","image":"x","actions":["true"],"scoreCommand":"true"}""",
            """{"taskId":"bad-mode","mode":"turbo","image":"x","actions":[],"scoreCommand":"true"}""",
            "{not json",
            """{"taskId":"ok-1","mode":"ephemeral","image":"x","actions":[],"scoreCommand":"true"}""",
            """{"taskId":"extra","mode":"ephemeral","image":"x","actions":[],"scoreCommand":"true","colour":"red"}""",
        ]);
        var env = Env();
        env["MEGAFLOW_SEEDS"] = "akka.tcp://megaflow@127.0.0.1:1"; // never contacted: validation fails first
        using var p = MegaflowProcess.Start(env, "tasks", "submit", file);
        Assert.Equal(1, await p.WaitForExitAsync(TimeSpan.FromMinutes(1)));
        Assert.Contains("line 2: mode", p.Output);
        Assert.Contains("line 3:", p.Output);
        Assert.Contains("line 4: taskId: duplicate", p.Output);
        Assert.Contains("line 5: unknown field 'colour'", p.Output);
        Assert.Contains("nothing submitted", p.Output);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
