using System.CommandLine;
using Spectre.Console;
using MegaFlow.Cli.CommandLine;
using MegaFlow.Contracts.Management;
using static MegaFlow.Cli.Palettes.Render;

namespace MegaFlow.Cli.Palettes;

/// <summary>`cluster show | join | leave | down | down-unreachable`, as in pbm.</summary>
internal static class ClusterPalette
{
    public static Command Command(CliHost host)
    {
        var join = new Argument<string>("ADDRESS") { Description = "a member's address (host:port)" };
        var leave = new Argument<string?>("ADDRESS") { Description = "the member to leave (default: the node itself)", Arity = ArgumentArity.ZeroOrOne };
        var down = new Argument<string>("ADDRESS") { Description = "the unreachable member's address (host:port)" };
        return new Command("cluster", "membership: show, join, leave, down")
        {
            host.Api(new Command("show", "members with status, roles and reachability; leader and oldest per role"), (c, _) => Show(c)),
            host.Api(new Command("join", "make the node join the cluster at ADDRESS") { join },
                (c, p) => Act(c, "api/cluster/join", new AddressRequest(p.GetRequiredValue(join)))),
            host.Api(new Command("leave", "make the member at ADDRESS (default: the node itself) leave gracefully") { leave },
                (c, p) => Act(c, "api/cluster/leave", new AddressRequest(p.GetValue(leave)))),
            host.Api(new Command("down", "mark the (unreachable) member at ADDRESS down so it is removed") { down },
                (c, p) => Act(c, "api/cluster/down", new AddressRequest(p.GetRequiredValue(down)))),
            host.Api(new Command("down-unreachable", "down every member the node sees as unreachable"), (c, _) => Act(c, "api/cluster/down-unreachable", null)),
        };
    }

    private static async Task<int> Show(CliContext c)
    {
        var (view, json) = await c.Client.GetAsync<ClusterView>("api/cluster");
        if (c.Json)
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

    internal static async Task<int> Act(CliContext c, string path, object? body)
    {
        var (result, json) = await c.Client.PostAsync<ActionResult>(path, body);
        if (c.Json) c.PrintJson(json);
        else c.Out.WriteLine(result.Message);
        return ExitCodes.Ok;
    }
}
