using System.CommandLine;

namespace MegaFlow.Cli.CommandLine;

/// <summary>
/// What the command tree runs with: where it prints, how it reads environment variables (tests pass
/// their own), and, in the megaflow executable, the local journal.
/// </summary>
public sealed record CliHost(TextWriter Out, TextWriter Error, Func<string, string?> Env)
{
    /// <summary>The process's own console and environment.</summary>
    public static CliHost FromConsole() => new(Console.Out, Console.Error, Environment.GetEnvironmentVariable);

    /// <summary>
    /// `tasks list --journal`: lists the tasks of the local journal (status filter, --json) and returns
    /// the exit code. Only the megaflow executable sets it, because reading the journal needs a
    /// node's settings; without it the option is a usage error.
    /// </summary>
    public Func<string?, bool, Task<int>>? JournalList { get; init; }

    /// <summary>Makes <paramref name="command"/> talk to a node's API: adds the API options and runs <paramref name="run"/> with a client for the node they name.</summary>
    public Command Api(Command command, Func<CliContext, ParseResult, Task<int>> run)
    {
        ApiOptions.AddTo(command);
        command.SetAction((result, _) => RunApiAsync(result, run));
        return command;
    }

    /// <summary>Runs <paramref name="run"/> against the node the parsed API options name.</summary>
    public async Task<int> RunApiAsync(ParseResult result, Func<CliContext, ParseResult, Task<int>> run)
    {
        var api = ApiOptions.Read(result, Env);
        var token = api.Token ?? OpsCli.LocalToken(api.Node, Env);
        using var client = new ManagementClient(api.Node, token);
        return await run(new CliContext(client, CliContext.CreateConsole(Out), Out, Error, api.Json), result);
    }
}
