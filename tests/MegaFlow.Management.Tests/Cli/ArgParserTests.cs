using MegaFlow.Cli;
using MegaFlow.Cli.CommandLine;

namespace MegaFlow.Management.Tests.Cli;

/// <summary>The command line of the ops palettes, without any node.</summary>
public sealed class ArgParserTests
{
    private static readonly Func<string, string?> NoEnv = _ => null;

    private static ParsedCommand Parse(params string[] args) => ArgParser.Parse(OpsCli.Commands, args, NoEnv);

    [Fact]
    public void A_palette_command_parses_its_arguments_and_options_in_any_order()
    {
        var p = Parse("tasks", "cancel", "--reason", "stuck", "t-1", "--json", "--node=10.0.0.5:9000");
        Assert.Equal("tasks cancel", p.Spec.Name);
        Assert.Equal("t-1", p.Arg("TASK_ID"));
        Assert.Equal("stuck", p.Option("reason"));
        Assert.True(p.Global.Json);
        Assert.Equal(new Uri("http://10.0.0.5:9000/"), p.Global.Node);
    }

    [Fact]
    public void The_node_defaults_to_the_environment_variable_then_to_loopback_on_the_default_port()
    {
        Assert.Equal(new Uri("http://127.0.0.1:8558/"), Parse("cluster", "show").Global.Node);
        var fromEnv = ArgParser.Parse(OpsCli.Commands, ["pools"], n => n == "MEGAFLOW_NODE" ? "node-7:8600" : null);
        Assert.Equal(new Uri("http://node-7:8600/"), fromEnv.Global.Node);
        Assert.Equal(new Uri("http://other:1/"), ArgParser.Parse(OpsCli.Commands, ["pools", "--node", "other:1"], n => n == "MEGAFLOW_NODE" ? "node-7:8600" : null).Global.Node);
        var token = ArgParser.Parse(OpsCli.Commands, ["pools"], n => n == "MEGAFLOW_MANAGEMENT_TOKEN" ? "s3cret" : null);
        Assert.Equal("s3cret", token.Global.Token);
    }

    [Fact]
    public void Watch_takes_many_ids_and_leave_an_optional_address()
    {
        Assert.Equal(["a", "b", "c"], Parse("tasks", "watch", "a", "b", "c").Many("TASK_ID"));
        Assert.Null(Parse("cluster", "leave").OptionalArg("ADDRESS"));
        Assert.Equal("127.0.0.1:4054", Parse("cluster", "leave", "127.0.0.1:4054").OptionalArg("ADDRESS"));
    }

    [Theory]
    [InlineData("unknown command 'frobnicate'", "frobnicate")]
    [InlineData("cluster: missing subcommand (expected one of: show, join, leave, down, down-unreachable)", "cluster")]
    [InlineData("cluster: unknown subcommand 'explode'", "cluster", "explode")]
    [InlineData("cluster down: missing ADDRESS", "cluster", "down")]
    [InlineData("tasks show: unexpected argument 'extra'", "tasks", "show", "t-1", "extra")]
    [InlineData("tasks list: unknown option '--colour'", "tasks", "list", "--colour", "red")]
    [InlineData("tasks list: --status needs a value (S)", "tasks", "list", "--status")]
    [InlineData("tasks list: --json given twice", "tasks", "list", "--json", "--json")]
    [InlineData("--node: 'nonsense' is not a node address", "cluster", "show", "--node", "nonsense")]
    [InlineData("--node: 'http://h:80/x' is not a node address", "cluster", "show", "--node", "http://h:80/x")]
    [InlineData("--node: 'host:99999' is not a node address", "cluster", "show", "--node", "host:99999")]
    public void Mistakes_are_usage_errors_that_name_the_offending_word(string message, params string[] args)
    {
        var e = Assert.Throws<UsageException>(() => Parse(args));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void A_bad_node_variable_is_named_as_the_source()
    {
        var e = Assert.Throws<UsageException>(() => ArgParser.Parse(OpsCli.Commands, ["pools"], n => n == "MEGAFLOW_NODE" ? "::::" : null));
        Assert.StartsWith("MEGAFLOW_NODE:", e.Message);
    }

    [Fact]
    public void The_usage_lists_every_palette_command_and_the_exit_codes()
    {
        var usage = OpsCli.Usage;
        foreach (var c in OpsCli.Commands) Assert.Contains(c.Synopsis, usage);
        Assert.Contains("3 node unreachable", usage);
    }

    [Fact]
    public async Task Usage_errors_exit_2_before_anything_is_sent()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await OpsCli.RunAsync(["envs", "list", "--status", "sideways"], output, error, NoEnv);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("envs list: unknown status 'sideways'", error.ToString());
        Assert.Contains("usage: megaflow", error.ToString());
    }
}
