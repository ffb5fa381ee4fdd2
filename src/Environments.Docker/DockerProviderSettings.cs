namespace MegaFlow.Environments.Docker;

/// <summary>Registry credentials for pulls (Docker's AuthConfig).</summary>
public sealed record RegistryCredentials(string ServerAddress, string Username, string Password);

/// <summary>How the Docker provider reaches its engine and what it creates there.</summary>
public sealed record DockerProviderSettings
{
    /// <summary>Engine endpoint: unix:///var/run/docker.sock (default) or tcp://host:2375.</summary>
    public string Endpoint { get; init; } = "unix:///var/run/docker.sock";

    /// <summary>
    /// Value of the <c>megaflow.cluster</c> label on every container. Orphan removal only ever
    /// touches containers carrying this cluster's label and this node's label.
    /// </summary>
    public string Cluster { get; init; } = "megaflow";

    /// <summary>Value of the <c>megaflow.node</c> label ("host:port" of the node that created the container).</summary>
    public string Node { get; init; } = "local";

    /// <summary>
    /// The container's main process. It must run forever and survive any exec; tini (Docker's
    /// <c>--init</c>) runs it as PID 1's child and reaps the zombies that agents' commands leave.
    /// </summary>
    public IReadOnlyList<string> KeepAliveCommand { get; init; } = ["tail", "-f", "/dev/null"];

    /// <summary>
    /// Capabilities added back after dropping ALL: enough for package managers and file ownership
    /// inside the container, nothing that reaches the host (no NET_ADMIN, SYS_ADMIN, ...).
    /// </summary>
    public IReadOnlyList<string> CapAdd { get; init; } = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETGID", "SETUID", "KILL"];

    /// <summary>Creates in flight at once on this engine (the scheduler's starting semaphore is cluster-wide).</summary>
    public int MaxConcurrentCreates { get; init; } = 8;

    /// <summary>Timeout of one engine API call (pulls and exec streams are not bounded by it).</summary>
    public TimeSpan ApiTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Attempts of an engine call that fails transiently (timeout, 5xx, connection refused).</summary>
    public int ApiAttempts { get; init; } = 4;

    /// <summary>First backoff between attempts; doubles each time, with jitter.</summary>
    public TimeSpan ApiBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Upper bound of one image pull.</summary>
    public TimeSpan PullTimeout { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// How long a failed pull is remembered: provisions of that image within this time fail at once
    /// with the same error instead of pulling again, so a task's infrastructure retries do not each
    /// wait for a registry that just said no.
    /// </summary>
    public TimeSpan PullFailureTtl { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Pull credentials; the first whose server prefixes the image reference is used.</summary>
    public IReadOnlyList<RegistryCredentials> Credentials { get; init; } = [];

    /// <summary>Images to make present when the node starts (pre-provision list).</summary>
    public IReadOnlyList<string> Prepull { get; init; } = [];

    /// <summary>
    /// The internal network through which agent programs in containers reach the node's model gateway
    /// (<see cref="Networking.GatewayNetwork"/>); created when missing.
    /// </summary>
    public string GatewayNetwork { get; init; } = "megaflow-gateway";

    /// <summary>How long to wait for a killed exec's output stream to end after its timeout.</summary>
    public TimeSpan KillGrace { get; init; } = TimeSpan.FromSeconds(5);

    public IReadOnlyList<string> Problems()
    {
        var p = new List<string>();
        if (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var u) || u.Scheme is not ("unix" or "tcp" or "http" or "npipe"))
            p.Add($"endpoint '{Endpoint}' is not unix:///path, tcp://host:port or http://host:port");
        if (string.IsNullOrWhiteSpace(Cluster)) p.Add("cluster label must not be empty");
        if (KeepAliveCommand.Count == 0) p.Add("keep-alive command must not be empty");
        if (MaxConcurrentCreates <= 0) p.Add($"max-concurrent-creates must be positive (got {MaxConcurrentCreates})");
        if (ApiAttempts <= 0) p.Add($"api-attempts must be positive (got {ApiAttempts})");
        if (ApiTimeout <= TimeSpan.Zero) p.Add("api-timeout must be positive");
        if (PullTimeout <= TimeSpan.Zero) p.Add("pull-timeout must be positive");
        return p;
    }
}
