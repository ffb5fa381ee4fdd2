using System.Net;
using MegaFlow.Contracts.Management;
using MegaFlow.Cli.CommandLine;
using MegaFlow.Cli.Palettes;

namespace MegaFlow.Cli;

/// <summary>
/// The operator's commands of the `megaflow` executable. Each talks to one node's management API;
/// every outcome maps to one of <see cref="ExitCodes"/>, and every error is one line (plus the usage
/// for command-line mistakes), never a stack trace.
/// </summary>
public static class OpsCli
{
    public static readonly IReadOnlyList<CommandSpec> Commands =
    [
        .. ClusterPalette.Commands(),
        .. ShardingPalette.Commands(),
        .. SchedulerPalette.Commands(),
        .. TasksPalette.Commands(),
        .. EnvsPalette.Commands(),
    ];

    public static string Usage => ArgParser.Usage(Commands);

    /// <summary>True when the first word names a palette of this CLI.</summary>
    public static bool Handles(IReadOnlyList<string> args) => args.Count > 0 && ArgParser.IsPalette(Commands, args[0]);

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter? output = null, TextWriter? error = null, Func<string, string?>? env = null)
    {
        output ??= Console.Out;
        error ??= Console.Error;
        env ??= Environment.GetEnvironmentVariable;
        ParsedCommand parsed;
        try
        {
            parsed = ArgParser.Parse(Commands, args, env);
        }
        catch (UsageException e)
        {
            return UsageError(error, e.Message);
        }
        var token = parsed.Global.Token ?? LocalToken(parsed.Global.Node, env);
        using var client = new ManagementClient(parsed.Global.Node, token);
        var context = new CliContext(client, CliContext.CreateConsole(output), output, error);
        try
        {
            return await parsed.Spec.Run(context, parsed);
        }
        catch (UsageException e)
        {
            return UsageError(error, e.Message);
        }
        catch (NodeUnreachableException e)
        {
            error.WriteLine($"megaflow: {e.Message}");
            error.WriteLine($"usage: megaflow {parsed.Spec.Synopsis} [--node HOST:PORT] [--token TOKEN] [--json]");
            return ExitCodes.Unreachable;
        }
        catch (NodeErrorException e)
        {
            error.WriteLine($"megaflow: {parsed.Spec.Name}: {e.Message}");
            return e.Status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden ? ExitCodes.Refused : ExitCodes.Failed;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or HttpRequestException)
        {
            // A file that cannot be read, an answer that is not what the API documents: one line, never a stack trace.
            error.WriteLine($"megaflow: {parsed.Spec.Name}: {e.Message}");
            return ExitCodes.Failed;
        }
    }

    private static int UsageError(TextWriter error, string message)
    {
        error.WriteLine($"megaflow: {message}");
        error.WriteLine();
        error.WriteLine("usage: megaflow <command> [options]");
        error.Write(Usage);
        return ExitCodes.Usage;
    }

    /// <summary>
    /// A node started without MEGAFLOW_MANAGEMENT_TOKEN writes a generated one into its data folder;
    /// on the same machine (loopback address) the CLI reads it from there, like a local admin socket.
    /// </summary>
    internal static string? LocalToken(Uri node, Func<string, string?> env)
    {
        if (!node.IsLoopback) return null;
        var dataDir = env("MEGAFLOW_DATA_DIR") is { Length: > 0 } d ? d : "./data";
        var file = Path.Combine(dataDir, ManagementDefaults.TokenFileName);
        try
        {
            return File.Exists(file) ? File.ReadAllText(file).Trim() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
