namespace MegaFlow.Hosting;

/// <summary>Which journal a node uses.</summary>
public enum PersistenceBackend
{
    Sqlite,
    Postgres,
}

/// <summary>
/// Everything that differs between deployments of the one `megaflow` binary: single node, containers,
/// VMs. Built from environment variables (<see cref="FromEnvironment"/>) or by tests directly.
/// Everything else lives in hocon/megaflow.conf.
/// </summary>
public sealed record NodeSettings
{
    public string SystemName { get; init; } = "megaflow";

    /// <summary>Address to bind.</summary>
    public string Hostname { get; init; } = "127.0.0.1";

    /// <summary>Address other nodes use to reach this one (e.g. a VM's DNS name); defaults to <see cref="Hostname"/>.</summary>
    public string? PublicHostname { get; init; }

    /// <summary>0 picks a free port (tests).</summary>
    public int Port { get; init; } = 4053;

    /// <summary>Seed node addresses ("akka.tcp://megaflow@host:port"); empty means this node founds a cluster of its own.</summary>
    public IReadOnlyList<string> Seeds { get; init; } = [];

    public IReadOnlyList<string> Roles { get; init; } = ["scheduler", "worker"];

    public PersistenceBackend Persistence { get; init; } = PersistenceBackend.Sqlite;

    /// <summary>For PostgreSQL; SQLite's is derived from <see cref="DataDir"/> unless given.</summary>
    public string? ConnectionString { get; init; }

    public string DataDir { get; init; } = "./data";

    /// <summary>"local", "simulated" or "docker".</summary>
    public string Provider { get; init; } = "local";

    /// <summary>Docker engine endpoint (megaflow.docker.endpoint) when set.</summary>
    public string? DockerEndpoint { get; init; }

    /// <summary>Images the Docker provider makes present at start (megaflow.docker.prepull) when set.</summary>
    public IReadOnlyList<string>? DockerPrepull { get; init; }

    /// <summary>Artifacts in an S3-compatible bucket (megaflow.artifacts.store = s3) when set; null keeps the local folder.</summary>
    public S3Location? S3Artifacts { get; init; }

    /// <summary>Extra HOCON that wins over the files (tests and benchmarks tune intervals with it).</summary>
    public string? ExtraHocon { get; init; }

    /// <summary>Where this node listens and whom it joins.</summary>
    public MegaFlow.Protocol.ClusterEndpoint Endpoint => new(Hostname, PublicHostname, Port, Roles, Seeds);

    public string SqliteConnectionString =>
        ConnectionString ?? $"Data Source={Path.GetFullPath(Path.Combine(DataDir, "megaflow.db"))}";

    /// <summary>
    /// Reads MEGAFLOW_* variables over the defaults. Invalid values throw with the variable's name,
    /// so a typo in a deployment fails at start, not later.
    /// </summary>
    public static NodeSettings FromEnvironment(Func<string, string?>? get = null)
    {
        get ??= Environment.GetEnvironmentVariable;
        var s = new NodeSettings();
        string? V(string name) => string.IsNullOrWhiteSpace(get(name)) ? null : get(name)!.Trim();

        if (V("MEGAFLOW_HOSTNAME") is { } host) s = s with { Hostname = host };
        if (V("MEGAFLOW_PUBLIC_HOSTNAME") is { } pub) s = s with { PublicHostname = pub };
        if (V("MEGAFLOW_PORT") is { } port)
            s = s with { Port = int.TryParse(port, out var p) && p is >= 0 and <= 65535 ? p : throw new ArgumentException($"MEGAFLOW_PORT: '{port}' is not a port number (0-65535)") };
        if (V("MEGAFLOW_SEEDS") is { } seeds)
            s = s with { Seeds = seeds.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ValidateSeed).ToList() };
        if (V("MEGAFLOW_ROLES") is { } roles)
            s = s with { Roles = roles.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ValidateRole).ToList() };
        if (V("MEGAFLOW_PERSISTENCE") is { } persistence)
            s = s with
            {
                Persistence = persistence.ToLowerInvariant() switch
                {
                    "sqlite" => PersistenceBackend.Sqlite,
                    "postgres" or "postgresql" => PersistenceBackend.Postgres,
                    _ => throw new ArgumentException($"MEGAFLOW_PERSISTENCE: unknown backend '{persistence}' (expected sqlite or postgres)"),
                },
            };
        if (V("MEGAFLOW_CONNECTION_STRING") is { } cs) s = s with { ConnectionString = cs };
        if (V("MEGAFLOW_DATA_DIR") is { } dir) s = s with { DataDir = dir };
        if (V("MEGAFLOW_CONFIG") is { } file)
            s = s with
            {
                ExtraHocon = File.Exists(file)
                    ? File.ReadAllText(file)
                    : throw new ArgumentException($"MEGAFLOW_CONFIG: file '{file}' does not exist"),
            };
        if (V("MEGAFLOW_PROVIDER") is { } provider)
            s = s with { Provider = provider is "local" or "simulated" or "docker" ? provider : throw new ArgumentException($"MEGAFLOW_PROVIDER: unknown provider '{provider}' (expected local, simulated or docker)") };
        if (V("MEGAFLOW_DOCKER_ENDPOINT") is { } endpoint)
            s = s with
            {
                DockerEndpoint = Uri.TryCreate(endpoint, UriKind.Absolute, out var eu) && eu.Scheme is "unix" or "tcp" or "http"
                    ? endpoint
                    : throw new ArgumentException($"MEGAFLOW_DOCKER_ENDPOINT: '{endpoint}' is not unix:///path or tcp://host:port"),
            };
        if (V("MEGAFLOW_DOCKER_PREPULL") is { } prepull)
            s = s with { DockerPrepull = prepull.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) };
        if (V("MEGAFLOW_ARTIFACTS") is { } store)
            s = store switch
            {
                "local" => s with { S3Artifacts = null },
                "s3" => s with
                {
                    S3Artifacts = new S3Location(
                        V("MEGAFLOW_S3_ENDPOINT") is { } url && !Uri.TryCreate(url, UriKind.Absolute, out _)
                            ? throw new ArgumentException($"MEGAFLOW_S3_ENDPOINT: '{url}' is not an absolute URL like http://s3:4568")
                            : V("MEGAFLOW_S3_ENDPOINT") ?? "",
                        V("MEGAFLOW_S3_BUCKET") ?? throw new ArgumentException("MEGAFLOW_S3_BUCKET is required when MEGAFLOW_ARTIFACTS=s3"),
                        V("MEGAFLOW_S3_PREFIX") ?? ""),
                },
                _ => throw new ArgumentException($"MEGAFLOW_ARTIFACTS: unknown store '{store}' (expected local or s3)"),
            };
        if (s.Persistence == PersistenceBackend.Postgres && s.ConnectionString is null)
            throw new ArgumentException("MEGAFLOW_CONNECTION_STRING is required when MEGAFLOW_PERSISTENCE=postgres");
        return s;
    }

    private static string ValidateSeed(string seed) =>
        Uri.TryCreate(seed, UriKind.Absolute, out var u) && u.Scheme == "akka.tcp" && u.Port > 0
            ? seed
            : throw new ArgumentException($"MEGAFLOW_SEEDS: '{seed}' is not an address like akka.tcp://megaflow@host:4053");

    private static string ValidateRole(string role) =>
        role is "scheduler" or "worker" or "trainer" or "client" or "model"
            ? role
            : throw new ArgumentException($"MEGAFLOW_ROLES: unknown role '{role}' (expected scheduler, worker, trainer, client or model)");
}

/// <summary>An S3-compatible bucket for artifacts: service URL (empty: AWS), bucket and key prefix. Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.</summary>
public sealed record S3Location(string Endpoint, string Bucket, string Prefix);
