using System.Net;
using Docker.DotNet;
using MegaFlow.Environments;
using MegaFlow.Environments.Docker;

namespace MegaFlow.Docker.Tests;

/// <summary>The one retry policy for engine calls, without an engine: what is retried, how often, how long apart.</summary>
public sealed class EngineRetryTests
{
    private static readonly DockerProviderSettings Fast = new()
    {
        ApiAttempts = 3,
        ApiBackoff = TimeSpan.FromMilliseconds(1),
        ApiTimeout = TimeSpan.FromSeconds(10),
    };

    private static DockerApiException Api(HttpStatusCode status, string body = "{\"message\":\"boom\"}") => new(status, body);

    public static TheoryData<Exception> Transient() =>
    [
        Api(HttpStatusCode.InternalServerError),
        Api(HttpStatusCode.ServiceUnavailable),
        new HttpRequestException("connection refused"),
        new IOException("broken pipe"),
        new TimeoutException(),
        new OperationCanceledException(),
        new InvalidOperationException("wrapped", new HttpRequestException("connection reset")),
    ];

    public static TheoryData<Exception> Permanent() =>
    [
        Api(HttpStatusCode.NotFound),
        Api(HttpStatusCode.Conflict),
        Api(HttpStatusCode.BadRequest),
        Api(HttpStatusCode.InternalServerError, "{\"message\":\"pull access denied for x\"}"),
        Api(HttpStatusCode.InternalServerError, "{\"message\":\"OCI runtime create failed: exec format error\"}"),
        new DockerContainerNotFoundException(HttpStatusCode.NotFound, "no such container"),
        new ArgumentException("bad"),
    ];

    [Theory]
    [MemberData(nameof(Transient))]
    public void Slow_unreachable_or_failing_engines_are_transient(Exception e) => Assert.True(EngineRetry.IsTransient(e));

    [Theory]
    [MemberData(nameof(Permanent))]
    public void Refusals_and_client_errors_are_permanent(Exception e) => Assert.False(EngineRetry.IsTransient(e));

    [Theory]
    [InlineData("received unexpected HTTP status: 503 Service Unavailable", true)]
    [InlineData("read tcp: connection reset by peer", true)]
    [InlineData("net/http: TLS handshake timeout", true)]
    [InlineData("manifest for x:1 not found: manifest unknown", false)]
    [InlineData("pull access denied for x, repository does not exist", false)]
    public void A_registry_error_text_is_transient_only_for_outages(string error, bool transient) =>
        Assert.Equal(transient, EngineRetry.IsTransientMessage(error));

    [Fact]
    public void Not_found_and_conflict_are_recognised_whichever_exception_carries_them()
    {
        Assert.True(EngineRetry.IsNotFound(Api(HttpStatusCode.NotFound)));
        Assert.True(EngineRetry.IsNotFound(new DockerContainerNotFoundException(HttpStatusCode.NotFound, "")));
        Assert.True(EngineRetry.IsNotFound(new DockerImageNotFoundException(HttpStatusCode.NotFound, "")));
        Assert.False(EngineRetry.IsNotFound(Api(HttpStatusCode.Conflict)));
        Assert.True(EngineRetry.IsConflict(Api(HttpStatusCode.Conflict)));
        Assert.False(EngineRetry.IsConflict(Api(HttpStatusCode.InternalServerError)));
    }

    [Fact]
    public void The_engines_own_message_describes_a_failure()
    {
        Assert.Equal("409 name in use", EngineRetry.Describe(Api(HttpStatusCode.Conflict, "{\"message\":\"name in use\"}")));
        Assert.Equal("timed out", EngineRetry.Describe(new OperationCanceledException()));
        Assert.Equal("refused", EngineRetry.Describe(new HttpRequestException("refused")));
    }

    [Theory]
    [InlineData(1, 0.5, 200)]
    [InlineData(2, 0.5, 400)]
    [InlineData(3, 0.5, 800)]
    [InlineData(1, 0.0, 150)]
    [InlineData(3, 0.999999, 1000)]
    public void Backoff_doubles_per_attempt_within_a_quarter_of_jitter(int attempt, double jitter, double expectedMs)
    {
        var retry = new EngineRetry(new DockerProviderSettings { ApiBackoff = TimeSpan.FromMilliseconds(200) }, () => jitter);
        Assert.Equal(expectedMs, retry.BackoffAfter(attempt).TotalMilliseconds, precision: 0);
    }

    [Fact]
    public void Attempts_are_bounded_by_the_settings()
    {
        var retry = new EngineRetry(Fast);
        Assert.True(retry.CanRetry(1));
        Assert.True(retry.CanRetry(2));
        Assert.False(retry.CanRetry(3));
    }

    [Fact]
    public async Task A_transient_failure_is_retried_until_the_call_succeeds()
    {
        var calls = 0;
        var result = await new EngineRetry(Fast).RunAsync("ping", _ =>
            ++calls < 3 ? throw Api(HttpStatusCode.InternalServerError) : Task.FromResult("ok"), CancellationToken.None);

        Assert.Equal("ok", result);
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task A_failure_still_transient_after_the_last_attempt_is_an_infrastructure_failure()
    {
        var calls = 0;
        var e = await Assert.ThrowsAsync<EnvironmentUnavailableException>(() => new EngineRetry(Fast).RunAsync("list containers", _ =>
        {
            calls++;
            return Task.FromException(new HttpRequestException("connection refused"));
        }, CancellationToken.None));

        Assert.Equal(3, calls);
        Assert.Contains("list containers failed after 3 attempts", e.Message);
        Assert.Contains("connection refused", e.Message);
        Assert.IsType<HttpRequestException>(e.InnerException);
    }

    [Fact]
    public async Task A_permanent_failure_surfaces_at_once_as_it_is()
    {
        var calls = 0;
        var e = await Assert.ThrowsAsync<DockerApiException>(() => new EngineRetry(Fast).RunAsync("inspect", _ =>
        {
            calls++;
            return Task.FromException(Api(HttpStatusCode.NotFound));
        }, CancellationToken.None));

        Assert.Equal(1, calls);
        Assert.Equal(HttpStatusCode.NotFound, e.StatusCode);
    }

    [Fact]
    public async Task An_attempt_that_hangs_is_cut_at_the_api_timeout_and_tried_again()
    {
        var calls = 0;
        var retry = new EngineRetry(Fast with { ApiTimeout = TimeSpan.FromMilliseconds(50) });
        var result = await retry.RunAsync("slow", async t =>
        {
            if (++calls == 1) await Task.Delay(Timeout.Infinite, t);
            return calls;
        }, CancellationToken.None);

        Assert.Equal(2, result);
    }

    [Fact]
    public async Task The_callers_cancellation_is_not_retried()
    {
        using var cts = new CancellationTokenSource();
        var calls = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new EngineRetry(Fast).RunAsync("exec", t =>
        {
            calls++;
            cts.Cancel();
            t.ThrowIfCancellationRequested();
            return Task.CompletedTask;
        }, cts.Token));

        Assert.Equal(1, calls);
    }
}
