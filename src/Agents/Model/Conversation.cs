using System.Globalization;
using System.Text;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Agents;

namespace MegaFlow.Agents.Model;

/// <summary>A chat message before it becomes the client library's type: testable without an endpoint.</summary>
public readonly record struct ChatTurn(ChatRole Role, string Content);

/// <summary>Who says a <see cref="ChatTurn"/>.</summary>
public enum ChatRole { System, User, Assistant }

/// <summary>
/// Builds the conversation for one round from the spec and the attempt's steps — nothing else — so a
/// decision needs no memory of earlier calls and an attempt that moved to another node (or restarted)
/// is asked exactly what it would have been asked. The model's earlier replies are therefore rebuilt
/// as their action (in the template's form: a bash block holding the command that ran, or the bare
/// chosen candidate); the prose around it is not kept here
/// (recording every call verbatim is the gateway's job).
/// </summary>
public static class Conversation
{
    /// <summary>Metadata keys shown to the model as context when present (SWE-bench imports set them).</summary>
    private static readonly string[] ContextKeys = ["repo", "base_commit", "version"];

    /// <summary>The messages for round <see cref="AgentContext.Round"/>.</summary>
    /// <param name="context">The task and the steps so far.</param>
    /// <param name="template">The prompt.</param>
    /// <param name="observationChars">Longest observation shown; longer output keeps its head and tail.</param>
    public static List<ChatTurn> Build(AgentContext context, PromptTemplate template, int observationChars)
    {
        var spec = context.Spec;
        var metadata = spec.Metadata ?? new Dictionary<string, string>();
        var problem = metadata.GetValueOrDefault(TaskSpecValidator.ProblemStatementKey) ?? "";
        var extra = new StringBuilder();
        foreach (var key in ContextKeys)
            if (metadata.TryGetValue(key, out var value) && !string.IsNullOrWhiteSpace(value))
                extra.Append('\n').Append(key).Append(": ").Append(value);

        var candidates = ReplyParser.ChoiceCandidates(spec);
        var turns = new List<ChatTurn>(2 + 2 * context.Steps.Count)
        {
            new(ChatRole.System, template.System
                .Replace("{max_rounds}", spec.MaxRounds.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("{candidates}", template.Labelled ? ReplyParser.LabelledList(candidates) : string.Join('\n', candidates), StringComparison.Ordinal)),
            new(ChatRole.User, template.Task
                .Replace("{task_id}", context.TaskId, StringComparison.Ordinal)
                .Replace("{context}", extra.ToString(), StringComparison.Ordinal)
                .Replace("{problem_statement}", problem.Trim(), StringComparison.Ordinal)),
        };
        foreach (var step in context.Steps)
        {
            // A labelled template's model answered with the letter: the conversation shows what it wrote.
            var shown = template.Labelled ? ReplyParser.LabelOf(candidates, step.Command) : step.Command;
            turns.Add(new(ChatRole.Assistant, template.Action.Replace("{command}", shown, StringComparison.Ordinal)));
            turns.Add(new(ChatRole.User, Observe(template, step, observationChars)));
        }
        return turns;
    }

    /// <summary>One step's result as the model sees it.</summary>
    public static string Observe(PromptTemplate template, Step step, int observationChars)
    {
        var exit = step.TimedOut
            ? $"{step.ExitCode} (the command timed out and was killed)"
            : step.ExitCode.ToString(CultureInfo.InvariantCulture);
        var output = Shorten(step.Output ?? "", observationChars);
        if (step.OutputTruncated)
            output += "\n[output truncated by the environment]";
        // The template's placeholders are replaced once, output last, so text in the output that
        // looks like a placeholder stays as it is.
        return template.Observation.Replace("{exit_code}", exit, StringComparison.Ordinal)
            .Replace("{output}", output, StringComparison.Ordinal);
    }

    /// <summary>
    /// <paramref name="text"/> if it fits, else its head and tail around a note of what was left out:
    /// the end of a test run or a stack trace matters as much as its start.
    /// </summary>
    public static string Shorten(string text, int limit)
    {
        if (text.Length <= limit)
            return text;
        var head = limit / 2;
        var tail = limit - head;
        return $"{text[..head]}\n[... {text.Length - limit} characters left out ...]\n{text[^tail..]}";
    }
}
