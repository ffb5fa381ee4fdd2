using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Agents.Model;

/// <summary>
/// A versioned prompt: the system message and how the task and each observation are put to the model.
/// A changed wording is a new template name (swe-v2, ...), never an edit of an existing one, so a
/// trajectory's prompt can always be rebuilt from the name recorded in its spec.
/// </summary>
/// <param name="Action">How an earlier step's command is shown as the model's reply ({command}): what the
/// template asked it to answer, so the rebuilt conversation reads as one the model could have written.</param>
/// <param name="GuidedChoice">The model does not write commands but picks one candidate per round
/// (<see cref="ReplyParser.ChoiceCandidates"/>), the request restricting its answer with guided_choice.</param>
/// <param name="Labelled">With <paramref name="GuidedChoice"/>: the candidates are listed as "A) command" and
/// the model answers with the letter (<see cref="ReplyParser.ChoiceLabels"/>); earlier steps show as their letter.</param>
public sealed record PromptTemplate(string Name, string System, string Task, string Observation,
    string Action = "```bash\n{command}\n```", bool GuidedChoice = false, bool Labelled = false)
{
    /// <summary>
    /// swe-v1: a coding agent in a shell, one command per turn, submitting when done. Placeholders:
    /// {max_rounds}; {task_id}, {problem_statement}, {context}; {exit_code}, {output}.
    /// </summary>
    public static PromptTemplate SweV1 { get; } = new(
        "swe-v1",
        System: """
            You are an autonomous software engineer working in a shell inside an isolated environment that holds the task's repository.
            Each turn, think briefly about what to do next, then give exactly ONE shell command in a single fenced code block marked bash, for example:

            ```bash
            grep -rn "def parse" src/
            ```

            The command runs with /bin/sh in the environment's working directory; every command starts in that directory again, so chain steps with && or use absolute paths. You see its exit code and output (long output is shortened in the middle). Commands must not wait for input. You have at most {max_rounds} commands.
            Edit files with tools such as sed, a heredoc (cat > file <<'EOF'), or python3. Do not modify the tests unless the task asks you to.
            When the task is done, reply with a bash block containing only:

            ```bash
            submit
            ```
            """,
        Task: """
            Task {task_id}{context}

            <problem_statement>
            {problem_statement}
            </problem_statement>

            Resolve the problem described above by changing the code in the repository, then submit.
            """,
        Observation: """
            <exit_code>{exit_code}</exit_code>
            <output>
            {output}
            </output>
            """);

    /// <summary>
    /// choice-v1: the model answers each round with exactly one candidate, a command from the spec's
    /// actions or submit, and the endpoint is asked to allow nothing else (guided_choice). Meant for
    /// small policies (ours is a byte-level GRU) that cannot yet write a well-formed bash block but can
    /// be trained to choose well. Short on purpose: every byte is a token of a small context.
    /// Placeholders: those of swe-v1 and {candidates} (one per line).
    /// </summary>
    public static PromptTemplate ChoiceV1 { get; } = new(
        AgentSpec.ChoiceTemplate,
        System: """
            You are an agent working in a shell inside an isolated environment.
            Each turn, reply with exactly one of the candidate commands below, written exactly as listed and nothing else. It runs with /bin/sh in the environment's working directory and you see its exit code and output. You have at most {max_rounds} commands. Reply submit when the task is done.

            Candidates:
            {candidates}
            """,
        Task: """
            Task {task_id}{context}

            <problem_statement>
            {problem_statement}
            </problem_statement>
            """,
        Observation: SweV1.Observation,
        Action: "{command}",
        GuidedChoice: true);

    /// <summary>
    /// menu-v1: choice-v1's candidates listed as A) … D), answered with one letter (guided_choice over
    /// the letters). One token per decision: what a small policy trained from scratch learns reliably
    /// (see the built-in training suite). Short on purpose, and without the task id (a different id per
    /// replica would only be noise to a small policy): every prompt byte is a step of the network's
    /// forward pass in training. Placeholders: those of choice-v1 but {task_id}.
    /// </summary>
    public static PromptTemplate MenuV1 { get; } = new(
        AgentSpec.MenuTemplate,
        System: """
            Reply with one letter. At most {max_rounds} commands.
            {candidates}
            """,
        Task: """
            Task:{context} {problem_statement}
            """,
        Observation: """
            exit {exit_code}: {output}
            """,
        Action: "{command}",
        GuidedChoice: true,
        Labelled: true);

    /// <summary>Every template by name; <see cref="AgentSpec.Templates"/> lists the same names.</summary>
    public static IReadOnlyDictionary<string, PromptTemplate> All { get; } =
        new Dictionary<string, PromptTemplate>(StringComparer.Ordinal) { [SweV1.Name] = SweV1, [ChoiceV1.Name] = ChoiceV1, [MenuV1.Name] = MenuV1 };

    /// <summary>The template <paramref name="name"/> names (null: the default).</summary>
    /// <exception cref="ArgumentException">No such template (a spec that passed validation always names one).</exception>
    public static PromptTemplate Get(string? name) =>
        All.TryGetValue(name ?? AgentSpec.DefaultTemplate, out var t)
            ? t
            : throw new ArgumentException($"unknown prompt template '{name}' (known: {string.Join(", ", All.Keys)})", nameof(name));
}
