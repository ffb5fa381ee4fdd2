using System.CommandLine;
using MegaFlow.Contracts.Management;

namespace MegaFlow.Cli.CommandLine;

/// <summary>The options every command that talks to a node's management API takes, once read.</summary>
/// <param name="Node">The management API's base address, e.g. http://127.0.0.1:8558/.</param>
/// <param name="Token">The bearer token for changes, when one was given (option or variable).</param>
/// <param name="Json">Print the node's JSON answer instead of tables.</param>
public sealed record ApiOptions(Uri Node, string? Token, bool Json)
{
    /// <summary>The default for --node.</summary>
    public const string NodeVariable = "MEGAFLOW_NODE";
    /// <summary>The default for --token.</summary>
    public const string TokenVariable = "MEGAFLOW_MANAGEMENT_TOKEN";
    public const string NodeOption = "--node";
    public const string TokenOption = "--token";
    public const string JsonOption = "--json";

    /// <summary>True for the options <see cref="AddTo"/> adds: usage listings name them once, not per command.</summary>
    public static bool IsApiOption(Option option) => option.Name is NodeOption or TokenOption or JsonOption;

    /// <summary>Adds <c>--node</c>, <c>--token</c> and <c>--json</c> to <paramref name="command"/>.</summary>
    public static void AddTo(Command command)
    {
        command.Add(new Option<string>(NodeOption)
        {
            HelpName = "HOST:PORT",
            Description = $"the node's management API (default: ${NodeVariable}, else 127.0.0.1:{ManagementDefaults.Port})",
        });
        command.Add(new Option<string>(TokenOption)
        {
            HelpName = "TOKEN",
            Description = $"bearer token for changes (default: ${TokenVariable}, else the local node's data/{ManagementDefaults.TokenFileName})",
        });
        command.Add(JsonFlag("print the node's JSON answer instead of tables"));
    }

    /// <summary>The <c>--json</c> flag; commands that read the local journal take it too.</summary>
    public static Option<bool> JsonFlag(string description) => new(JsonOption) { Description = description };

    /// <summary>
    /// Reads the options of a parsed API command. The address falls back to MEGAFLOW_NODE, then to
    /// loopback on the default port; a malformed one is a usage error naming where it came from.
    /// </summary>
    public static ApiOptions Read(ParseResult result, Func<string, string?> env)
    {
        var node = result.GetValue<string>(NodeOption);
        var address = node ?? NonEmpty(env(NodeVariable)) ?? $"127.0.0.1:{ManagementDefaults.Port}";
        return new ApiOptions(
            NodeUri(address, node is null ? NodeVariable : NodeOption),
            result.GetValue<string>(TokenOption) ?? NonEmpty(env(TokenVariable)),
            result.GetValue<bool>(JsonOption));
    }

    /// <summary>"host:port" or "http://host:port" → the API's base URI; anything else is a usage error naming where it came from.</summary>
    public static Uri NodeUri(string text, string source)
    {
        var withScheme = text.Contains("://", StringComparison.Ordinal) ? text : "http://" + text;
        if (Uri.TryCreate(withScheme, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            && !string.IsNullOrEmpty(uri.Host) && HasExplicitPort(withScheme) && uri.Port is > 0 and <= 65535 && uri.AbsolutePath == "/")
            return new Uri($"{uri.Scheme}://{uri.Authority}/");
        throw new UsageException($"{source}: '{text}' is not a node address (expected host:port, like 127.0.0.1:{ManagementDefaults.Port})");
    }

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    private static bool HasExplicitPort(string url)
    {
        var authority = url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..].Split('/')[0];
        var colon = authority.LastIndexOf(':');
        return colon > 0 && colon > authority.LastIndexOf(']') && colon < authority.Length - 1;
    }
}
