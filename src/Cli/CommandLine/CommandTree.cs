using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Net;
using System.Text.Json;

namespace MegaFlow.Cli.CommandLine;

/// <summary>
/// The root of the `megaflow` command tree and the one way it runs: every outcome maps to one of
/// <see cref="ExitCodes"/>, and every error is one line (plus the usage for command-line mistakes),
/// never a stack trace.
/// </summary>
public static class CommandTree
{
    /// <summary>
    /// A root whose help (<c>megaflow</c>, <c>megaflow --help</c>, <c>megaflow help</c>) ends with every
    /// command on one screen and then <paramref name="helpEpilogue"/>.
    /// </summary>
    public static RootCommand CreateRoot(string description, string? helpEpilogue = null)
    {
        var root = new RootCommand(description);
        var helpOption = root.Options.OfType<HelpOption>().Single();
        var help = new RootHelpAction(root, (HelpAction)helpOption.Action!, helpEpilogue);
        helpOption.Action = help;
        root.SetAction(help.Invoke);
        // `megaflow help` predates --help; scripts and habits still type it.
        var helpCommand = new Command("help", "show this text") { Hidden = true };
        helpCommand.SetAction(help.Invoke);
        root.Add(helpCommand);
        return root;
    }

    /// <summary>
    /// Parses <paramref name="args"/> against <paramref name="root"/>. Words starting with '@' are
    /// values, not response files to expand: a task id or a file name may start with one.
    /// </summary>
    public static ParseResult Parse(RootCommand root, IReadOnlyList<string> args) =>
        root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });

    /// <summary>Parses <paramref name="args"/> against <paramref name="root"/> and runs the command they name.</summary>
    public static async Task<int> RunAsync(RootCommand root, IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        var result = Parse(root, args);
        var command = result.CommandResult.Command;
        // --help wins over mistakes on the same line: it is how one finds out what the right line is.
        if (result.Action is not { ClearsParseErrors: true } && ParseErrors.Describe(result) is { } mistake)
            return UsageError(error, command, mistake);
        try
        {
            // No termination handling here: the node and the demo run a generic host that owns
            // SIGINT/SIGTERM (coordinated shutdown, exit 130 for an interrupted demo).
            return await result.InvokeAsync(new InvocationConfiguration
            {
                Output = output,
                Error = error,
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = null,
            });
        }
        catch (UsageException e)
        {
            return UsageError(error, command, e.Message);
        }
        catch (NodeUnreachableException e)
        {
            error.WriteLine($"megaflow: {e.Message}");
            error.WriteLine($"usage: megaflow {Usage.Synopsis(command)}");
            return ExitCodes.Unreachable;
        }
        catch (NodeErrorException e)
        {
            error.WriteLine($"megaflow: {Usage.PathOf(command)}: {e.Message}");
            return e.Status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden ? ExitCodes.Refused : ExitCodes.Failed;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or HttpRequestException)
        {
            // A file that cannot be read, an answer that is not what the API documents: one line, never a stack trace.
            error.WriteLine($"megaflow: {Usage.PathOf(command)}: {e.Message}");
            return ExitCodes.Failed;
        }
    }

    private static int UsageError(TextWriter error, Command command, string message)
    {
        error.WriteLine($"megaflow: {message}");
        error.WriteLine();
        Usage.WriteFor(error, command);
        return ExitCodes.Usage;
    }

    /// <summary>System.CommandLine's help; for the root, followed by every command and the host's epilogue.</summary>
    private sealed class RootHelpAction(RootCommand root, HelpAction standard, string? epilogue) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult result)
        {
            var command = result.CommandResult.Command;
            if (command.Name == "help" && command.Parents.Contains(root))
                return root.Parse(["--help"]).Invoke(result.InvocationConfiguration);
            var code = standard.Invoke(result);
            if (command != root) return code;
            var output = result.InvocationConfiguration.Output;
            output.WriteLine("Every command:");
            output.Write(Usage.Overview(root));
            if (epilogue is not null)
            {
                output.WriteLine();
                output.Write(epilogue);
            }
            return code;
        }
    }
}
