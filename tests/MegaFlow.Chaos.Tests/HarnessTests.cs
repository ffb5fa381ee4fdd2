namespace MegaFlow.Chaos.Tests;

/// <summary>The harness's own parts that decide what it reports: log classification and options.</summary>
public sealed class HarnessTests
{
    [Theory]
    [InlineData("fail: Akka.Actor.ActorSystem[0] [ERROR][11/30/2026 16:27:09.179Z][Thread 0023][akka://megaflow/system/sharding/environment/127.0.0.1%3A36243/env-0565%40127.0.0.1%3A36243] handle reference is not a scratch folder",
        true, "akka://megaflow/system/sharding/environment/127.0.0.1%3A36243/env-0565%40127.0.0.1%3A36243")]
    [InlineData("fail: Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware[1] An unhandled exception has occurred while executing the request.",
        true, "Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware")]
    [InlineData("crit: MegaFlow.Management[0] boom", true, "MegaFlow.Management")]
    [InlineData("[ERROR][11/30/2026 16:10:06.023Z][Thread 0024][akka.tcp://megaflow@127.0.0.1:4900/user/x] late", true, "akka.tcp://megaflow@127.0.0.1:4900/user/x")]
    [InlineData("warn: Akka.Actor.ActorSystem[0] [WARNING][11/30/2026 16:18:57.891Z][Thread 0008][akka.tcp://megaflow@127.0.0.1:35181/user/scheduler-proxy] not an error", false, "akka.tcp://megaflow@127.0.0.1:35181/user/scheduler-proxy")]
    [InlineData("info: Microsoft.Hosting.Lifetime[0] Application started. Press Ctrl+C to shut down.", false, "Microsoft.Hosting.Lifetime")]
    public void Node_log_lines_are_classified_by_level_and_attributed_to_the_actor_or_logger_that_wrote_them(string line, bool error, string source)
    {
        Assert.Equal(error, NodeLog.IsError(line));
        Assert.Equal(source, NodeLog.Source(line));
    }

    [Fact]
    public void A_node_log_counts_every_line_but_stops_writing_at_its_cap()
    {
        var path = Path.GetTempFileName();
        try
        {
            using (var log = new NodeLog(path, capBytes: 100))
            {
                for (var i = 0; i < 50; i++) log.Append($"fail: Akka.Actor.ActorSystem[0] [ERROR][t][Thread 1][akka://megaflow/user/a] failure {i}");
                log.Append("info: X[0] fine");
                Assert.Equal(51, log.Lines);
                Assert.Equal(50, log.ErrorLines);
                Assert.True(log.Truncated);
                Assert.Equal(("akka://megaflow/user/a", 50), log.WorstActor());
            }
            Assert.True(new FileInfo(path).Length < 400);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Options_parse_the_schedule_and_refuse_impossible_ones()
    {
        var o = ChaosOptions.Parse(["--tasks", "1000", "--kills", "15", "--scheduler-kills", "7", "--restart-after", "5-10", "--pg-outage", "30", "--provider", "docker", "--baseline"]);
        Assert.Equal((1000, 15, 7, 30.0, "docker", true), (o.Tasks, o.Kills, o.SchedulerKills, o.PostgresOutage.TotalSeconds, o.Provider, o.Baseline));

        Assert.Contains("cannot exceed", Assert.Throws<ArgumentException>(() => ChaosOptions.Parse(["--kills", "1", "--scheduler-kills", "2"])).Message);
        Assert.Contains("at least 3 nodes", Assert.Throws<ArgumentException>(() => ChaosOptions.Parse(["--nodes", "2", "--kills", "1", "--scheduler-kills", "0"])).Message);
        Assert.Contains("--provider", Assert.Throws<ArgumentException>(() => ChaosOptions.Parse(["--provider", "k8s"])).Message);
    }
}
