namespace MegaFlow.Datasets.Tests;

public sealed class SampleDatasetTests
{
    private static readonly string SamplePath = Path.Combine(AppContext.BaseDirectory, "Files", "sample-tasks.jsonl");

    [Fact]
    public void The_sample_dataset_parses_without_errors()
    {
        var result = DatasetReader.Read(SamplePath);

        Assert.Empty(result.Errors);
        Assert.Equal(10, result.Records);
        // Eight single tasks and two groups of four replicas.
        Assert.Equal(16, result.Specs.Count);
        var groups = result.Specs.Where(s => s.Metadata!.ContainsKey(Replicas.GroupKey))
            .GroupBy(s => s.Metadata![Replicas.GroupKey]).ToList();
        Assert.Equal(2, groups.Count);
        Assert.All(groups, g => Assert.Equal(4, g.Count()));
        Assert.All(result.Specs, s => Assert.Equal("megaflow-samples", s.Metadata!["dataset"]));
        Assert.All(result.Specs, s => Assert.NotEmpty(s.Actions!));
    }
}
