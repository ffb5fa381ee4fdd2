using System.CommandLine;
using MegaFlow.Contracts.Management;
using MegaFlow.Cli.CommandLine;
using MegaFlow.Cli.Palettes;

namespace MegaFlow.Cli;

/// <summary>
/// The operator's commands of the `megaflow` executable. Each talks to one node's management API;
/// the executable adds them to its command tree beside its node-local commands.
/// </summary>
public static class OpsCli
{
    /// <summary>The palettes' commands, in the order the help lists them.</summary>
    public static IEnumerable<Command> Commands(CliHost host) =>
    [
        ClusterPalette.Command(host),
        ShardingPalette.Command(host),
        .. SchedulerPalette.Commands(host),
        TasksPalette.Command(host),
        EnvsPalette.Command(host),
        ExperimentsPalette.Command(host),
    ];

    /// <summary>A root with the palettes alone: the ops CLI without the node-local commands.</summary>
    public static RootCommand CreateRoot(CliHost host)
    {
        var root = CommandTree.CreateRoot("Operate a running MegaFlow cluster through a node's management API.");
        foreach (var command in Commands(host)) root.Add(command);
        return root;
    }

    /// <summary>Runs a palette command line; <paramref name="env"/> reads environment variables (tests pass their own).</summary>
    public static Task<int> RunAsync(IReadOnlyList<string> args, TextWriter? output = null, TextWriter? error = null, Func<string, string?>? env = null)
    {
        var host = new CliHost(output ?? Console.Out, error ?? Console.Error, env ?? Environment.GetEnvironmentVariable);
        return CommandTree.RunAsync(CreateRoot(host), args, host.Out, host.Error);
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
