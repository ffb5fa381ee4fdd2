using System.CommandLine;
using System.CommandLine.Parsing;

namespace MegaFlow.Cli.CommandLine;

/// <summary>
/// Turns what System.CommandLine found wrong into one line in the CLI's words: the command, then what
/// is wrong, naming the offending word ("tasks list: unknown option '--colour'").
/// </summary>
internal static class ParseErrors
{
    /// <summary>The first mistake of <paramref name="result"/>, or null when the command line is right.</summary>
    public static string? Describe(ParseResult result)
    {
        var command = result.CommandResult.Command;
        var path = Usage.PathOf(command);
        string At(string what) => path.Length > 0 ? $"{path}: {what}" : what;

        // System.CommandLine lets a flag repeat; a repeated option is a slip either way (which one was meant?).
        if (result.CommandResult.Children.OfType<OptionResult>().FirstOrDefault(o => o.IdentifierTokenCount > 1) is { } repeated)
            return At($"{repeated.Option.Name} given twice");

        var subcommands = command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name).ToList();
        var expected = $"(expected one of: {string.Join(", ", subcommands)})";
        if (result.UnmatchedTokens.Count > 0)
        {
            var word = result.UnmatchedTokens[0];
            var isOption = word.StartsWith('-') && word.Length > 1;
            if (isOption) return At($"unknown option '{OptionName(word)}'");
            if (command is RootCommand) return $"unknown command '{word}'";
            return subcommands.Count > 0 ? At($"unknown subcommand '{word}' {expected}") : At($"unexpected argument '{word}'");
        }
        if (result.Errors.Count == 0) return null;
        if (subcommands.Count > 0 && result.Errors.Any(e => e.SymbolResult is CommandResult c && c.Command == command))
            return At($"missing subcommand {expected}");

        var error = result.Errors[0];
        return error.SymbolResult switch
        {
            ArgumentResult { Tokens.Count: 0 } a when a.Argument.Arity.MinimumNumberOfValues > 0 => At($"missing {a.Argument.Name}"),
            OptionResult { Tokens.Count: 0 } o when o.Option.Arity.MinimumNumberOfValues > 0 => At($"{o.Option.Name} needs a value ({o.Option.HelpName ?? "VALUE"})"),
            // Our own validators and parsers word their messages without the command's name.
            _ => At(error.Message),
        };
    }

    /// <summary>"--colour=red" → "--colour": the name is the mistake, not the value.</summary>
    private static string OptionName(string word)
    {
        var end = word.IndexOfAny(['=', ':']);
        return end > 0 ? word[..end] : word;
    }
}
