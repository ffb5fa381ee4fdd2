using System.Globalization;

namespace MegaFlow.Chaos;

/// <summary>What one chaos run does: cluster size, workload, fault schedule, bounds and where results go.</summary>
public sealed record ChaosOptions
{
    /// <summary>The local server scripts/postgres.sh starts (user megaflow); MEGAFLOW_TEST_POSTGRES overrides it.</summary>
    public const string DefaultPostgres = "Host=127.0.0.1;Port=5432;Username=megaflow;Password=megaflow;Database=postgres";

    public int Nodes { get; init; } = 3;
    public int Tasks { get; init; } = 300;

    /// <summary>Rounds of kill -9 and restart.</summary>
    public int Kills { get; init; } = 5;

    /// <summary>How many of the rounds kill the node hosting the scheduler singleton (the others kill another node).</summary>
    public int SchedulerKills { get; init; } = 2;

    /// <summary>A killed node is started again after a random delay in this range (same address, same data dir).</summary>
    public TimeSpan RestartMin { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan RestartMax { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Pause after the cluster is whole again before the next round.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Delay from the end of submission to the first fault.</summary>
    public TimeSpan FirstFaultAfter { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>PostgreSQL stopped this long in the middle of the schedule (a private server the harness owns); zero for none.</summary>
    public TimeSpan PostgresOutage { get; init; } = TimeSpan.Zero;

    /// <summary>local or docker.</summary>
    public string Provider { get; init; } = "local";

    /// <summary>Mean seconds each task sleeps in its environment, so the work spans the fault schedule.</summary>
    public double TaskSeconds { get; init; } = 6;

    /// <summary>Scheduler slots per node (megaflow.scheduler.slots-per-node).</summary>
    public int SlotsPerNode { get; init; } = 8;

    /// <summary>How long to wait for every task to be terminal after submission.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How long the drain waits for no live environment (after asking for warm pools to be destroyed).</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Admin connection to the PostgreSQL server the run creates its database on.</summary>
    public string Postgres { get; init; } = Environment.GetEnvironmentVariable("MEGAFLOW_TEST_POSTGRES") is { Length: > 0 } cs ? cs : DefaultPostgres;

    /// <summary>Also run a fault-free run of the same size first and report its wall time beside the chaos run's.</summary>
    public bool Baseline { get; init; }

    public int Seed { get; init; } = Environment.TickCount;

    /// <summary>Invariant: no single actor logs more error lines than this (null: reported only).</summary>
    public int? MaxActorErrorLines { get; init; }

    /// <summary>Invariant: the nodes' logs together stay under this many bytes (null: reported only).</summary>
    public long? MaxLogBytes { get; init; }

    /// <summary>Each node's log file stops growing here (lines are still counted), so a crash loop cannot fill the disk.</summary>
    public long LogCapBytes { get; init; } = 200L << 20;

    /// <summary>Extra HOCON appended to every node's MEGAFLOW_CONFIG overlay.</summary>
    public string? Hocon { get; init; }

    /// <summary>Markdown report file.</summary>
    public string? Out { get; init; }

    /// <summary>Run folder (node data, logs); default a fresh folder under the temp directory.</summary>
    public string? WorkDir { get; init; }

    /// <summary>Keep the run folder and the database even when every invariant held.</summary>
    public bool Keep { get; init; }

    /// <summary>Keep the node logs of a run where an invariant failed (its scratch folders go either way).</summary>
    public bool KeepLogsOnFailure { get; init; } = true;

    /// <summary>Keep the database of a run where an invariant failed, to query it (the CLI does; the tests do not).</summary>
    public bool KeepDatabaseOnFailure { get; init; } = true;

    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(5);

    public const string Usage = """
        usage: MegaFlow.Chaos [options]
          --nodes N              node processes, all roles scheduler,worker, seeds on the first two (3)
          --tasks N              tasks submitted (300), ephemeral and persistent, small shell tasks
          --kills N              rounds of kill -9 + restart after 5-10 s, same address and data dir (5)
          --scheduler-kills N    of those, rounds that kill the node hosting the scheduler singleton (2)
          --restart-after A-B    restart delay range in seconds (5-10)
          --interval S           pause once the cluster is whole again before the next round (3)
          --first-fault-after S  delay from the end of submission to the first fault (5)
          --pg-outage S          stop PostgreSQL for S seconds mid-schedule (a private server the harness starts) (0)
          --provider local|docker
          --task-seconds S       mean seconds each task sleeps in its environment (6)
          --slots-per-node N     scheduler slots per node (8)
          --deadline S           wait at most S seconds for every task to be terminal (600)
          --drain S              wait at most S seconds for no live environment after the run (60)
          --postgres CONN        admin connection string (MEGAFLOW_TEST_POSTGRES, else the local server)
          --baseline             also run the same size without faults first; report both
          --seed N               random seed of the fault schedule
          --max-actor-errors N   invariant: no actor logs more than N error lines
          --max-log-mb N         invariant: the nodes' logs total under N MiB
          --hocon FILE           extra HOCON for every node
          --out FILE             also write the report as Markdown
          --work-dir DIR         run folder (default under the temp directory)
          --keep                 keep the run folder and database
        exit code: 0 every invariant held, 1 an invariant failed, 2 bad arguments or the run could not start
        """;

    public static ChaosOptions Parse(IReadOnlyList<string> args)
    {
        var o = new ChaosOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{name} needs a value");
            int Int(int min)
            {
                var v = Value();
                return int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min
                    ? n
                    : throw new ArgumentException($"{name}: '{v}' is not a whole number ≥ {min}");
            }
            double Seconds(double min)
            {
                var v = Value();
                return double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d >= min
                    ? d
                    : throw new ArgumentException($"{name}: '{v}' is not a number of seconds ≥ {min}");
            }
            o = name switch
            {
                "--nodes" => o with { Nodes = Int(1) },
                "--tasks" => o with { Tasks = Int(1) },
                "--kills" => o with { Kills = Int(0) },
                "--scheduler-kills" => o with { SchedulerKills = Int(0) },
                "--restart-after" => RestartRange(o, name, Value()),
                "--interval" => o with { Interval = TimeSpan.FromSeconds(Seconds(0)) },
                "--first-fault-after" => o with { FirstFaultAfter = TimeSpan.FromSeconds(Seconds(0)) },
                "--pg-outage" => o with { PostgresOutage = TimeSpan.FromSeconds(Seconds(0)) },
                "--provider" => o with { Provider = Value() is var p && p is "local" or "docker" ? p : throw new ArgumentException("--provider: expected local or docker") },
                "--task-seconds" => o with { TaskSeconds = Seconds(0) },
                "--slots-per-node" => o with { SlotsPerNode = Int(1) },
                "--deadline" => o with { Deadline = TimeSpan.FromSeconds(Seconds(1)) },
                "--drain" => o with { DrainTimeout = TimeSpan.FromSeconds(Seconds(0)) },
                "--postgres" => o with { Postgres = Value() },
                "--baseline" => o with { Baseline = true },
                "--seed" => o with { Seed = Int(int.MinValue) },
                "--max-actor-errors" => o with { MaxActorErrorLines = Int(0) },
                "--max-log-mb" => o with { MaxLogBytes = (long)Int(1) << 20 },
                "--hocon" => o with { Hocon = ReadFile(name, Value()) },
                "--out" => o with { Out = Value() },
                "--work-dir" => o with { WorkDir = Value() },
                "--keep" => o with { Keep = true },
                _ => throw new ArgumentException($"unknown option '{name}'"),
            };
        }
        return o.Validate();
    }

    public ChaosOptions Validate()
    {
        if (SchedulerKills > Kills) throw new ArgumentException($"--scheduler-kills ({SchedulerKills}) cannot exceed --kills ({Kills})");
        if (Kills > 0 && Nodes < 3) throw new ArgumentException("kills need at least 3 nodes: with fewer, one dead node is no longer a minority and the split brain resolver downs the rest");
        if (RestartMax < RestartMin) throw new ArgumentException("--restart-after: the upper bound is below the lower one");
        return this;
    }

    private static string ReadFile(string name, string path) =>
        File.Exists(path) ? File.ReadAllText(path) : throw new ArgumentException($"{name}: file '{path}' does not exist");

    private static ChaosOptions RestartRange(ChaosOptions o, string name, string v)
    {
        var parts = v.Split('-');
        if (parts.Length == 2 && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var a)
                              && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var b) && a >= 0 && b >= a)
            return o with { RestartMin = TimeSpan.FromSeconds(a), RestartMax = TimeSpan.FromSeconds(b) };
        throw new ArgumentException($"{name}: '{v}' is not a range of seconds like 5-10");
    }
}
