namespace MegaFlow.Management.Contracts;

/// <summary>A live environment entity (one whose actor is running somewhere in the cluster).</summary>
public sealed record EnvironmentRow(string EnvironmentId, string Status, string Node, string? Pool, string? Mode, string? Image, string? LeasedTo, int Leases, DateTimeOffset? ReadyAt);

public sealed record EnvironmentList(IReadOnlyList<EnvironmentRow> Environments, IReadOnlyList<string> Failed);
