using System.Text.RegularExpressions;

namespace MegaFlow.Contracts.Scheduling;

/// <summary>
/// Names of scheduler quotas (a task spec's <c>quota</c>, the keys of <c>megaflow.scheduler.quotas</c>):
/// lowercase letters, digits and '-', at most <see cref="MaxLength"/> characters. Kept plain so a name
/// is the same in a spec, a HOCON key, a metric label and a URL.
/// </summary>
public static partial class QuotaNames
{
    public const int MaxLength = 64;

    [GeneratedRegex("^[a-z0-9-]+$")]
    private static partial Regex Pattern();

    /// <summary>Why <paramref name="name"/> is not a quota name, or null when it is one.</summary>
    public static string? Problem(string name)
    {
        if (name.Length == 0) return "must not be empty (omit it for the default, unlimited quota)";
        if (name.Length > MaxLength) return $"is {name.Length} characters; the limit is {MaxLength}";
        return Pattern().IsMatch(name) ? null : $"'{name}' is not a quota name (lowercase letters, digits and '-')";
    }
}
