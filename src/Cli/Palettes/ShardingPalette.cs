using Spectre.Console;
using MegaFlow.Cli.CommandLine;
using MegaFlow.Contracts.Management;
using static MegaFlow.Cli.Palettes.Render;

namespace MegaFlow.Cli.Palettes;

/// <summary>`sharding types | regions | stats | shards | locate`, as in pbm's sharding palette.</summary>
internal static class ShardingPalette
{
    public static IEnumerable<CommandSpec> Commands() =>
    [
        new("sharding", "types", "the sharded entity types (task, environment)", [], [], Types),
        new("sharding", "regions", "the nodes hosting a region of TYPE", [new("TYPE")], [], Regions),
        new("sharding", "stats", "shards and entities per region of TYPE", [new("TYPE")], [], Stats),
        new("sharding", "shards", "every shard of TYPE, where it lives and its entity count", [new("TYPE")], [new("entities", null, "list the entity ids too")], Shards),
        new("sharding", "locate", "the shard and node of one entity", [new("TYPE"), new("ENTITY_ID")], [], Locate),
    ];

    private static async Task<int> Types(CliContext c, ParsedCommand p)
    {
        var (v, json) = await c.Client.GetAsync<ShardingTypes>("api/sharding");
        if (p.Global.Json) c.PrintJson(json);
        else foreach (var t in v.Types) c.Out.WriteLine(t);
        return ExitCodes.Ok;
    }

    private static async Task<int> Regions(CliContext c, ParsedCommand p)
    {
        var (v, json) = await c.Client.GetAsync<ShardingRegions>($"api/sharding/{Uri.EscapeDataString(p.Arg("TYPE"))}/regions");
        if (p.Global.Json) c.PrintJson(json);
        else foreach (var r in v.Regions) c.Out.WriteLine(r);
        return ExitCodes.Ok;
    }

    private static async Task<int> Stats(CliContext c, ParsedCommand p)
    {
        var (v, json) = await c.Client.GetAsync<ShardingStats>($"api/sharding/{Uri.EscapeDataString(p.Arg("TYPE"))}/stats");
        if (p.Global.Json)
        {
            c.PrintJson(json);
            return ExitCodes.Ok;
        }
        var t = Table("region", "shards", "entities");
        foreach (var r in v.Regions) t.AddRow(E(r.Address), r.Shards.ToString(), r.Entities.ToString());
        t.AddRow("[bold]total[/]", $"[bold]{v.Regions.Sum(r => r.Shards)}[/]", $"[bold]{v.Regions.Sum(r => r.Entities)}[/]");
        c.Console.Write(t);
        if (v.Failed.Count > 0) c.Console.MarkupLine($"[yellow]did not answer:[/] {E(string.Join(", ", v.Failed))}");
        return ExitCodes.Ok;
    }

    private static async Task<int> Shards(CliContext c, ParsedCommand p)
    {
        var entities = p.Flag("entities");
        var (v, json) = await c.Client.GetAsync<ShardingShards>($"api/sharding/{Uri.EscapeDataString(p.Arg("TYPE"))}/shards{(entities ? "?entities=true" : "")}");
        if (p.Global.Json)
        {
            c.PrintJson(json);
            return ExitCodes.Ok;
        }
        var t = entities ? Table("region", "shard", "entities", "ids") : Table("region", "shard", "entities");
        foreach (var r in v.Regions)
            foreach (var s in r.Shards)
            {
                if (entities) t.AddRow(E(r.Address), E(s.ShardId), s.Entities.ToString(), E(string.Join(" ", s.EntityIds ?? [])));
                else t.AddRow(E(r.Address), E(s.ShardId), s.Entities.ToString());
            }
        c.Console.Write(t);
        if (v.Failed.Count > 0) c.Console.MarkupLine($"[yellow]did not answer:[/] {E(string.Join(", ", v.Failed))}");
        return ExitCodes.Ok;
    }

    private static async Task<int> Locate(CliContext c, ParsedCommand p)
    {
        var (v, json) = await c.Client.GetAsync<EntityLocation>(
            $"api/sharding/{Uri.EscapeDataString(p.Arg("TYPE"))}/locate/{Uri.EscapeDataString(p.Arg("ENTITY_ID"))}");
        if (p.Global.Json) c.PrintJson(json);
        else c.Out.WriteLine(v.Address is null
            ? $"{v.Type} {v.EntityId}: shard {v.ShardId}, not allocated to any region yet"
            : $"{v.Type} {v.EntityId}: shard {v.ShardId} on {v.Address} ({(v.Active ? "entity running" : "entity not running")})");
        return ExitCodes.Ok;
    }
}
