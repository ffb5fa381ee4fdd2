using Spectre.Console;
using MegaFlow.Cli.CommandLine;
using MegaFlow.Contracts.Management;
using static MegaFlow.Cli.Palettes.Render;

namespace MegaFlow.Cli.Palettes;

/// <summary>`cluster show | join | leave | down | down-unreachable`, as in pbm.</summary>
internal static class ClusterPalette
{
    public static IEnumerable<CommandSpec> Commands() =>
    [
        new("cluster", "show", "members with status, roles and reachability; leader and oldest per role", [], [], Show),
        new("cluster", "join", "make the node join the cluster at ADDRESS", [new("ADDRESS")], [], (c, p) => Act(c, p, "api/cluster/join", new AddressRequest(p.Arg("ADDRESS")))),
        new("cluster", "leave", "make the member at ADDRESS (default: the node itself) leave gracefully", [new("ADDRESS", Required: false)], [],
            (c, p) => Act(c, p, "api/cluster/leave", new AddressRequest(p.OptionalArg("ADDRESS")))),
        new("cluster", "down", "mark the (unreachable) member at ADDRESS down so it is removed", [new("ADDRESS")], [], (c, p) => Act(c, p, "api/cluster/down", new AddressRequest(p.Arg("ADDRESS")))),
        new("cluster", "down-unreachable", "down every member the node sees as unreachable", [], [], (c, p) => Act(c, p, "api/cluster/down-unreachable", null)),
    ];

    private static async Task<int> Show(CliContext c, ParsedCommand p)
    {
        var (view, json) = await c.Client.GetAsync<ClusterView>("api/cluster");
        if (p.Global.Json)
        {
            c.PrintJson(json);
            return ExitCodes.Ok;
        }
        var t = Table("address", "status", "roles", "reachable", "");
        foreach (var m in view.Members)
        {
            var marks = string.Join(' ', new[] { m.IsLeader ? "leader" : null, m.IsSelf ? "(this node)" : null }.Where(x => x is not null));
            t.AddRow(E(m.Address), m.Status, E(string.Join(",", m.Roles)),
                m.Reachable ? "yes" : $"[red]NO[/] (seen by {E(string.Join(", ", m.UnreachableFrom))})", marks);
        }
        c.Console.Write(t);
        c.Console.WriteLine($"{view.Members.Count} member(s), {view.Unreachable.Count} unreachable; leader: {view.Leader ?? "none"}");
        foreach (var (role, address) in view.OldestByRole.OrderBy(kv => kv.Key))
            c.Console.WriteLine($"oldest {role}: {address}");
        return ExitCodes.Ok;
    }

    internal static async Task<int> Act(CliContext c, ParsedCommand p, string path, object? body)
    {
        var (result, json) = await c.Client.PostAsync<ActionResult>(path, body);
        if (p.Global.Json) c.PrintJson(json);
        else c.Out.WriteLine(result.Message);
        return ExitCodes.Ok;
    }
}
