using Docker.DotNet.Models;
using MegaFlow.Environments.Docker;
using MegaFlow.Environments.Docker.Events;

namespace MegaFlow.Docker.Tests;

/// <summary>Reading the engine's die events, without an engine: replays skipped, own stops not reported.</summary>
public sealed class EngineEventsTests
{
    private static Message Die(string id, long timeNano, string? environmentId = "env-1", string exitCode = "137")
    {
        var attributes = new Dictionary<string, string> { ["name"] = "mf-env-1", ["exitCode"] = exitCode };
        if (environmentId is not null) attributes[DockerProvider.EnvironmentLabel] = environmentId;
        return new Message { ID = id, TimeNano = timeNano, Time = timeNano / 1_000_000_000, Actor = new Actor { ID = id, Attributes = attributes } };
    }

    [Fact]
    public void Events_replayed_after_a_reconnect_are_skipped()
    {
        var cursor = new EventCursor();
        Assert.Null(cursor.Since);
        Assert.True(cursor.Advance(Die("a", 5_000_000_123)));
        Assert.True(cursor.Advance(Die("b", 5_000_000_200)));

        Assert.False(cursor.Advance(Die("a", 5_000_000_123))); // the engine's since replays its moment
        Assert.False(cursor.Advance(Die("b", 5_000_000_200)));
        Assert.True(cursor.Advance(Die("c", 5_000_000_201)));
        Assert.Equal("5.000000201", cursor.Since);
    }

    [Fact]
    public void An_event_without_nanoseconds_is_placed_by_its_seconds()
    {
        var cursor = new EventCursor();
        Assert.True(cursor.Advance(new Message { Time = 7 }));
        Assert.Equal("7.000000000", cursor.Since);
        Assert.False(cursor.Advance(new Message { Time = 7 }));
    }

    [Fact]
    public void A_death_nobody_expected_is_a_lost_environment()
    {
        var lost = EngineEvents.LostFrom(Die("c1", 1), new ExpectedDeaths());

        Assert.NotNull(lost);
        Assert.Equal("env-1", lost.EnvironmentId);
        Assert.Equal("mf-env-1", lost.Reference);
        Assert.Equal("container mf-env-1 died (exit code 137) without MegaFlow stopping it", lost.Reason);
    }

    [Fact]
    public void A_death_the_provider_caused_is_not_reported_but_a_later_one_is()
    {
        var deaths = new ExpectedDeaths();
        deaths.Expect("c1");

        Assert.Null(EngineEvents.LostFrom(Die("c1", 1), deaths));
        Assert.NotNull(EngineEvents.LostFrom(Die("c1", 2), deaths)); // expected once only
    }

    [Fact]
    public void A_container_without_an_environment_label_is_not_ours_to_report()
    {
        Assert.Null(EngineEvents.LostFrom(Die("c1", 1, environmentId: null), new ExpectedDeaths()));
        Assert.Null(EngineEvents.LostFrom(new Message(), new ExpectedDeaths()));
    }

    [Fact]
    public void An_expected_death_expires_when_its_event_never_came()
    {
        var clock = new ManualClock();
        var deaths = new ExpectedDeaths(clock);
        deaths.Expect("c1");
        clock.Now += ExpectedDeaths.Expiry + TimeSpan.FromSeconds(1);

        Assert.False(deaths.Consume("c1"));
    }

    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UnixEpoch;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
