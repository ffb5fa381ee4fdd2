using System.CommandLine;
using MegaFlow.Cli;
using MegaFlow.Cli.CommandLine;
using MegaFlow.Node;

namespace MegaFlow.Management.Tests.Cli;

/// <summary>The `megaflow` command tree in process, without any node.</summary>
public sealed class CommandLineTests
{
    private static readonly Func<string, string?> NoEnv = _ => null;

    private static ParseResult Parse(params string[] args) => Parse(NoEnv, args);

    private static ParseResult Parse(Func<string, string?> env, params string[] args) =>
        CommandTree.Parse(OpsCli.CreateRoot(new CliHost(TextWriter.Null, TextWriter.Null, env)), args);

    /// <summary>The executable's whole tree (node-local commands too): exit code, standard output, standard error.</summary>
    private static async Task<(int Code, string Output, string Error)> Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await MegaFlowCommandLine.RunAsync(args, new CliHost(output, error, NoEnv));
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void A_palette_command_parses_its_arguments_and_options_in_any_order()
    {
        var p = Parse("tasks", "cancel", "--reason", "stuck", "t-1", "--json", "--node=10.0.0.5:9000");
        Assert.Empty(p.Errors);
        Assert.Equal("tasks cancel", Usage.PathOf(p.CommandResult.Command));
        Assert.Equal("t-1", p.GetValue<string>("TASK_ID"));
        Assert.Equal("stuck", p.GetValue<string>("--reason"));
        var api = ApiOptions.Read(p, NoEnv);
        Assert.True(api.Json);
        Assert.Equal(new Uri("http://10.0.0.5:9000/"), api.Node);
    }

    [Fact]
    public void The_node_defaults_to_the_environment_variable_then_to_loopback_on_the_default_port()
    {
        Assert.Equal(new Uri("http://127.0.0.1:8558/"), ApiOptions.Read(Parse("cluster", "show"), NoEnv).Node);
        Func<string, string?> node7 = n => n == "MEGAFLOW_NODE" ? "node-7:8600" : null;
        Assert.Equal(new Uri("http://node-7:8600/"), ApiOptions.Read(Parse(node7, "pools"), node7).Node);
        Assert.Equal(new Uri("http://other:1/"), ApiOptions.Read(Parse(node7, "pools", "--node", "other:1"), node7).Node);
        Func<string, string?> token = n => n == "MEGAFLOW_MANAGEMENT_TOKEN" ? "s3cret" : null;
        Assert.Equal("s3cret", ApiOptions.Read(Parse(token, "pools"), token).Token);
    }

    [Fact]
    public void Watch_takes_many_ids_and_leave_an_optional_address()
    {
        Assert.Equal(["a", "b", "c"], Parse("tasks", "watch", "a", "b", "c").GetRequiredValue<string[]>("TASK_ID"));
        Assert.Null(Parse("cluster", "leave").GetValue<string?>("ADDRESS"));
        Assert.Equal("127.0.0.1:4054", Parse("cluster", "leave", "127.0.0.1:4054").GetValue<string?>("ADDRESS"));
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
    public async Task Mistakes_are_usage_errors_that_name_the_offending_word(string message, params string[] args)
    {
        var error = new StringWriter();
        var code = await OpsCli.RunAsync(args, TextWriter.Null, error, NoEnv);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains(message, error.ToString());
    }

    [Fact]
    public void A_bad_node_variable_is_named_as_the_source()
    {
        Func<string, string?> env = n => n == "MEGAFLOW_NODE" ? "::::" : null;
        var e = Assert.Throws<UsageException>(() => ApiOptions.Read(Parse(env, "pools"), env));
        Assert.StartsWith("MEGAFLOW_NODE:", e.Message);
    }

    [Fact]
    public void The_usage_lists_every_palette_command_and_the_exit_codes()
    {
        var root = OpsCli.CreateRoot(new CliHost(TextWriter.Null, TextWriter.Null, NoEnv));
        var usage = Usage.Overview(root);
        foreach (var c in Usage.Leaves(root)) Assert.Contains(Usage.Synopsis(c, withApiOptions: false), usage);
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

    public static TheoryData<string> EveryCommand()
    {
        var data = new TheoryData<string>();
        foreach (var c in Usage.Leaves(MegaFlowCommandLine.CreateRoot(new CliHost(TextWriter.Null, TextWriter.Null, NoEnv))))
            data.Add(Usage.PathOf(c));
        return data;
    }

    [Theory]
    [MemberData(nameof(EveryCommand))]
    public async Task Every_command_has_its_own_help_naming_its_arguments_and_options(string path)
    {
        var command = Usage.Leaves(MegaFlowCommandLine.CreateRoot(new CliHost(TextWriter.Null, TextWriter.Null, NoEnv)))
            .Single(c => Usage.PathOf(c) == path);
        var (code, output, error) = await Run([.. path.Split(' '), "--help"]);
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal("", error);
        Assert.Contains(command.Description!, output);
        foreach (var a in command.Arguments) Assert.Contains($"<{a.Name}>", output);
        foreach (var o in command.Options.Where(o => o.Name != "--help")) Assert.Contains(o.Name, output);
    }

    [Fact]
    public async Task Help_for_a_group_lists_its_subcommands_and_the_root_help_lists_every_command()
    {
        var (code, output, _) = await Run("tasks", "--help");
        Assert.Equal(ExitCodes.Ok, code);
        foreach (var verb in new[] { "submit", "list", "show", "cancel", "watch", "export" }) Assert.Contains(verb, output);
        Assert.DoesNotContain("--tasks", output); // demo's option, not this command's

        foreach (var args in new[] { Array.Empty<string>(), ["--help"], ["help"] })
        {
            (code, output, _) = await Run(args);
            Assert.Equal(ExitCodes.Ok, code);
            Assert.Contains("demo [--tasks N] [--fresh] [--provider local|docker|simulated]", output);
            Assert.Contains("tasks export OUT", output);
            Assert.Contains("sharding shards TYPE [--entities]", output);
            Assert.Contains("MEGAFLOW_DATA_DIR", output);
            Assert.Contains(Usage.ExitCodesLine, output);
        }

        // --help wins over a mistake on the same line: it is how one finds the right line.
        (code, output, _) = await Run("tasks", "list", "--colour", "--help");
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("--journal", output);
    }

    [Theory]
    [InlineData("unknown command 'frobnicate'", "frobnicate")]
    [InlineData("unknown option '--colour'", "--colour")]
    [InlineData("tasks: unknown subcommand 'frobnicate' (expected one of: submit, list, show, cancel, watch, export)", "tasks", "frobnicate")]
    [InlineData("tasks: missing subcommand", "tasks")]
    [InlineData("demo: unknown option '--colour'", "demo", "--colour=red")]
    [InlineData("demo: --tasks needs a positive number (got '-3')", "demo", "--tasks", "-3")]
    [InlineData("demo: --tasks needs a positive number (got '0')", "demo", "--tasks", "0")]
    [InlineData("demo: --tasks needs a positive number (got 'many')", "demo", "--tasks", "many")]
    [InlineData("demo: --tasks needs a value (N)", "demo", "--tasks")]
    [InlineData("demo: --provider must be one of local, docker, simulated (got 'vm')", "demo", "--provider", "vm")]
    [InlineData("demo: --fresh given twice", "demo", "--fresh", "--fresh")]
    [InlineData("node: unexpected argument 'now'", "node", "now")]
    [InlineData("node: unknown option '--json'", "node", "--json")]
    [InlineData("tasks export: missing OUT", "tasks", "export")]
    [InlineData("tasks export: unexpected argument 'b.jsonl'", "tasks", "export", "a.jsonl", "b.jsonl")]
    [InlineData("tasks export: unknown option '--status'", "tasks", "export", "a.jsonl", "--status", "completed")]
    [InlineData("tasks list: --pool does not go with --journal", "tasks", "list", "--journal", "--pool", "p")]
    [InlineData("tasks list: --node does not go with --journal", "tasks", "list", "--journal", "--node", "h:1")]
    [InlineData("tasks list: unknown status 'sideways'", "tasks", "list", "--journal", "--status", "sideways")]
    public async Task Bad_arguments_to_any_command_exit_2_with_one_line_naming_them_and_the_usage(string message, params string[] args)
    {
        var (code, output, error) = await Run(args);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal("", output);
        Assert.StartsWith($"megaflow: {message}", error);
        Assert.Contains("usage: megaflow", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public void A_word_starting_with_at_is_a_value_not_a_response_file()
    {
        var p = Parse("tasks", "show", "@no-such-file");
        Assert.Empty(p.Errors);
        Assert.Equal("@no-such-file", p.GetValue<string>("TASK_ID"));
    }

    [Fact]
    public async Task The_journal_listing_needs_the_executable()
    {
        var error = new StringWriter();
        var code = await OpsCli.RunAsync(["tasks", "list", "--journal"], TextWriter.Null, error, NoEnv);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("tasks list: --journal reads a node's journal", error.ToString());
    }

    [Fact]
    public async Task A_bad_configuration_variable_is_a_usage_error_naming_it()
    {
        var error = new StringWriter();
        var code = await MegaFlowCommandLine.RunAsync(["tasks", "export", "out.jsonl"],
            new CliHost(TextWriter.Null, error, n => n == "MEGAFLOW_PERSISTENCE" ? "mysql" : null));
        Assert.Equal(ExitCodes.Usage, code);
        Assert.StartsWith("megaflow: ", error.ToString());
        Assert.Contains("MEGAFLOW_PERSISTENCE", error.ToString());
        Assert.DoesNotContain("   at ", error.ToString());
    }
}
