namespace MegaFlow.Contracts.Management;

/// <summary>One cluster member. <paramref name="UnreachableFrom"/> lists the members that observe it as unreachable.</summary>
public sealed record MemberInfo(string Address, string Node, string Status, IReadOnlyList<string> Roles, bool Reachable, IReadOnlyList<string> UnreachableFrom, bool IsLeader, bool IsSelf);

/// <summary>The cluster as the answering node sees it.</summary>
public sealed record ClusterView(
    string Self,
    string SelfStatus,
    string? Leader,
    IReadOnlyDictionary<string, string?> RoleLeaders,
    IReadOnlyDictionary<string, string> OldestByRole,
    IReadOnlyList<MemberInfo> Members,
    IReadOnlyList<UnreachableMember> Unreachable);

public sealed record UnreachableMember(string Address, string Status, IReadOnlyList<string> Observers);

/// <summary>The answer to a mutation: what the node did.</summary>
public sealed record ActionResult(string Message, IReadOnlyList<string>? Affected = null);

/// <summary>Every error the API returns: a message naming what is wrong, and a stable code.</summary>
public sealed record ApiError(string Error, string Code);

/// <summary>Body of join / leave / down: a member address ("akka.tcp://megaflow@host:port" or "host:port").</summary>
public sealed record AddressRequest(string? Address);
