namespace MegaFlow.Contracts.Management;

/// <summary>
/// A live environment entity (one whose actor is running somewhere in the cluster). <paramref name="Problem"/>
/// says what is wrong with it, if anything: failed health checks being retried (before it gives up
/// and is Lost), or a destroy under way.
/// </summary>
public sealed record EnvironmentRow(string EnvironmentId, string Status, string Node, string? Pool, string? Mode, string? Image, string? LeasedTo, int Leases, DateTimeOffset? ReadyAt, string? Problem = null);

/// <summary>A live environment entity that did not tell its state in time (stuck, failing, or its node unreachable).</summary>
public sealed record UnansweredEnvironment(string EnvironmentId, string Node, string Reason);

/// <summary>
/// The live environments that answered in time. <paramref name="Failed"/>: regions that did not list
/// their entities; <paramref name="Unanswered"/>: listed entities that did not answer (their status
/// is unknown, so every status filter shows them).
/// </summary>
public sealed record EnvironmentList(IReadOnlyList<EnvironmentRow> Environments, IReadOnlyList<string> Failed, IReadOnlyList<UnansweredEnvironment> Unanswered);
