using System.Reflection;
using MemberInfo = MegaFlow.Contracts.Management.MemberInfo;
using Akka.Actor;
using Akka.Cluster;
using MegaFlow.Actors.Cluster;
using MegaFlow.Contracts.Management;
using MegaFlow.Management.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace MegaFlow.Management.Cluster;


/// <summary>pbm's cluster palette: show, join, leave, down, down-unreachable.</summary>
public static class ClusterRoutes
{
    public static void Map(RouteGroupBuilder api, MutationGuard guard)
    {
        api.MapGet("/cluster", (ManagementNode node) => ApiResults.Ok(View(node.System)));

        api.MapPost("/cluster/join", (ManagementNode node, AddressRequest? body) =>
        {
            if (!TryParse(node.System, body?.Address, out var address, out var error)) return error;
            Akka.Cluster.Cluster.Get(node.System).Join(address);
            return ApiResults.Ok(new ActionResult($"joining {address}", [address.ToString()]));
        }).RequireToken(guard);

        api.MapPost("/cluster/leave", (ManagementNode node, AddressRequest? body) =>
        {
            var cluster = Akka.Cluster.Cluster.Get(node.System);
            // No address: this node leaves (like `pbm cluster leave` on the local node).
            var address = cluster.SelfAddress;
            if (body?.Address is not null && !TryParseMember(node.System, body.Address, out address, out var error)) return error;
            cluster.Leave(address);
            return ApiResults.Ok(new ActionResult($"{address} is leaving: its shards and singletons hand over, then it stops", [address.ToString()]));
        }).RequireToken(guard);

        api.MapPost("/cluster/down", (ManagementNode node, AddressRequest? body) =>
        {
            if (string.IsNullOrWhiteSpace(body?.Address)) return ApiResults.BadRequest("down needs the address of the member to down");
            if (!TryParseMember(node.System, body.Address, out var address, out var error)) return error;
            Akka.Cluster.Cluster.Get(node.System).Down(address);
            return ApiResults.Ok(new ActionResult($"{address} marked down: the leader removes it from the cluster", [address.ToString()]));
        }).RequireToken(guard);

        api.MapPost("/cluster/down-unreachable", (ManagementNode node) =>
        {
            var cluster = Akka.Cluster.Cluster.Get(node.System);
            var unreachable = cluster.State.Unreachable.Where(m => m.Status != MemberStatus.Down).Select(m => m.Address).ToList();
            foreach (var a in unreachable) cluster.Down(a);
            return ApiResults.Ok(new ActionResult(
                unreachable.Count == 0 ? "no unreachable member" : $"downed {unreachable.Count} unreachable member(s)",
                unreachable.Select(a => a.ToString()).ToList()));
        }).RequireToken(guard);
    }

    public static ClusterView View(ActorSystem system)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        var state = cluster.State;
        var observers = Observers(cluster);
        var unreachable = state.Unreachable.Select(m => m.Address).ToHashSet();
        var members = state.Members
            .OrderBy(m => m.Address.ToString(), StringComparer.Ordinal)
            .Select(m => new MemberInfo(
                m.Address.ToString(),
                NodeKey.Of(m),
                Lower(m.Status),
                m.Roles.OrderBy(r => r).ToList(),
                !unreachable.Contains(m.Address),
                observers.GetValueOrDefault(m.Address, []),
                m.Address.Equals(state.Leader),
                m.Address.Equals(cluster.SelfAddress)))
            .ToList();
        var roles = state.Members.SelectMany(m => m.Roles).Distinct().OrderBy(r => r).ToList();
        var oldest = new Dictionary<string, string>();
        foreach (var role in roles)
        {
            // The oldest Up member of a role hosts that role's singletons (the scheduler).
            var candidates = state.Members.Where(m => m.HasRole(role) && m.Status is MemberStatus.Up or MemberStatus.Leaving).ToList();
            if (candidates.Count == 0) continue;
            var o = candidates.Aggregate((a, b) => b.IsOlderThan(a) ? b : a);
            oldest[role] = o.Address.ToString();
        }
        return new ClusterView(
            cluster.SelfAddress.ToString(),
            Lower(cluster.SelfMember.Status),
            state.Leader?.ToString(),
            roles.ToDictionary(r => r, r => state.RoleLeader(r)?.ToString()),
            oldest,
            members,
            state.Unreachable.Select(m => new UnreachableMember(m.Address.ToString(), Lower(m.Status), observers.GetValueOrDefault(m.Address, []))).ToList());
    }

    /// <summary>
    /// Which members observe each unreachable member, from the reachability table the failure
    /// detectors fill. Akka.NET keeps that table behind an internal property (Cluster.ReadView), so it
    /// is read by reflection; if a later Akka version moves it, observers are simply left empty.
    /// </summary>
    private static Dictionary<Address, IReadOnlyList<string>> Observers(Akka.Cluster.Cluster cluster)
    {
        var result = new Dictionary<Address, IReadOnlyList<string>>();
        try
        {
            const BindingFlags Any = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;
            var readView = typeof(Akka.Cluster.Cluster).GetProperty("ReadView", Any)?.GetValue(cluster);
            var reachability = readView?.GetType().GetProperty("Reachability", Any)?.GetValue(readView);
            if (reachability?.GetType().GetProperty("ObserversGroupedByUnreachable", Any)?.GetValue(reachability) is not System.Collections.IDictionary grouped)
                return result;
            foreach (System.Collections.DictionaryEntry kv in grouped)
            {
                if (kv.Key is not UniqueAddress unreachable || kv.Value is not System.Collections.IEnumerable observers) continue;
                result[unreachable.Address] = observers.OfType<UniqueAddress>().Select(o => o.Address.ToString()).OrderBy(a => a, StringComparer.Ordinal).ToList();
            }
        }
        catch (Exception e) when (e is TargetInvocationException or InvalidCastException or AmbiguousMatchException)
        {
            // Observers are a diagnostic extra; the member list stays correct without them.
        }
        return result;
    }

    /// <summary>Accepts a full address or "host:port" (completed with this cluster's protocol and system name).</summary>
    internal static bool TryParse(ActorSystem system, string? text, out Address address, out IResult error)
    {
        address = Address.AllSystems;
        error = Results.Empty;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = ApiResults.BadRequest("an address is required, like akka.tcp://megaflow@127.0.0.1:4053 or 127.0.0.1:4053");
            return false;
        }
        var self = Akka.Cluster.Cluster.Get(system).SelfAddress;
        var full = text.Contains("://", StringComparison.Ordinal) ? text : $"{self.Protocol}://{self.System}@{text}";
        try
        {
            address = Address.Parse(full);
            if (address.Host is null || address.Port is null or <= 0) throw new UriFormatException("no host or port");
            return true;
        }
        catch (Exception e) when (e is UriFormatException or ArgumentException or FormatException)
        {
            error = ApiResults.BadRequest($"'{text}' is not a member address (expected akka.tcp://{self.System}@host:port or host:port)");
            return false;
        }
    }

    private static bool TryParseMember(ActorSystem system, string text, out Address address, out IResult error)
    {
        if (!TryParse(system, text, out address, out error)) return false;
        var a = address;
        var members = Akka.Cluster.Cluster.Get(system).State.Members;
        if (members.Any(m => m.Address.Equals(a))) return true;
        error = ApiResults.NotFound($"no cluster member at {address} (members: {string.Join(", ", members.Select(m => NodeKey.Of(m)))})");
        return false;
    }

    private static string Lower(MemberStatus s) => s.ToString().ToLowerInvariant();
}
