using Akka.Actor;
using MegaFlow.Management.Http;

namespace MegaFlow.Management.Tests.Api;

/// <summary>What an exception escaping a route becomes, and which ones are answers rather than faults.</summary>
public sealed class RouteFailuresTests
{
    [Fact]
    public void A_request_before_the_actors_started_is_a_503_starting_answer_not_a_fault()
    {
        var f = RouteFailures.Classify(new NodeNotStartedException());
        Assert.Equal((503, "starting", true), (f.Status, f.Code, f.Expected));
    }

    [Fact]
    public void An_actor_that_did_not_answer_is_a_504_naming_it()
    {
        var f = RouteFailures.Classify(new NotAnsweredException("task 't-1'", TimeSpan.FromSeconds(30)));
        Assert.Equal((504, "timeout", true), (f.Status, f.Code, f.Expected));
        Assert.Equal("task 't-1' did not answer within 30 s", f.Message);
        Assert.Equal(504, RouteFailures.Classify(new AskTimeoutException("late")).Status);
    }

    [Fact]
    public void Anything_else_is_a_500_fault_whose_trace_is_logged()
    {
        var f = RouteFailures.Classify(new InvalidOperationException("bug"));
        Assert.Equal((500, "internal", false), (f.Status, f.Code, f.Expected));
    }
}
