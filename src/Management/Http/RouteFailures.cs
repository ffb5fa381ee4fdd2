using Akka.Actor;
using Microsoft.AspNetCore.Http;

namespace MegaFlow.Management.Http;

/// <summary>The JSON error an exception escaping a route becomes.</summary>
/// <param name="Expected">
/// An answer rather than a fault (the cluster did not answer in time, the node is still starting, the
/// request was malformed): logged as one line, without a stack trace that would only bury real faults.
/// </param>
public sealed record RouteFailure(int Status, string Code, string Message, bool Expected);

/// <summary>Maps what escapes a route to its answer; the exception handler and its tests share it.</summary>
public static class RouteFailures
{
    public static RouteFailure Classify(Exception? error) => error switch
    {
        NodeNotStartedException e => new(StatusCodes.Status503ServiceUnavailable, "starting", e.Message, true),
        Training.NoTrainerException e => new(StatusCodes.Status503ServiceUnavailable, "no_trainer", e.Message, true),
        NotAnsweredException e => new(StatusCodes.Status504GatewayTimeout, "timeout", e.Message, true),
        AskTimeoutException => new(StatusCodes.Status504GatewayTimeout, "timeout", "the cluster did not answer in time (is the scheduler or the shard's node reachable?)", true),
        BadHttpRequestException e => new(StatusCodes.Status400BadRequest, "bad_request", e.Message, true),
        OperationCanceledException => new(StatusCodes.Status504GatewayTimeout, "timeout", "the request was cancelled or timed out", true),
        _ => new(StatusCodes.Status500InternalServerError, "internal", error?.Message ?? "unknown error", false),
    };
}
