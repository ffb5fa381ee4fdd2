using System.Net;
using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace MegaFlow.Storage.S3;

/// <summary>
/// Artifacts as objects in an S3-compatible bucket, so every node of a cluster (and the trainer)
/// reads what any node wrote. Large objects go up in parts; the SDK retries failed requests with
/// exponential backoff; integrity is checked both ways: the server verifies each request's
/// Content-MD5, we compare the ETag it returns with the one the bytes must have, and a SHA-256 kept
/// in the object's metadata is checked on every read.
/// </summary>
public sealed class S3ArtifactStore : IArtifactStore, IDisposable
{
    private const string ShaMetadata = "sha256";
    private readonly IAmazonS3 _s3;
    private readonly S3ArtifactSettings _settings;

    public S3ArtifactStore(S3ArtifactSettings settings)
    {
        if (settings.Problems() is { Count: > 0 } problems)
            throw new ArgumentException("megaflow.artifacts.s3: " + string.Join("; ", problems), nameof(settings));
        _settings = settings;
        var config = new AmazonS3Config
        {
            ForcePathStyle = settings.PathStyle,
            RetryMode = RequestRetryMode.Standard,
            MaxErrorRetry = settings.MaxAttempts - 1,
            Timeout = settings.RequestTimeout,
            // Our own integrity checks below work with every S3-compatible server; the SDK's default
            // flexible checksums use chunked trailers that not all of them understand.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (settings.Endpoint.Length > 0)
        {
            config.ServiceURL = settings.Endpoint;
            config.AuthenticationRegion = settings.Region;
        }
        else
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(settings.Region);
        _s3 = new AmazonS3Client(new BasicAWSCredentials(Credential(settings.AccessKeyEnv), Credential(settings.SecretKeyEnv)), config);
    }

    /// <summary>"s3://bucket/prefix/key": where an artifact lives, as results and exports show it.</summary>
    public string Location(string key) => $"s3://{_settings.Bucket}/{ObjectKey(key)}";

    public async Task<string> SaveAsync(string key, ReadOnlyMemory<byte> content, CancellationToken ct)
    {
        var objectKey = ObjectKey(key);
        var sha = Convert.ToHexStringLower(SHA256.HashData(content.Span));
        await WithRetriesAsync("storing", objectKey, async () =>
        {
            if (content.Length >= _settings.MultipartThreshold)
                await PutInPartsAsync(objectKey, content, sha, ct);
            else
            {
                var request = new PutObjectRequest
                {
                    BucketName = _settings.Bucket,
                    Key = objectKey,
                    InputStream = new MemoryStream(content.ToArray(), writable: false),
                    MD5Digest = Convert.ToBase64String(MD5.HashData(content.Span)),
                    // Plain bodies: aws-chunked framing is not understood by every S3-compatible server.
                    UseChunkEncoding = false,
                };
                request.Metadata.Add(ShaMetadata, sha);
                var response = await _s3.PutObjectAsync(request, ct);
                CheckETag(objectKey, response.ETag, Convert.ToHexStringLower(MD5.HashData(content.Span)));
            }
            return true;
        }, ct);
        return Location(key);
    }

    public Task<byte[]?> ReadLocationAsync(string location, CancellationToken ct)
    {
        var start = $"s3://{_settings.Bucket}/{_settings.Prefix}";
        return location.StartsWith(start, StringComparison.Ordinal) && location.Length > start.Length
            ? ReadAsync(location[start.Length..], ct)
            : throw new ArgumentException($"'{location}' is not in this store ({start}…)", nameof(location));
    }

    public async Task<byte[]?> ReadAsync(string key, CancellationToken ct)
    {
        var objectKey = ObjectKey(key);
        return await WithRetriesAsync("reading", objectKey, async () =>
        {
            try
            {
                using var response = await _s3.GetObjectAsync(_settings.Bucket, objectKey, ct);
                using var buffer = new MemoryStream();
                await response.ResponseStream.CopyToAsync(buffer, ct);
                var bytes = buffer.ToArray();
                var expected = response.Metadata[ShaMetadata];
                // Objects put there by something else carry no digest of ours; what we wrote must match it.
                if (!string.IsNullOrEmpty(expected) && !string.Equals(expected, Convert.ToHexStringLower(SHA256.HashData(bytes)), StringComparison.OrdinalIgnoreCase))
                    throw new ArtifactStoreException($"{Location(key)}: content does not match the SHA-256 stored with it (corrupted or replaced)");
                return bytes;
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }
        }, ct);
    }

    /// <summary>Every object under this store's prefix (key relative to the prefix, size): for tests, exports and operators.</summary>
    public async Task<IReadOnlyList<(string Key, long Size)>> ListAsync(string under = "", CancellationToken ct = default)
    {
        var found = new List<(string, long)>();
        var request = new ListObjectsV2Request { BucketName = _settings.Bucket, Prefix = _settings.Prefix + under };
        await WithRetriesAsync("listing", request.Prefix, async () =>
        {
            found.Clear();
            request.ContinuationToken = null;
            ListObjectsV2Response page;
            do
            {
                page = await _s3.ListObjectsV2Async(request, ct);
                foreach (var o in page.S3Objects ?? []) found.Add((o.Key[_settings.Prefix.Length..], o.Size ?? 0));
                request.ContinuationToken = page.NextContinuationToken;
            } while (page.IsTruncated == true);
            return true;
        }, ct);
        return found;
    }

    public void Dispose() => _s3.Dispose();

    // Each part carries its Content-MD5 (the server refuses a part that arrived damaged); the final
    // ETag of a multipart object is the MD5 of the parts' MD5s, suffixed with the part count.
    private async Task PutInPartsAsync(string objectKey, ReadOnlyMemory<byte> content, string sha, CancellationToken ct)
    {
        var start = new InitiateMultipartUploadRequest { BucketName = _settings.Bucket, Key = objectKey };
        start.Metadata.Add(ShaMetadata, sha);
        var uploadId = (await _s3.InitiateMultipartUploadAsync(start, ct)).UploadId;
        try
        {
            var parts = new List<PartETag>();
            using var partDigests = new MemoryStream();
            for (long offset = 0, number = 1; offset < content.Length; offset += _settings.PartSize, number++)
            {
                var part = content.Slice((int)offset, (int)Math.Min(_settings.PartSize, content.Length - offset));
                var md5 = MD5.HashData(part.Span);
                partDigests.Write(md5);
                var response = await _s3.UploadPartAsync(new UploadPartRequest
                {
                    BucketName = _settings.Bucket,
                    Key = objectKey,
                    UploadId = uploadId,
                    PartNumber = (int)number,
                    InputStream = new MemoryStream(part.ToArray(), writable: false),
                    MD5Digest = Convert.ToBase64String(md5),
                    UseChunkEncoding = false,
                }, ct);
                CheckETag($"{objectKey} part {number}", response.ETag, Convert.ToHexStringLower(md5));
                parts.Add(new PartETag((int)number, response.ETag));
            }
            var done = await _s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = _settings.Bucket,
                Key = objectKey,
                UploadId = uploadId,
                PartETags = parts,
            }, ct);
            // AWS and MinIO answer the MD5 of the parts' MD5s with the part count; some servers (s3rver)
            // the whole object's MD5. Either must match the bytes; the parts were each verified already.
            var multipartTag = $"{Convert.ToHexStringLower(MD5.HashData(partDigests.ToArray()))}-{parts.Count}";
            if (!string.Equals(done.ETag?.Trim('"'), multipartTag, StringComparison.OrdinalIgnoreCase))
                CheckETag(objectKey, done.ETag, Convert.ToHexStringLower(MD5.HashData(content.Span)));
        }
        catch
        {
            // An abandoned upload's parts would otherwise be kept (and billed) until a lifecycle rule
            // removes them. Best effort: the upload's own failure is the one to report.
            try { await _s3.AbortMultipartUploadAsync(_settings.Bucket, objectKey, uploadId, CancellationToken.None); }
            catch (Exception) { }
            throw;
        }
    }

    private void CheckETag(string what, string? etag, string expected)
    {
        if (!string.Equals(etag?.Trim('"'), expected, StringComparison.OrdinalIgnoreCase))
            throw new ArtifactStoreException($"s3://{_settings.Bucket}/{what}: the server's ETag {etag} does not match the bytes sent ({expected})");
    }

    // The SDK retries each request MaxAttempts times within seconds. A server that stays unreachable or
    // keeps answering 5xx (a storage host restarting, a network partition) is waited out for
    // OutageTolerance, with backoff from 1 s up to 10 s between rounds, so a short outage delays tasks
    // instead of failing them. A refusal (4xx: credentials, a missing bucket) is final at once.
    private async Task<T> WithRetriesAsync<T>(string doing, string objectKey, Func<Task<T>> call, CancellationToken ct)
    {
        var started = DateTime.UtcNow;
        var delay = TimeSpan.FromSeconds(1);
        for (var round = 1; ; round++)
        {
            try
            {
                return await call();
            }
            catch (Exception e) when (IsStoreFailure(e, ct))
            {
                var elapsed = DateTime.UtcNow - started;
                var transient = IsTransient(e);
                if (!transient || elapsed + delay > _settings.OutageTolerance)
                    throw new ArtifactStoreException(
                        $"S3 artifact store {(_settings.Endpoint.Length > 0 ? _settings.Endpoint : _settings.Region)}: {doing} s3://{_settings.Bucket}/{objectKey} " +
                        (transient ? $"failed after {round * _settings.MaxAttempts} attempt(s) over {elapsed.TotalSeconds:0}s: " : "was refused: ") + e.Message, e);
                await Task.Delay(delay, ct);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }

    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);

    // The server's refusals and the network's failures (refused connections, timeouts) alike, once
    // the SDK's retries are spent; not our own integrity errors, and not the caller's cancellation.
    private static bool IsStoreFailure(Exception e, CancellationToken ct) =>
        e is not ArtifactStoreException && !(e is OperationCanceledException && ct.IsCancellationRequested);

    // Worth waiting out: no answer at all (connection refused or reset, a timeout) or a server error.
    private static bool IsTransient(Exception e) => e switch
    {
        AmazonServiceException { StatusCode: var status } when status != 0 =>
            (int)status >= 500 || status is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout,
        _ => true,
    };

    private string ObjectKey(string key)
    {
        var parts = key.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || parts.Any(p => p is "." or ".."))
            throw new ArgumentException($"invalid artifact key '{key}'", nameof(key));
        return _settings.Prefix + string.Join('/', parts);
    }

    private static string Credential(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new ArgumentException($"megaflow.artifacts.s3: environment variable '{variable}' (named by access-key-env / secret-key-env) is not set");
}
