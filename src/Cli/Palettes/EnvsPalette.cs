using MegaFlow.Contracts;
using System.CommandLine;
using Spectre.Console;
using MegaFlow.Cli.CommandLine;
using MegaFlow.Contracts.Environments;
using MegaFlow.Contracts.Management;
using static MegaFlow.Cli.Palettes.Render;

namespace MegaFlow.Cli.Palettes;

/// <summary>`envs list | show | destroy`: the live environments of every worker.</summary>
internal static class EnvsPalette
{
    public static Command Command(CliHost host)
    {
        var status = new Option<string>("--status") { HelpName = "S", Description = "only this status (ready, leased, provisioning, resetting)" };
        var showId = new Argument<string>("ENV_ID") { Description = "the environment's id" };
        var destroyId = new Argument<string>("ENV_ID") { Description = "the environment's id" };
        var force = new Option<bool>("--force") { Description = "also when leased: its task retries elsewhere" };
        return new Command("envs", "the live environments of every worker")
        {
            host.Api(new Command("list", "live environments: status, node, pool, lease") { status }, (c, p) => List(c, p.GetValue(status))),
            host.Api(new Command("show", "one environment's full state") { showId }, (c, p) => Show(c, p.GetRequiredValue(showId))),
            host.Api(new Command("destroy", "destroy an environment (a leased one only with --force)") { destroyId, force },
                (c, p) => Destroy(c, p.GetRequiredValue(destroyId), p.GetValue(force))),
        };
    }

    private static async Task<int> List(CliContext c, string? status)
    {
        if (status is not null && !StatusNames.TryParseEnvironment(status, out _))
            throw new UsageException($"envs list: unknown status '{status}' (expected one of {StatusNames.ValidEnvironmentNames})");
        var (v, json) = await c.Client.GetAsync<EnvironmentList>("api/environments" + (status is null ? "" : $"?status={Uri.EscapeDataString(status)}"));
        if (c.Json)
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

    private static async Task<int> Show(CliContext c, string id)
    {
        var (_, json) = await c.Client.GetAsync<System.Text.Json.JsonElement>($"api/environments/{Uri.EscapeDataString(id)}");
        c.PrintJson(json); // the full state is a nested document: JSON is its clearest form
        return ExitCodes.Ok;
    }

    private static Task<int> Destroy(CliContext c, string id, bool force) =>
        ClusterPalette.Act(c, $"api/environments/{Uri.EscapeDataString(id)}/destroy{(force ? "?force=true" : "")}", null);
}
