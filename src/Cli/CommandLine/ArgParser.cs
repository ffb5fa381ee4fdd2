using System.Text;
using MegaFlow.Contracts.Management;

namespace MegaFlow.Cli.CommandLine;

/// <summary>
/// Parses "PALETTE [VERB] ARGS... [--options]" against the command table. Options may come anywhere
/// after the command (<c>--name value</c> or <c>--name=value</c>); every mistake throws a
/// <see cref="UsageException"/> naming the offending word, before anything is sent.
/// </summary>
public static class ArgParser
{
    public const string NodeVariable = "MEGAFLOW_NODE";
    public const string TokenVariable = "MEGAFLOW_MANAGEMENT_TOKEN";

    public static readonly IReadOnlyList<OptionSpec> GlobalOptionSpecs =
    [
        new("node", "HOST:PORT", $"the node's management API (default: ${NodeVariable}, else 127.0.0.1:{ManagementDefaults.Port})"),
        new("token", "TOKEN", $"bearer token for changes (default: ${TokenVariable}, else the local node's data/{ManagementDefaults.TokenFileName})"),
        new("json", null, "print the node's JSON answer instead of tables"),
    ];

    public static bool IsPalette(IReadOnlyList<CommandSpec> commands, string word) => commands.Any(c => c.Palette == word);

    public static ParsedCommand Parse(IReadOnlyList<CommandSpec> commands, IReadOnlyList<string> args, Func<string, string?>? env = null)
    {
        env ??= Environment.GetEnvironmentVariable;
        if (args.Count == 0) throw new UsageException("no command given");
        var palette = commands.Where(c => c.Palette == args[0]).ToList();
        if (palette.Count == 0) throw new UsageException($"unknown command '{args[0]}'");

        CommandSpec spec;
        var rest = 1;
        if (palette.Count == 1 && palette[0].Verb is null)
        {
            spec = palette[0];
        }
        else
        {
            var verbs = string.Join(", ", palette.Select(c => c.Verb));
            if (args.Count < 2 || args[1].StartsWith("--", StringComparison.Ordinal))
                throw new UsageException($"{args[0]}: missing subcommand (expected one of: {verbs})");
            spec = palette.FirstOrDefault(c => c.Verb == args[1])
                ?? throw new UsageException($"{args[0]}: unknown subcommand '{args[1]}' (expected one of: {verbs})");
            rest = 2;
        }

        var positionals = new List<string>();
        var options = new Dictionary<string, string?>();
        for (var i = rest; i < args.Count; i++)
        {
            var word = args[i];
            if (!word.StartsWith("--", StringComparison.Ordinal) || word == "--")
            {
                positionals.Add(word);
                continue;
            }
            var eq = word.IndexOf('=');
            var name = eq > 0 ? word[2..eq] : word[2..];
            var option = spec.Options.Concat(GlobalOptionSpecs).FirstOrDefault(o => o.Name == name)
                ?? throw new UsageException($"{spec.Name}: unknown option '--{name}'");
            string? value = null;
            if (option.Value is not null)
            {
                if (eq > 0) value = word[(eq + 1)..];
                else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal)) value = args[++i];
                if (string.IsNullOrWhiteSpace(value)) throw new UsageException($"{spec.Name}: --{name} needs a value ({option.Value})");
            }
            else if (eq > 0)
            {
                throw new UsageException($"{spec.Name}: --{name} takes no value");
            }
            if (!options.TryAdd(name, value)) throw new UsageException($"{spec.Name}: --{name} given twice");
        }

        var byName = new Dictionary<string, IReadOnlyList<string>>();
        var p = 0;
        foreach (var a in spec.Args)
        {
            if (a.Many)
            {
                byName[a.Name] = positionals.Skip(p).ToList();
                p = positionals.Count;
            }
            else if (p < positionals.Count)
            {
                byName[a.Name] = [positionals[p++]];
            }
            if (a.Required && (!byName.TryGetValue(a.Name, out var got) || got.Count == 0))
                throw new UsageException($"{spec.Name}: missing {a.Name}");
        }
        if (p < positionals.Count) throw new UsageException($"{spec.Name}: unexpected argument '{positionals[p]}'");

        var global = new GlobalOptions(
            NodeUri(options.GetValueOrDefault("node") ?? NonEmpty(env(NodeVariable)) ?? $"127.0.0.1:{ManagementDefaults.Port}",
                options.ContainsKey("node") ? "--node" : NodeVariable),
            options.GetValueOrDefault("token") ?? NonEmpty(env(TokenVariable)),
            options.ContainsKey("json"));
        return new ParsedCommand(spec, byName, options, global);
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

    public static string Usage(IReadOnlyList<CommandSpec> commands)
    {
        var sb = new StringBuilder();
        var width = commands.Max(c => c.Synopsis.Length) + 2;
        foreach (var group in commands.GroupBy(c => c.Palette))
            foreach (var c in group)
            {
                if (c.Synopsis.Length + 2 > 56) sb.Append("  ").AppendLine(c.Synopsis).Append(' ', 2 + Math.Min(width, 56)).AppendLine(c.Summary);
                else sb.Append("  ").Append(c.Synopsis.PadRight(Math.Min(width, 56))).AppendLine(c.Summary);
            }
        sb.AppendLine();
        sb.AppendLine("  options of every client command:");
        foreach (var o in GlobalOptionSpecs)
            sb.Append("    ").Append((o.Value is null ? $"--{o.Name}" : $"--{o.Name} {o.Value}").PadRight(20)).AppendLine(o.Help);
        sb.AppendLine();
        sb.AppendLine("  exit codes: 0 ok, 1 the node reported a failure, 2 usage error, 3 node unreachable, 4 refused (token or read-only)");
        return sb.ToString();
    }

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    private static bool HasExplicitPort(string url)
    {
        var authority = url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..].Split('/')[0];
        var colon = authority.LastIndexOf(':');
        return colon > 0 && colon > authority.LastIndexOf(']') && colon < authority.Length - 1;
    }
}
