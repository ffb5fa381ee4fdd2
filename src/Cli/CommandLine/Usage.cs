using System.CommandLine;
using System.CommandLine.Help;
using System.Text;

namespace MegaFlow.Cli.CommandLine;

/// <summary>
/// The short usage printed with a command-line mistake (one synopsis line per command, in the style of
/// the README), next to System.CommandLine's full help that `--help` prints.
/// </summary>
public static class Usage
{
    /// <summary>The exit codes in one line, as every overview ends (<see cref="ExitCodes"/>).</summary>
    public const string ExitCodesLine = "exit codes: 0 ok, 1 the node reported a failure, 2 usage error, 3 node unreachable, 4 refused (token or read-only)";

    /// <summary>The words that select <paramref name="command"/> below the root ("tasks list"); empty for the root.</summary>
    public static string PathOf(Command command)
    {
        var words = new List<string>();
        for (var c = command; c is not null and not RootCommand; c = c.Parents.OfType<Command>().FirstOrDefault())
            words.Insert(0, c.Name);
        return string.Join(' ', words);
    }

    /// <summary>"cluster leave [ADDRESS] [--node HOST:PORT] ...": the command, its arguments and its options.</summary>
    public static string Synopsis(Command command, bool withApiOptions = true)
    {
        var words = new List<string> { PathOf(command) };
        foreach (var a in command.Arguments.Where(a => !a.Hidden))
        {
            var many = a.Arity.MaximumNumberOfValues > 1 ? "..." : "";
            words.Add(a.Arity.MinimumNumberOfValues > 0 ? a.Name + many : $"[{a.Name}{many}]");
        }
        foreach (var o in VisibleOptions(command).Where(o => withApiOptions || !ApiOptions.IsApiOption(o)))
            words.Add(IsFlag(o) ? $"[{o.Name}]" : $"[{o.Name} {o.HelpName ?? "VALUE"}]");
        return string.Join(' ', words.Where(w => w.Length > 0));
    }

    /// <summary>
    /// Every command at or below <paramref name="command"/>, one synopsis and summary a line; then the
    /// options every API command shares and the exit codes.
    /// </summary>
    public static string Overview(Command command)
    {
        var leaves = Leaves(command).ToList();
        var lines = leaves.Select(c => (Synopsis: Synopsis(c, withApiOptions: false), Summary: c.Description ?? "")).ToList();
        var width = Math.Min(lines.Max(l => l.Synopsis.Length) + 2, 56);
        var sb = new StringBuilder();
        foreach (var (synopsis, summary) in lines)
        {
            // A long synopsis gets its own line, so the summaries stay in one column.
            if (synopsis.Length + 2 > width) sb.Append("  ").AppendLine(synopsis).Append(' ', 2 + width).AppendLine(summary);
            else sb.Append("  ").Append(synopsis.PadRight(width)).AppendLine(summary);
        }
        var api = leaves.SelectMany(VisibleOptions).Where(ApiOptions.IsApiOption).DistinctBy(o => o.Name).ToList();
        if (api.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("  options of every client command:");
            foreach (var o in api)
                sb.Append("    ").Append((IsFlag(o) ? o.Name : $"{o.Name} {o.HelpName}").PadRight(20)).AppendLine(o.Description);
        }
        sb.AppendLine();
        sb.Append("  ").AppendLine(ExitCodesLine);
        return sb.ToString();
    }

    /// <summary>What follows the one-line reason of a command-line mistake: how <paramref name="command"/> is used.</summary>
    public static void WriteFor(TextWriter writer, Command command)
    {
        var path = PathOf(command);
        if (command.Subcommands.Any(c => !c.Hidden))
        {
            writer.WriteLine($"usage: megaflow {(path.Length > 0 ? path + " " : "")}<command> [options]");
            writer.Write(Overview(command));
        }
        else
        {
            writer.WriteLine($"usage: megaflow {Synopsis(command)}");
        }
        writer.WriteLine($"'megaflow {(path.Length > 0 ? path + " " : "")}--help' describes {(path.Length > 0 ? "each option" : "every command")}");
    }

    /// <summary>The commands that do something (those without subcommands), in tree order.</summary>
    public static IEnumerable<Command> Leaves(Command command) =>
        command.Subcommands.Any()
            ? command.Subcommands.Where(c => !c.Hidden).SelectMany(Leaves)
            : [command];

    // A bool option takes an optional value (--json=true); its usage shows the bare flag.
    private static bool IsFlag(Option option) => option.ValueType == typeof(bool);

    private static IEnumerable<Option> VisibleOptions(Command command) =>
        command.Options.Where(o => !o.Hidden && o is not HelpOption and not VersionOption);
}
