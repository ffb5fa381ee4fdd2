using MegaFlow.Management.Tests.Infrastructure;
using MegaFlow.Node.Tests;

namespace MegaFlow.Management.Tests.Cli;

/// <summary>The real executable's answers to bad input and to an address where no node listens.</summary>
public sealed class CommandLineProcessTests
{
    [Theory]
    [InlineData(2, "unknown command 'clustr'", "clustr", "show")]
    [InlineData(2, "sharding: unknown subcommand 'explode'", "sharding", "explode")]
    [InlineData(2, "tasks cancel: missing TASK_ID", "tasks", "cancel")]
    [InlineData(2, "--node: '127.0.0.1' is not a node address", "cluster", "show", "--node", "127.0.0.1")]
    [InlineData(2, "tasks submit: file 'no-such-file.jsonl' does not exist", "tasks", "submit", "no-such-file.jsonl")]
    [InlineData(2, "tasks list: unknown option '--colour'", "tasks", "list", "--colour", "red")]
    [InlineData(2, "demo: --tasks needs a positive number (got '0')", "demo", "--tasks", "0")]
    public async Task Malformed_commands_exit_with_a_one_line_reason_and_the_usage(int exitCode, string message, params string[] args)
    {
        var r = await CliRun.RunAsync(null, args);
        Assert.Equal(exitCode, r.ExitCode);
        Assert.StartsWith($"megaflow: {message}", r.Output);
        Assert.Contains("usage: megaflow", r.Output);
        Assert.DoesNotContain("   at ", r.Output);
    }

    [Fact]
    public async Task Each_command_prints_its_own_help()
    {
        var tasks = await CliRun.RunAsync(null, "tasks", "--help");
        Assert.Equal(0, tasks.ExitCode);
        Assert.Contains("megaflow tasks [command] [options]", tasks.Output);
        Assert.Contains("export <OUT>", tasks.Output);
        var demo = await CliRun.RunAsync(null, "demo", "--help");
        Assert.Equal(0, demo.ExitCode);
        Assert.Contains("megaflow demo [options]", demo.Output);
        Assert.Contains("--tasks <N>", demo.Output);
        Assert.DoesNotContain("--node", demo.Output); // only the commands that talk to a node take it
    }

    [Fact]
    public async Task An_unreachable_node_exits_3_naming_the_address()
    {
        var port = MegaflowProcess.FreePort();
        var r = await CliRun.RunAsync(new Dictionary<string, string> { ["MEGAFLOW_NODE"] = $"127.0.0.1:{port}" }, "cluster", "show");
        Assert.Equal(3, r.ExitCode);
        Assert.Contains($"cannot reach the management API at http://127.0.0.1:{port}/ (connection refused)", r.Output);
        Assert.Contains("usage: megaflow cluster show", r.Output);
        Assert.DoesNotContain("   at ", r.Output);
    }
}
