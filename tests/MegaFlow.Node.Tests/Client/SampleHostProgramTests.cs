namespace MegaFlow.Node.Tests.Client;

/// <summary>The sample host program from the README, against two real node processes.</summary>
public sealed class SampleHostProgramTests
{
    [Fact]
    public async Task The_sample_host_program_submits_the_sample_dataset_and_receives_every_result()
    {
        await using var cluster = await NodeProcessCluster.StartAsync(2, "", provider: "local");
        var dataset = Path.Combine(MegaflowProcess.RepositoryRoot(), "samples", "datasets", "sample-tasks.jsonl");
        using var sample = MegaflowProcess.StartDll("megaflow-host-sample.dll", new Dictionary<string, string>(),
            "--seeds", string.Join(",", cluster.Seeds), "--dataset", dataset);

        Assert.Equal(0, await sample.WaitForExitAsync(TimeSpan.FromMinutes(4)));
        Assert.Contains("received 16 of 16 results", sample.Output);
        Assert.Contains("pass@k", sample.Output);
        // Real shell commands ran: the sample's deliberately wrong fix stays unsolved.
        Assert.Contains("tests fail", sample.Output);
    }
}
