using System.Text.Json.Serialization;

namespace MegaFlow.Contracts.Tasks;

/// <summary>The agent kinds a node can run (<see cref="AgentSpec.Kind"/>).</summary>
public static class AgentKinds
{
    /// <summary>Replays <see cref="TaskSpec.Actions"/>, one per round (the default).</summary>
    public const string Scripted = "scripted";

    /// <summary>A chat loop against an OpenAI-compatible endpoint: one shell command per reply.</summary>
    public const string Model = "model";

    /// <summary>
    /// An agent program (any framework) run inside the environment as the attempt's one step, with
    /// <c>OPENAI_BASE_URL</c> and <c>OPENAI_API_KEY</c> set to the node's gateway and a key valid for
    /// this attempt only.
    /// </summary>
    public const string Command = "command";

    /// <summary>Every kind, in the order error messages list them.</summary>
    public static IReadOnlyList<string> All { get; } = [Scripted, Model, Command];

    /// <summary>The kinds as error messages list them: "scripted, model or command".</summary>
    public static string Listed => string.Join(", ", All.Take(All.Count - 1)) + " or " + All[^1];
}

/// <summary>
/// Which agent decides a task's rounds, and how it reaches its model. Absent from a spec (and from
/// every journal written before agents could be named) it means <see cref="AgentKinds.Scripted"/>. Plain
/// strings and numbers, validated by <see cref="TaskSpecValidator"/> with errors naming
/// <c>agent.&lt;field&gt;</c>. The API key itself is never here: only the name of an environment
/// variable read on the node that runs the task, so no secret reaches the journal or the wire.
/// </summary>
public sealed record AgentSpec
{
    /// <summary>Prompt templates the model agent knows (versioned: a changed prompt is a new name).</summary>
    public static IReadOnlyList<string> Templates { get; } = ["swe-v1", ChoiceTemplate, MenuTemplate];

    /// <summary>
    /// The constrained-choice template: the model picks one of the spec's <c>actions</c> (or
    /// <c>submit</c>) each round, the endpoint restricting its answer with <c>guided_choice</c>.
    /// </summary>
    public const string ChoiceTemplate = "choice-v1";

    /// <summary>
    /// The labelled-choice template: like <see cref="ChoiceTemplate"/>, but the candidates are listed
    /// as A, B, C … and the model answers with one letter. A one-token answer is what a small policy
    /// learns reliably (a multi-byte answer's later bytes act as a bias shared by every prompt).
    /// </summary>
    public const string MenuTemplate = "menu-v1";

    /// <summary>The template used when a model agent names none.</summary>
    public const string DefaultTemplate = "swe-v1";

    /// <summary>Upper bound on <see cref="MaxTokens"/>: a reply is one shell command and a little reasoning.</summary>
    public const int MaxTokensLimit = 1 << 20;

    /// <summary>The spec used when a task names no agent.</summary>
    public static AgentSpec Default { get; } = new() { Kind = AgentKinds.Scripted };

    /// <summary><see cref="AgentKinds.Scripted"/>, <see cref="AgentKinds.Model"/> or <see cref="AgentKinds.Command"/>.</summary>
    public string? Kind { get; init; }

    /// <summary>
    /// Model agent: base URL of an OpenAI-compatible API (…/v1). Null: the cluster's own model service
    /// (configuration <c>megaflow.agents.model-endpoint</c>).
    /// </summary>
    public string? Endpoint { get; init; }

    /// <summary>Model agent: the model name sent with each request. Null: <c>megaflow.agents.model</c>.</summary>
    public string? Model { get; init; }

    /// <summary>Model agent: name of the environment variable on the node that holds the API key.</summary>
    public string? ApiKeyEnv { get; init; }

    /// <summary>Model agent: the prompt template (one of <see cref="Templates"/>); null is <see cref="DefaultTemplate"/>.</summary>
    public string? Template { get; init; }

    /// <summary>Model agent: sampling temperature (0 to 2); null leaves it to the endpoint.</summary>
    public double? Temperature { get; init; }

    /// <summary>Model agent: most tokens per reply; null leaves it to the endpoint.</summary>
    public int? MaxTokens { get; init; }

    /// <summary>Command agent: the program's command line, run by /bin/sh -c in the environment.</summary>
    public string? Command { get; init; }

    /// <summary>True for the model agent with <see cref="ChoiceTemplate"/> or <see cref="MenuTemplate"/>: its candidates are the spec's actions.</summary>
    [JsonIgnore]
    public bool IsChoice => IsModel && (string.Equals(Template, ChoiceTemplate, StringComparison.Ordinal) || string.Equals(Template, MenuTemplate, StringComparison.Ordinal));

    /// <summary>True for the model agent.</summary>
    [JsonIgnore]
    public bool IsModel => string.Equals(Kind, AgentKinds.Model, StringComparison.Ordinal);
}
