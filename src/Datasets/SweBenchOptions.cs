using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Datasets;

/// <summary>How SWE-bench-style records become tasks.</summary>
public sealed record SweBenchOptions
{
    /// <summary>The defaults: ephemeral tasks, dataset "swe-bench", one replica.</summary>
    public static SweBenchOptions Default { get; } = new();

    /// <summary>
    /// "ephemeral" (default: each instance needs its own repository state, so a reused environment
    /// buys little and risks leaking one attempt into the next) or "persistent".
    /// </summary>
    public string Mode { get; init; } = "ephemeral";

    /// <summary>Stored as metadata["dataset"] on every task.</summary>
    public string Dataset { get; init; } = "swe-bench";

    /// <summary>
    /// Registry (and namespace) prefix of the image named as the official harness names it, for a
    /// record that names none: <c>&lt;prefix&gt;sweb.eval.x86_64.&lt;instance_id lowercased, "__" → "_1776_"&gt;:latest</c>
    /// (see <see cref="SweBenchImport.ImageName"/>). The default is Docker Hub's <c>swebench/</c>.
    /// </summary>
    public string ImagePrefix { get; init; } = "swebench/";

    /// <summary>
    /// Test commands by repository and version for records without <c>test_cmd</c> (the published
    /// datasets have none). A record's own command wins; without either, <see cref="SweBenchImport.DefaultTestCommand"/>.
    /// </summary>
    public SweBenchTestMap TestCommands { get; init; } = SweBenchTestMap.Empty;

    /// <summary>
    /// The agent of every task. Null (default): the model agent (the problem statement is its prompt),
    /// except for records with <c>setup</c> commands, which the scripted agent replays as before.
    /// </summary>
    public AgentSpec? Agent { get; init; }

    /// <summary>Replicas per instance (a group per instance, as in <see cref="Replicas"/>).</summary>
    public int Replicas { get; init; } = 1;

    /// <summary>
    /// Apply the record's <c>test_patch</c> (the tests that check the fix) inside the score command
    /// before running the tests, as the SWE-bench harness does. The agent never sees it.
    /// </summary>
    public bool ApplyTestPatch { get; init; } = true;

    /// <summary>Budgets, rounds, retries and pool for every task; the import fills in the rest.</summary>
    public TaskSpec Template { get; init; } = new();

    /// <summary>As <see cref="DatasetOptions.SkipInvalidLines"/>.</summary>
    public bool SkipInvalidLines { get; init; }

    /// <summary>As <see cref="DatasetOptions.MaxErrors"/>.</summary>
    public int MaxErrors { get; init; } = 10_000;

    /// <summary>Real records carry patches and long problem statements, hence a larger bound than plain task files.</summary>
    public int MaxLineLength { get; init; } = 8 * 1024 * 1024;
}
