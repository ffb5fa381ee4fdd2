using System.Text.RegularExpressions;
using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Agents.Model;

/// <summary>What one model reply asks for.</summary>
public enum ReplyKind
{
    /// <summary>Run <see cref="ParsedReply.Command"/> in the environment.</summary>
    Command,

    /// <summary>The model is done: score the environment as it is.</summary>
    Submit,

    /// <summary>The reply does not follow the format; <see cref="ParsedReply.Error"/> says how, for the model.</summary>
    FormatError,
}

/// <summary>A model reply parsed into an action.</summary>
public readonly record struct ParsedReply(ReplyKind Kind, string? Command, string? Error)
{
    public static ParsedReply Run(string command) => new(ReplyKind.Command, command, null);
    public static ParsedReply Submit => new(ReplyKind.Submit, null, null);
    public static ParsedReply Invalid(string error) => new(ReplyKind.FormatError, null, error);
}

/// <summary>
/// Turns a chat reply into an action, as mini-swe-agent does: the action is the one fenced code block
/// labelled <c>bash</c>, <c>sh</c> or <c>shell</c>; prose and blocks in other languages (a diff, some
/// Python shown for explanation) are not actions. Rules:
/// <list type="bullet">
/// <item>exactly one shell block → its content (trimmed) is the command; a block holding only
/// <see cref="SubmitCommand"/> or <see cref="SubmitMarker"/> submits;</item>
/// <item>no shell block, but a line that is exactly <see cref="SubmitMarker"/> → submit;</item>
/// <item>no shell block otherwise, several, or an empty one → a format error, told to the model so it
/// can answer again (the model agent allows a few such retries per round, then fails the attempt).</item>
/// </list>
/// An unterminated block (the reply cut at max_tokens) is not a block: running half a command is worse
/// than asking again.
/// </summary>
public static partial class ReplyParser
{
    /// <summary>The command that submits (in a shell block of its own).</summary>
    public const string SubmitCommand = "submit";

    /// <summary>A line that submits, with or without a block around it.</summary>
    public const string SubmitMarker = "MEGAFLOW_SUBMIT";

    /// <summary>Parses <paramref name="reply"/> (null or empty is a format error).</summary>
    public static ParsedReply Parse(string? reply)
    {
        if (string.IsNullOrWhiteSpace(reply))
            return ParsedReply.Invalid("The reply was empty. " + Expectation);
        var blocks = ShellBlock().Matches(reply);
        if (blocks.Count == 0)
        {
            if (reply.Split('\n').Any(l => l.Trim() == SubmitMarker))
                return ParsedReply.Submit;
            return ParsedReply.Invalid("The reply had no ```bash code block. " + Expectation);
        }
        if (blocks.Count > 1)
            return ParsedReply.Invalid($"The reply had {blocks.Count} ```bash code blocks; only one command runs per turn. " + Expectation);
        var command = blocks[0].Groups["body"].Value.Trim();
        if (command.Length == 0)
            return ParsedReply.Invalid("The ```bash code block was empty. " + Expectation);
        return command is SubmitCommand or SubmitMarker ? ParsedReply.Submit : ParsedReply.Run(command);
    }

    /// <summary>
    /// The candidates of a choice template (choice-v1): the spec's actions, distinct and in order, then
    /// <see cref="SubmitCommand"/>. An action that is itself <c>submit</c> is that same candidate (it could
    /// only ever mean submitting), kept last so the list reads as commands and then the way out.
    /// </summary>
    public static IReadOnlyList<string> ChoiceCandidates(TaskSpec spec) =>
        [.. (spec.Actions ?? []).Where(a => a != SubmitCommand).Distinct(StringComparer.Ordinal), SubmitCommand];

    /// <summary>The letters a labelled template (menu-v1) shows its candidates under: A, B, C … (at most 26 candidates).</summary>
    public static IReadOnlyList<string> ChoiceLabels(int count) =>
        count <= 26 ? [.. Enumerable.Range(0, count).Select(i => ((char)('A' + i)).ToString())]
            : throw new ArgumentException($"actions: a labelled template lists at most 25 commands besides submit (got {count - 1})");

    /// <summary>
    /// Parses a reply to a choice template: exactly one of <paramref name="candidates"/>, compared
    /// ordinally with nothing trimmed (an endpoint honouring guided_choice answers a candidate verbatim;
    /// anything else means it ignored the constraint, and guessing which candidate was meant would put
    /// a command in the trajectory the model never chose).
    /// </summary>
    public static ParsedReply ParseChoice(string? reply, IReadOnlyList<string> candidates)
    {
        if (reply is not null && candidates.Contains(reply, StringComparer.Ordinal))
            return reply == SubmitCommand ? ParsedReply.Submit : ParsedReply.Run(reply);
        var shown = reply is null ? "an empty reply" : $"'{Conversation.Shorten(reply, 200)}'";
        return ParsedReply.Invalid($"The reply was {shown}, which is not one of the candidates. Reply with exactly one of: "
            + string.Join(" | ", candidates));
    }

    /// <summary>
    /// Parses a reply to a labelled template (menu-v1): exactly one of the letters of
    /// <paramref name="candidates"/>, taken to that candidate. Anything else is the endpoint ignoring the constraint.
    /// </summary>
    public static ParsedReply ParseLabelled(string? reply, IReadOnlyList<string> candidates)
    {
        var labels = ChoiceLabels(candidates.Count);
        var index = reply is null ? -1 : IndexOf(labels, reply);
        if (index >= 0)
            return candidates[index] == SubmitCommand ? ParsedReply.Submit : ParsedReply.Run(candidates[index]);
        var shown = reply is null ? "an empty reply" : $"'{Conversation.Shorten(reply, 200)}'";
        return ParsedReply.Invalid($"The reply was {shown}, which is not one of the letters. Reply with exactly one of: " + string.Join(" | ", labels));
    }

    /// <summary>How a labelled template lists the candidates: "A) command", one per line.</summary>
    public static string LabelledList(IReadOnlyList<string> candidates) =>
        string.Join('\n', ChoiceLabels(candidates.Count).Zip(candidates, (label, c) => $"{label}) {c}"));

    /// <summary>The letter a labelled template shows <paramref name="command"/> under; the command itself when it is not a candidate.</summary>
    public static string LabelOf(IReadOnlyList<string> candidates, string command)
    {
        var index = IndexOf(candidates, command);
        return index >= 0 ? ChoiceLabels(candidates.Count)[index] : command;
    }

    private static int IndexOf(IReadOnlyList<string> items, string item)
    {
        for (var i = 0; i < items.Count; i++)
            if (string.Equals(items[i], item, StringComparison.Ordinal)) return i;
        return -1;
    }

    /// <summary>What the model is told after a format error.</summary>
    public const string Expectation =
        "Reply with your reasoning and exactly one ```bash code block holding the next command, or a ```bash block containing only `submit` when you are done.";

    // An opening fence at the start of a line with a shell language tag, the body, and a closing fence
    // at the start of a line. Backtick fences only; tildes are rare in model output.
    [GeneratedRegex(@"^[ \t]*```[ \t]*(?:bash|sh|shell)[ \t]*\r?\n(?<body>.*?)^[ \t]*```[ \t]*$", RegexOptions.Multiline | RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex ShellBlock();
}
