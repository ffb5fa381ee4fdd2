using Spectre.Console;
using MegaFlow.Cli.CommandLine;
using MegaFlow.Contracts.Environments;
using MegaFlow.Contracts.Management;
using static MegaFlow.Cli.Palettes.Render;

namespace MegaFlow.Cli.Palettes;

/// <summary>`envs list | show | destroy`: the live environments of every worker.</summary>
internal static class EnvsPalette
{
    public static IEnumerable<CommandSpec> Commands() =>
    [
        new("envs", "list", "live environments: status, node, pool, lease", [], [new("status", "S", "only this status (ready, leased, provisioning, resetting)")], List),
        new("envs", "show", "one environment's full state", [new("ENV_ID")], [], Show),
        new("envs", "destroy", "destroy an environment (a leased one only with --force)", [new("ENV_ID")], [new("force", null, "also when leased: its task retries elsewhere")], Destroy),
    ];

    private static async Task<int> List(CliContext c, ParsedCommand p)
    {
        var status = p.Option("status");
        if (status is not null && (!Enum.TryParse<EnvironmentStatus>(status, true, out var s) || s == EnvironmentStatus.Unknown || int.TryParse(status, out _)))
            throw new UsageException($"envs list: unknown status '{status}' (expected one of {string.Join(", ", Enum.GetNames<EnvironmentStatus>().Skip(1).Select(n => n.ToLowerInvariant()))})");
        var (v, json) = await c.Client.GetAsync<EnvironmentList>("api/environments" + (status is null ? "" : $"?status={Uri.EscapeDataString(status)}"));
        if (p.Global.Json)
        {
            c.PrintJson(json);
            return ExitCodes.Ok;
        }
        var t = Table("environment", "status", "node", "pool", "mode", "leased to", "leases", "ready since", "problem");
        foreach (var e in v.Environments)
            t.AddRow(E(e.EnvironmentId), e.Status, E(e.Node), E(e.Pool), e.Mode ?? "", E(e.LeasedTo), e.Leases.ToString(), Time(e.ReadyAt), E(e.Problem));
        c.Console.Write(t);
        c.Console.WriteLine($"{v.Environments.Count} environment(s)");
        if (v.Failed.Count > 0) c.Console.MarkupLine($"[yellow]regions that did not answer:[/] {E(string.Join(", ", v.Failed))}");
        // Listed but silent (stuck, failing, or on an unreachable node): named, one a line, and still exit 0 with the rows.
        if (v.Unanswered.Count > 0)
        {
            c.Console.MarkupLine($"[yellow]{v.Unanswered.Count} environment(s) did not answer (status unknown):[/]");
            foreach (var u in v.Unanswered) c.Console.WriteLine($"  {u.EnvironmentId} on {u.Node}: {u.Reason}");
        }
        return ExitCodes.Ok;
    }

    private static async Task<int> Show(CliContext c, ParsedCommand p)
    {
        var (_, json) = await c.Client.GetAsync<System.Text.Json.JsonElement>($"api/environments/{Uri.EscapeDataString(p.Arg("ENV_ID"))}");
        c.PrintJson(json); // the full state is a nested document: JSON is its clearest form
        return ExitCodes.Ok;
    }

    private static Task<int> Destroy(CliContext c, ParsedCommand p) =>
        ClusterPalette.Act(c, p, $"api/environments/{Uri.EscapeDataString(p.Arg("ENV_ID"))}/destroy{(p.Flag("force") ? "?force=true" : "")}", null);
}
