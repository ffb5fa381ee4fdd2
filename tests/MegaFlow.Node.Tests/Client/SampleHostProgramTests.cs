namespace MegaFlow.Node.Tests.Client;

/// <summary>The sample host program from the README, against two real node processes.</summary>
public sealed class SampleHostProgramTests
{
    [Fact]
    public async Task The_sample_host_program_submits_the_sample_dataset_and_receives_every_result()
    {
        await using var cluster = await NodeProcessCluster.StartAsync(2, "", provider: "local");
        var dataset = Path.Combine(MegaflowProcess.RepositoryRoot(), "samples", "datasets", "sample-tasks.jsonl");
        // The sample runs from its own build folder, as a user runs it. This test's folder also holds
        // the node's ASP.NET Core dependencies, and their conflict resolution leaves out assemblies a
        // plain console program loads from its folder (Microsoft.Extensions.ObjectPool).
        var testBin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)); // bin/<Configuration>/<tfm>
        var sampleDll = Path.Combine(MegaflowProcess.RepositoryRoot(), "samples", "HostProgram", "bin", testBin.Parent!.Name, testBin.Name, "megaflow-host-sample.dll");
        using var sample = MegaflowProcess.StartDll(sampleDll, new Dictionary<string, string>(),
            "--seeds", string.Join(",", cluster.Seeds), "--dataset", dataset);

        Assert.Equal(0, await sample.WaitForExitAsync(TimeSpan.FromMinutes(4)));
        Assert.Contains("received 16 of 16 results", sample.Output);
        Assert.Contains("pass@k", sample.Output);
        // Real shell commands ran: the sample's deliberately wrong fix stays unsolved.
        Assert.Contains("tests fail", sample.Output);
    }
}
