using MegaFlow.Contracts;
using System.CommandLine;
using Spectre.Console;
using MegaFlow.Cli.CommandLine;
using MegaFlow.Contracts.Management;
using static MegaFlow.Cli.Palettes.Render;

namespace MegaFlow.Cli.Palettes;

/// <summary>`scheduler show` (queue, semaphores with holders, leases) and `pools`.</summary>
internal static class SchedulerPalette
{
    public static IEnumerable<Command> Commands(CliHost host)
    {
        var leases = new Option<bool>("--leases") { Description = "list every lease too" };
        return
        [
            new Command("scheduler", "the scheduler singleton's state")
            {
                host.Api(new Command("show", "queue depth, semaphores and their holders, quotas, nodes") { leases }, (c, p) => Show(c, p.GetValue(leases))),
            },
            host.Api(new Command("pools", "per pool: queued, running / cap, warm environments"), (c, _) => Pools(c)),
        ];
    }

    private static async Task<int> Show(CliContext c, bool leases)
    {
        var (v, json) = await c.Client.GetAsync<SchedulerView>("api/scheduler");
        if (c.Json)
        {
            c.PrintJson(json);
            return ExitCodes.Ok;
        }
        c.Console.WriteLine($"queue depth {v.QueueDepth}, running {v.Running}, starting {v.Starting}, worker nodes {v.Nodes.Count}");
        var t = Table("semaphore", "used / limit", "holders");
        foreach (var s in v.Semaphores)
        {
            var holders = s.Holders.Count <= 8 ? string.Join(" ", s.Holders) : string.Join(" ", s.Holders.Take(8)) + $" … (+{s.Holders.Count - 8})";
            t.AddRow(E(s.Name), $"{s.Used} / {(s.Limit >= 1_000_000 ? "∞" : s.Limit.ToString())}", E(holders));
        }
        c.Console.Write(t);
        if (v.Quotas is { Count: > 0 } quotas)
        {
            var q = Table("quota", "queued", "running / cap");
            foreach (var x in quotas)
                q.AddRow(E(x.Quota), x.Queued.ToString(), x.Configured ? $"{x.Running} / {x.Cap}" : $"{x.Running} / ∞ (not configured)");
            c.Console.Write(q);
        }
        if (leases)
        {
            var l = Table("task", "attempt", "pool", "quota", "mode", "environment", "node", "starting", "admitted");
            foreach (var x in v.Leases)
                l.AddRow(E(x.TaskId), x.Attempt.ToString(), E(x.Pool), E(x.Quota ?? ""), StatusNames.Format(x.Mode), E(x.EnvironmentId), E(x.Node), x.Starting ? "yes" : "", Time(x.AdmittedAt));
            c.Console.Write(l);
        }
        return ExitCodes.Ok;
    }

    private static async Task<int> Pools(CliContext c)
    {
        var (pools, json) = await c.Client.GetAsync<List<PoolView>>("api/scheduler/pools");
        if (c.Json)
        {
            c.PrintJson(json);
            return ExitCodes.Ok;
        }
        var t = Table("pool", "queued", "running / cap", "idle warm", "warm size / max");
        foreach (var x in pools)
            t.AddRow(E(x.Pool), x.Queued.ToString(), $"{x.Running} / {(x.Cap >= 1_000_000 ? "∞" : x.Cap.ToString())}", x.Idle.ToString(), $"{x.Size} / {x.MaxSize}");
        c.Console.Write(t);
        if (pools.Count == 0) c.Console.WriteLine("no pool has had a task yet");
        return ExitCodes.Ok;
    }
}
