using System.CommandLine;
using Spectre.Console;
using MegaFlow.Cli.CommandLine;
using MegaFlow.Contracts.Management;
using static MegaFlow.Cli.Palettes.Render;

namespace MegaFlow.Cli.Palettes;

/// <summary>`sharding types | regions | stats | shards | locate`, as in pbm's sharding palette.</summary>
internal static class ShardingPalette
{
    public static Command Command(CliHost host)
    {
        static Argument<string> Type() => new("TYPE") { Description = "a sharded entity type (see `sharding types`)" };
        var regionsType = Type();
        var statsType = Type();
        var shardsType = Type();
        var entities = new Option<bool>("--entities") { Description = "list the entity ids too" };
        var locateType = Type();
        var entityId = new Argument<string>("ENTITY_ID") { Description = "the entity's id (a task id, an environment id)" };
        return new Command("sharding", "sharded entity types, their regions, shards and entities")
        {
            host.Api(new Command("types", "the sharded entity types (task, environment)"), (c, _) => Types(c)),
            host.Api(new Command("regions", "the nodes hosting a region of TYPE") { regionsType }, (c, p) => Regions(c, p.GetRequiredValue(regionsType))),
            host.Api(new Command("stats", "shards and entities per region of TYPE") { statsType }, (c, p) => Stats(c, p.GetRequiredValue(statsType))),
            host.Api(new Command("shards", "every shard of TYPE, where it lives and its entity count") { shardsType, entities },
                (c, p) => Shards(c, p.GetRequiredValue(shardsType), p.GetValue(entities))),
            host.Api(new Command("locate", "the shard and node of one entity") { locateType, entityId },
                (c, p) => Locate(c, p.GetRequiredValue(locateType), p.GetRequiredValue(entityId))),
        };
    }

    private static async Task<int> Types(CliContext c)
    {
        var (v, json) = await c.Client.GetAsync<ShardingTypes>("api/sharding");
        if (c.Json) c.PrintJson(json);
        else foreach (var t in v.Types) c.Out.WriteLine(t);
        return ExitCodes.Ok;
    }

    private static async Task<int> Regions(CliContext c, string type)
    {
        var (v, json) = await c.Client.GetAsync<ShardingRegions>($"api/sharding/{Uri.EscapeDataString(type)}/regions");
        if (c.Json) c.PrintJson(json);
        else foreach (var r in v.Regions) c.Out.WriteLine(r);
        return ExitCodes.Ok;
    }

    private static async Task<int> Stats(CliContext c, string type)
    {
        var (v, json) = await c.Client.GetAsync<ShardingStats>($"api/sharding/{Uri.EscapeDataString(type)}/stats");
        if (c.Json)
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

    private static async Task<int> Shards(CliContext c, string type, bool entities)
    {
        var (v, json) = await c.Client.GetAsync<ShardingShards>($"api/sharding/{Uri.EscapeDataString(type)}/shards{(entities ? "?entities=true" : "")}");
        if (c.Json)
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

    private static async Task<int> Locate(CliContext c, string type, string entityId)
    {
        var (v, json) = await c.Client.GetAsync<EntityLocation>(
            $"api/sharding/{Uri.EscapeDataString(type)}/locate/{Uri.EscapeDataString(entityId)}");
        if (c.Json) c.PrintJson(json);
        else c.Out.WriteLine(v.Address is null
            ? $"{v.Type} {v.EntityId}: shard {v.ShardId}, not allocated to any region yet"
            : $"{v.Type} {v.EntityId}: shard {v.ShardId} on {v.Address} ({(v.Active ? "entity running" : "entity not running")})");
        return ExitCodes.Ok;
    }
}
