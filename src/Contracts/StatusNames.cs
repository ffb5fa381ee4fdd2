using MegaFlow.Contracts.Environments;
using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Contracts;

/// <summary>
/// The one spelling of task and environment statuses outside the wire format: lowercase names
/// ("timedout", "provisioning"). Every place that shows or reads a status (API, CLI, metrics labels,
/// exports) goes through here, so the rules cannot drift apart.
/// </summary>
/// <remarks>
/// Parsing rejects numbers ("3" would otherwise be accepted by <see cref="Enum.TryParse{TEnum}(string, bool, out TEnum)"/>)
/// and "unknown", which is what an entity that never received a spec reports, never a status to ask for.
/// </remarks>
public static class StatusNames
{
    /// <summary>A task status as shown to people and programs: its name in lower case.</summary>
    public static string Format(TaskStatus status) => TaskNames[(int)status];

    /// <summary>An environment status as shown to people and programs: its name in lower case.</summary>
    public static string Format(EnvironmentStatus status) => EnvironmentNames[(int)status];

    /// <summary>"ephemeral" or "persistent", as task specs spell execution modes.</summary>
    public static string Format(ExecutionMode mode) => mode == ExecutionMode.Persistent ? "persistent" : "ephemeral";

    /// <summary>Reads a task status name (any case); false for numbers, "unknown" and anything else.</summary>
    public static bool TryParseTask(string? text, out TaskStatus status) => TryParse(text, out status);

    /// <summary>Reads an environment status name (any case); false for numbers, "unknown" and anything else.</summary>
    public static bool TryParseEnvironment(string? text, out EnvironmentStatus status) => TryParse(text, out status);

    /// <summary>Reads a task status name or throws <see cref="FormatException"/> naming the value and the valid names.</summary>
    public static TaskStatus ParseTask(string text) =>
        TryParseTask(text, out var s) ? s : throw new FormatException(UnknownTask(text));

    /// <summary>Reads an environment status name or throws <see cref="FormatException"/> naming the value and the valid names.</summary>
    public static EnvironmentStatus ParseEnvironment(string text) =>
        TryParseEnvironment(text, out var s) ? s : throw new FormatException(UnknownEnvironment(text));

    /// <summary>The task statuses one can ask for, comma-separated: "submitted, queued, …".</summary>
    public static string ValidTaskNames => string.Join(", ", TaskNames.Skip(1));

    /// <summary>The environment statuses one can ask for, comma-separated.</summary>
    public static string ValidEnvironmentNames => string.Join(", ", EnvironmentNames.Skip(1));

    /// <summary>The error for a task status that does not parse: "unknown status 'x' (expected one of …)".</summary>
    public static string UnknownTask(string? text) => $"unknown status '{text}' (expected one of {ValidTaskNames})";

    /// <summary>The error for an environment status that does not parse.</summary>
    public static string UnknownEnvironment(string? text) => $"unknown environment status '{text}' (expected one of {ValidEnvironmentNames})";

    private static readonly string[] TaskNames = Enum.GetValues<TaskStatus>().Select(s => s.ToString().ToLowerInvariant()).ToArray();
    private static readonly string[] EnvironmentNames = Enum.GetValues<EnvironmentStatus>().Select(s => s.ToString().ToLowerInvariant()).ToArray();

    private static bool TryParse<T>(string? text, out T status) where T : struct, Enum
    {
        status = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        // Names only: Enum.TryParse would also take "3" or "1, 2".
        foreach (var value in Enum.GetValues<T>())
        {
            if (Convert.ToInt32(value) == 0) continue; // Unknown
            if (!string.Equals(value.ToString(), text.Trim(), StringComparison.OrdinalIgnoreCase)) continue;
            status = value;
            return true;
        }
        return false;
    }
}
