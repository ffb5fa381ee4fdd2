using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using MegaFlow.Storage.S3;

namespace MegaFlow.Storage.Tests;

/// <summary>The S3 artifact store against a real S3-compatible server.</summary>
public sealed class S3ArtifactStoreTests : IAsyncLifetime
{
    private S3Server _server = null!;

    public async Task InitializeAsync() => _server = await S3Server.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task An_artifact_round_trips_lands_under_the_prefix_and_is_listed_through_the_S3_API()
    {
        using var store = new S3ArtifactStore(_server.Settings(prefix: "runs/exp-1/"));
        var content = "step output\n"u8.ToArray();

        var location = await store.SaveAsync("task-a/1/3.out", content, default);

        Assert.Equal($"s3://{S3Server.Bucket}/runs/exp-1/task-a/1/3.out", location);
        Assert.Equal(content, await store.ReadAsync("task-a/1/3.out", default));
        Assert.Null(await store.ReadAsync("task-a/1/4.out", default));
        // Seen by a plain S3 client, not only by the store.
        using var raw = RawClient();
        var listed = await raw.ListObjectsV2Async(new ListObjectsV2Request { BucketName = S3Server.Bucket, Prefix = "runs/" });
        var only = Assert.Single(listed.S3Objects);
        Assert.Equal("runs/exp-1/task-a/1/3.out", only.Key);
        Assert.Equal(content.Length, only.Size);
    }

    [Fact]
    public async Task An_artifact_reads_back_by_the_location_its_save_returned_and_another_stores_location_is_refused()
    {
        // Journals keep locations (a model call's record, a step's output); readers come back with them.
        using var store = new S3ArtifactStore(_server.Settings(prefix: "runs/exp-2/"));
        var content = "{\"schema\":\"megaflow.model-call.v1\"}"u8.ToArray();

        var location = await store.SaveAsync("task-c/attempt-1/model-calls/round-001-x.json", content, default);

        Assert.Equal(content, await store.ReadLocationAsync(location, default));
        Assert.Null(await store.ReadLocationAsync(location.Replace("round-001", "round-002"), default));
        var other = Assert.Throws<ArgumentException>(() => { _ = store.ReadLocationAsync($"s3://{S3Server.Bucket}/runs/exp-1/task-c/x.json", default); });
        Assert.Contains("is not in this store", other.Message);
        await Assert.ThrowsAsync<ArgumentException>(() => new LocalFolderArtifactStore(Path.GetTempPath()).ReadLocationAsync("/etc/passwd", default));
    }

    [Fact]
    public async Task A_large_artifact_uploaded_in_parts_reads_back_byte_for_byte_with_its_digest_stored()
    {
        var settings = _server.Settings() with { PartSize = 5 * 1024 * 1024, MultipartThreshold = 6 * 1024 * 1024 };
        using var store = new S3ArtifactStore(settings);
        var content = new byte[12 * 1024 * 1024 + 123];
        new Random(7).NextBytes(content);

        await store.SaveAsync("weights/v3/weights.bin", content, default);

        using var raw = RawClient();
        var head = await raw.GetObjectMetadataAsync(S3Server.Bucket, "weights/v3/weights.bin");
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(content)), head.Metadata["sha256"]);
        Assert.Equal(content, await store.ReadAsync("weights/v3/weights.bin", default));
        Assert.Equal([("weights/v3/weights.bin", (long)content.Length)], await store.ListAsync("weights/"));
    }

    [Fact]
    public async Task An_object_whose_bytes_no_longer_match_its_digest_is_refused_naming_it()
    {
        using var store = new S3ArtifactStore(_server.Settings());
        await store.SaveAsync("task-b/1/1.out", "the real output"u8.ToArray(), default);
        // Replaced behind the store's back, keeping the old digest (a partial overwrite, a bad copy).
        using var raw = RawClient();
        var head = await raw.GetObjectMetadataAsync(S3Server.Bucket, "task-b/1/1.out");
        var replace = new PutObjectRequest { BucketName = S3Server.Bucket, Key = "task-b/1/1.out", ContentBody = "something else" };
        replace.Metadata.Add("sha256", head.Metadata["sha256"]);
        await raw.PutObjectAsync(replace);

        var e = await Assert.ThrowsAsync<ArtifactStoreException>(() => store.ReadAsync("task-b/1/1.out", default));
        Assert.Contains($"s3://{S3Server.Bucket}/task-b/1/1.out", e.Message);
        Assert.Contains("SHA-256", e.Message);
    }

    [Fact]
    public async Task A_killed_server_fails_the_save_after_retries_with_an_error_naming_the_endpoint()
    {
        using var store = new S3ArtifactStore(_server.Settings() with { OutageTolerance = TimeSpan.FromSeconds(3) });
        await store.SaveAsync("before", "ok"u8.ToArray(), default);
        _server.Kill();

        var e = await Assert.ThrowsAsync<ArtifactStoreException>(() => store.SaveAsync("after", "lost?"u8.ToArray(), default));

        Assert.Contains(_server.Endpoint, e.Message);
        Assert.Contains("s3://megaflow-test/after", e.Message);
        Assert.Matches(@"failed after (6|9) attempt\(s\) over [0-9]+s", e.Message); // 3 per round, rounds 1 s and 2 s apart
    }

    [Fact]
    public async Task A_server_down_for_less_than_the_outage_tolerance_is_waited_out_and_nothing_stored_is_lost()
    {
        using var store = new S3ArtifactStore(_server.Settings() with { OutageTolerance = TimeSpan.FromSeconds(30) });
        var before = await store.SaveAsync("kept/before", "stored before the outage"u8.ToArray(), default);
        _server.Kill();

        var saving = store.SaveAsync("kept/during", "written during the outage"u8.ToArray(), default);
        await Task.Delay(TimeSpan.FromSeconds(6));
        Assert.False(saving.IsCompleted, "the save waits for the server rather than failing or pretending");
        await _server.RestartAsync();

        await saving;
        Assert.Equal("stored before the outage"u8.ToArray(), await store.ReadLocationAsync(before, default));
        Assert.Equal("written during the outage"u8.ToArray(), await store.ReadAsync("kept/during", default));
        Assert.Equal(["kept/before", "kept/during"], (await store.ListAsync("kept/")).Select(o => o.Key).Order());
    }

    [Fact]
    public async Task A_refusal_is_not_waited_out()
    {
        Environment.SetEnvironmentVariable("MEGAFLOW_TEST_S3_WRONG_KEY", "not-the-key");
        using var store = new S3ArtifactStore(_server.Settings() with { AccessKeyEnv = "MEGAFLOW_TEST_S3_WRONG_KEY", OutageTolerance = TimeSpan.FromMinutes(5) });
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var e = await Assert.ThrowsAsync<ArtifactStoreException>(() => store.SaveAsync("refused", "x"u8.ToArray(), default));

        Assert.Contains("s3://megaflow-test/refused was refused", e.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"a 403 was retried for {clock.Elapsed}");
    }

    [Fact]
    public void Bad_settings_and_keys_are_refused_naming_what_is_wrong()
    {
        var bad = new S3ArtifactSettings { Bucket = "", Endpoint = "not a url", PartSize = 1024 };
        var e = Assert.Throws<ArgumentException>(() => new S3ArtifactStore(bad));
        Assert.Contains("bucket: required", e.Message);
        Assert.Contains("endpoint: 'not a url'", e.Message);
        Assert.Contains("part-size", e.Message);

        var missingKey = Assert.Throws<ArgumentException>(() => new S3ArtifactStore(_server.Settings() with { AccessKeyEnv = "MEGAFLOW_TEST_NO_SUCH_VARIABLE" }));
        Assert.Contains("'MEGAFLOW_TEST_NO_SUCH_VARIABLE'", missingKey.Message);

        using var store = new S3ArtifactStore(_server.Settings());
        Assert.Throws<ArgumentException>(() => { store.Location("a/../../b"); });
    }

    private AmazonS3Client RawClient() => new(new BasicAWSCredentials("S3RVER", "S3RVER"), new AmazonS3Config
    {
        ServiceURL = _server.Endpoint,
        ForcePathStyle = true,
        AuthenticationRegion = "us-east-1",
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
    });
}
