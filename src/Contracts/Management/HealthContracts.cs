namespace MegaFlow.Contracts.Management;

/// <summary>Readiness: <paramref name="Ready"/> only when the node is Up and its roles' actors have started; otherwise the reasons.</summary>
public sealed record Readiness(bool Ready, string Node, string? MemberStatus, IReadOnlyList<string> Roles, IReadOnlyList<string> Problems);
