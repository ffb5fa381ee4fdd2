namespace MegaFlow.Storage.S3;

/// <summary>Where and how artifacts go to an S3-compatible bucket (megaflow.artifacts.s3 in HOCON).</summary>
public sealed record S3ArtifactSettings
{
    /// <summary>Service URL, e.g. "http://s3:4568" or "https://s3.eu-west-1.amazonaws.com"; empty: AWS for <see cref="Region"/>.</summary>
    public string Endpoint { get; init; } = "";

    public string Bucket { get; init; } = "";

    /// <summary>Prepended to every key ("runs/exp-7/"), so several clusters or runs can share a bucket.</summary>
    public string Prefix { get; init; } = "";

    /// <summary>Path-style addressing (http://host/bucket/key): what MinIO and s3rver need.</summary>
    public bool PathStyle { get; init; } = true;

    public string Region { get; init; } = "us-east-1";

    /// <summary>Names of the environment variables holding the credentials (never the credentials themselves).</summary>
    public string AccessKeyEnv { get; init; } = "AWS_ACCESS_KEY_ID";

    public string SecretKeyEnv { get; init; } = "AWS_SECRET_ACCESS_KEY";

    /// <summary>Objects at least this large are uploaded in parts (S3's minimum part is 5 MiB).</summary>
    public long MultipartThreshold { get; init; } = 16 * 1024 * 1024;

    public long PartSize { get; init; } = 8 * 1024 * 1024;

    /// <summary>Attempts per request (the SDK's standard retry mode backs off exponentially with jitter).</summary>
    public int MaxAttempts { get; init; } = 5;

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long an unreachable or failing (5xx) server is waited out, retrying with backoff, before a
    /// request fails: the SDK's own attempts span seconds, a storage host restarting takes longer.
    /// Zero: fail once the SDK's attempts are spent.
    /// </summary>
    public TimeSpan OutageTolerance { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Every problem with these settings, each naming its field; empty when usable.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Bucket)) problems.Add("bucket: required");
        if (Endpoint.Length > 0 && !Uri.TryCreate(Endpoint, UriKind.Absolute, out _)) problems.Add($"endpoint: '{Endpoint}' is not an absolute URL");
        if (PartSize < 5 * 1024 * 1024) problems.Add($"part-size: {PartSize} is below S3's minimum part of 5 MiB");
        if (MultipartThreshold < PartSize) problems.Add($"multipart-threshold: {MultipartThreshold} is below part-size {PartSize}");
        if (OutageTolerance < TimeSpan.Zero) problems.Add($"outage-tolerance: {OutageTolerance} must not be negative");
        if (MaxAttempts < 1) problems.Add($"max-attempts: {MaxAttempts} must be at least 1");
        if (string.IsNullOrWhiteSpace(AccessKeyEnv)) problems.Add("access-key-env: required (the name of an environment variable)");
        if (string.IsNullOrWhiteSpace(SecretKeyEnv)) problems.Add("secret-key-env: required (the name of an environment variable)");
        return problems;
    }
}
