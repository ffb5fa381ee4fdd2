namespace MegaFlow.Cli.CommandLine;

/// <summary>The command line is wrong; the message names what (printed with the usage, exit code 2).</summary>
public sealed class UsageException(string message) : Exception(message);
