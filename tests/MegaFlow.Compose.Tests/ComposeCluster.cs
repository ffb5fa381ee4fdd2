using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MegaFlow.Contracts;
using MegaFlow.Contracts.Management;
using MegaFlow.Hosting;
using MegaFlow.Verification;
using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Compose.Tests;

/// <summary>
/// The cluster of docker/docker-compose.yml, brought up once for the test class as a user would
/// (`docker-compose up -d`), under its own project name and on host ports apart from the compose
/// defaults, so a developer's own compose cluster is not touched. Images come from
/// scripts/compose-images.sh; a missing one fails the tests (never skips them).
/// </summary>
public sealed class ComposeCluster : IAsyncLifetime
{
    public const string Project = "megaflow-compose-test";
    public const int ApiPort = 18558, PostgresPort = 15433, S3Port = 14569, ModelPort = 18001;
    public const string Token = "compose-test-token";
    public const int Workers = 3;
    /// <summary>Seeds (scheduler), workers, model, trainer.</summary>
    public static int Members(int workers) => 2 + workers + 2;

    private static readonly string[] Images = ["megaflow/node:local", "megaflow/postgres:17", "megaflow/s3rver:3.7.1"];
    private readonly string _root = RepositoryRoot();
    private HashSet<string> _othersBefore = [];

    public HttpClient Api { get; } = new() { BaseAddress = new Uri($"http://127.0.0.1:{ApiPort}/"), Timeout = TimeSpan.FromMinutes(2) };
    public string JournalConnectionString => $"Host=127.0.0.1;Port={PostgresPort};Username=megaflow;Password=megaflow;Database=megaflow;Timeout=30";
    public string S3Endpoint => $"http://127.0.0.1:{S3Port}";
    public TimeSpan StartedIn { get; private set; }
    /// <summary>Submissions answered 5xx and sent again (reported by the tests).</summary>
    public List<string> Resubmissions { get; } = [];

    public async Task InitializeAsync()
    {
        foreach (var image in Images)
            if ((await RunAsync("docker", ["image", "inspect", image], TimeSpan.FromSeconds(30))).Exit != 0)
                throw new InvalidOperationException($"image {image} is missing: run `bash scripts/compose-images.sh` first");
        Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        await ComposeAsync(["down", "-v", "--timeout", "5"], TimeSpan.FromMinutes(3)); // leftovers of an interrupted run
        _othersBefore = [.. await ContainersAsync(project: false)];
        var started = Stopwatch.StartNew();
        await ComposeAsync(["up", "-d"], TimeSpan.FromMinutes(12));
        await WaitAllHealthyAsync(Members(Workers) + 2, TimeSpan.FromMinutes(8));
        StartedIn = started.Elapsed;
    }

    public async Task DisposeAsync()
    {
        await ComposeAsync(["down", "-v", "--timeout", "40"], TimeSpan.FromMinutes(5), check: false);
        Api.Dispose();
    }

    // ---- docker-compose and docker ----

    public async Task<string> ComposeAsync(IReadOnlyList<string> args, TimeSpan timeout, bool check = true)
    {
        var result = await RunAsync("docker-compose", ["-p", Project, "-f", Path.Combine(_root, "docker", "docker-compose.yml"), .. args], timeout, new()
        {
            ["MEGAFLOW_COMPOSE_API_PORT"] = ApiPort.ToString(),
            ["MEGAFLOW_COMPOSE_POSTGRES_PORT"] = PostgresPort.ToString(),
            ["MEGAFLOW_COMPOSE_S3_PORT"] = S3Port.ToString(),
            ["MEGAFLOW_COMPOSE_MODEL_PORT"] = ModelPort.ToString(),
            ["MEGAFLOW_MANAGEMENT_TOKEN"] = Token,
        });
        if (check && result.Exit != 0)
            throw new InvalidOperationException($"docker-compose {string.Join(' ', args)} exited {result.Exit}: {result.Output}");
        return result.Output;
    }

    public async Task<string> DockerAsync(params string[] args)
    {
        var result = await RunAsync("docker", args, TimeSpan.FromMinutes(3));
        if (result.Exit != 0) throw new InvalidOperationException($"docker {string.Join(' ', args)} exited {result.Exit}: {result.Output}");
        return result.Output.Trim();
    }

    /// <summary>Container ids: of this project (optionally one service), or (project: false) every other container.</summary>
    public async Task<List<string>> ContainersAsync(string? service = null, bool project = true, bool running = false)
    {
        var args = new List<string> { "ps", "-q", "--no-trunc" };
        if (!running) args.Add("-a");
        if (project)
        {
            args.AddRange(["--filter", $"label=com.docker.compose.project={Project}"]);
            if (service is not null) args.AddRange(["--filter", $"label=com.docker.compose.service={service}"]);
        }
        var ids = (await DockerAsync([.. args])).Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        if (project) return ids;
        var mine = await ContainersAsync();
        return ids.Except(mine).ToList();
    }

    public IReadOnlySet<string> OtherContainersBefore => _othersBefore;

    public async Task<string> AddressAsync(string container) =>
        await DockerAsync("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", container);

    public async Task<string> NetworkAsync(string container) =>
        await DockerAsync("inspect", "-f", "{{range $name, $_ := .NetworkSettings.Networks}}{{$name}}{{end}}", container);

    public async Task<string> HealthAsync(string container) =>
        await DockerAsync("inspect", "-f", "{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}", container);

    /// <summary>Waits until this many containers of the project run and report healthy (nodes: GET /ready is 200).</summary>
    public async Task WaitAllHealthyAsync(int expected, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var states = new List<string>();
        while (DateTime.UtcNow < deadline)
        {
            states.Clear();
            foreach (var id in await ContainersAsync(running: true))
                states.Add($"{await DockerAsync("inspect", "-f", "{{.Name}}", id)} {await HealthAsync(id)}");
            if (states.Count == expected && states.All(s => s.EndsWith("running/healthy", StringComparison.Ordinal))) return;
            await Task.Delay(2000);
        }
        throw new TimeoutException($"after {timeout.TotalSeconds:F0} s, {expected} healthy containers expected: {string.Join(", ", states)}");
    }

    public async Task<string> LogsAsync(int tail = 60) =>
        await ComposeAsync(["logs", "--no-color", $"--tail={tail}"], TimeSpan.FromMinutes(1), check: false);

    // ---- the management API of seed-1 ----

    public sealed record Member(string Address, string Status, IReadOnlyList<string> Roles);

    public async Task<List<Member>> MembersAsync()
    {
        using var doc = JsonDocument.Parse(await Api.GetStringAsync("api/cluster"));
        return doc.RootElement.GetProperty("members").EnumerateArray()
            .Select(m => new Member(m.GetProperty("address").GetString()!, m.GetProperty("status").GetString()!,
                m.GetProperty("roles").EnumerateArray().Select(r => r.GetString()!).ToList()))
            .ToList();
    }

    /// <summary>Polls the cluster view of seed-1 until <paramref name="done"/> holds.</summary>
    public async Task<List<Member>> WaitForMembersAsync(Func<List<Member>, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        List<Member> members = [];
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                members = await MembersAsync();
                if (done(members)) return members;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            await Task.Delay(1000);
        }
        throw new TimeoutException($"{what} not seen within {timeout.TotalSeconds:F0} s; members: " +
            string.Join(", ", members.Select(m => $"{m.Address} {m.Status} [{string.Join(',', m.Roles)}]")));
    }

    /// <summary>Tasks whose every round takes a while and prints more than the journal keeps inline
    /// (inline-output-bytes, 2 KiB), so each round's output is an object in the bucket.</summary>
    public async Task SubmitAsync(IReadOnlyList<string> ids, int rounds, double secondsPerRound)
    {
        var specs = ids.Select(id => new
        {
            taskId = id,
            mode = "ephemeral",
            image = "local",
            actions = Enumerable.Range(1, rounds).Select(r => $"sleep {secondsPerRound}; head -c 3000 /dev/zero | tr '\\0' {(char)('a' + r % 26)}").ToArray(),
            scoreCommand = "true",
            maxRounds = rounds,
        }).ToList();
        // Batches of 50: on 2 cores with nine containers busy, a submission waits for CPU like everything else.
        foreach (var batch in specs.Chunk(50))
        {
            // Submission is idempotent by task id, so a batch that timed out (a shard moving to a node that
            // just joined can hold a submission past the API's 30 s) is sent again, as a client would.
            for (var attempt = 1; ; attempt++)
            {
                using var response = await Api.PostAsJsonAsync("api/tasks", batch);
                var body = await response.Content.ReadAsStringAsync();
                if (response.IsSuccessStatusCode) break;
                Assert.True(attempt < 3 && (int)response.StatusCode >= 500, $"POST /api/tasks (attempt {attempt}): {(int)response.StatusCode} {body}");
                Resubmissions.Add($"{(int)response.StatusCode} {body}");
            }
        }
    }

    public async Task<List<TaskRow>> TasksAsync(string idPrefix)
    {
        var list = await Api.GetFromJsonAsync<TaskList>($"api/tasks?q={Uri.EscapeDataString(idPrefix)}&limit=100000", ManagementJson.Options);
        return list!.Tasks.Where(t => t.TaskId.StartsWith(idPrefix, StringComparison.Ordinal)).ToList();
    }

    /// <summary>Waits until every task is terminal in the read model; returns the rows.</summary>
    public async Task<List<TaskRow>> WaitFinishedAsync(string idPrefix, int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        List<TaskRow> rows = [];
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                rows = await TasksAsync(idPrefix);
                if (rows.Count == count && rows.All(r => StatusNames.ParseTask(r.Status).IsTerminal())) return rows;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            await Task.Delay(2000);
        }
        throw new TimeoutException($"{count} tasks '{idPrefix}*' not all finished within {timeout.TotalSeconds:F0} s: " +
            string.Join(", ", rows.GroupBy(r => r.Status).Select(g => $"{g.Count()} {g.Key}")) + $" of {rows.Count} listed");
    }

    /// <summary>The tasks' histories as the PostgreSQL journal has them (not the API's view).</summary>
    public async Task<RunVerification> VerifyJournalAsync(IReadOnlyCollection<string> ids)
    {
        var entries = await new JournalReader(PersistenceBackend.Postgres, JournalConnectionString).ReadAllAsync();
        return JournalVerifier.Verify(entries, ids, new());
    }

    // ---- processes ----

    public static async Task<(int Exit, string Output)> RunAsync(string file, IReadOnlyList<string> args, TimeSpan timeout, Dictionary<string, string>? env = null)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? []) info.Environment[k] = v;
        using var process = Process.Start(info)!;
        var output = new StringBuilder();
        var stdout = Task.Run(async () => { while (await process.StandardOutput.ReadLineAsync() is { } line) lock (output) output.AppendLine(line); });
        var stderr = Task.Run(async () => { while (await process.StandardError.ReadLineAsync() is { } line) lock (output) output.AppendLine(line); });
        using var cts = new CancellationTokenSource(timeout);
        try { await process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds:F0} s: {output}");
        }
        await Task.WhenAll(stdout, stderr);
        return (process.ExitCode, output.ToString());
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MegaFlow.Akka.sln"))) return dir.FullName;
        throw new InvalidOperationException("MegaFlow.Akka.sln not found above " + AppContext.BaseDirectory);
    }
}
