using MegaFlow.Cli.CommandLine;
using MegaFlow.Node;

namespace MegaFlow.Management.Tests.Cli;

/// <summary>`megaflow experiments start` checks the spec file before it talks to any node.</summary>
public sealed class ExperimentsCliTests
{
    // A node address nothing listens on: had the command sent anything, it would exit 3 (unreachable), not 2.
    private static readonly Func<string, string?> NoNode = n => n == "MEGAFLOW_NODE" ? "127.0.0.1:1" : null;

    private static async Task<(int Code, string Output, string Error)> Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await MegaFlowCommandLine.RunAsync(args, new CliHost(output, error, NoNode));
        return (code, output.ToString(), error.ToString());
    }

    private static string SpecFile(string json)
    {
        var path = Path.Combine(Path.GetTempPath(), $"megaflow-spec-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public async Task A_spec_with_bad_values_exits_2_naming_every_field_and_sends_nothing()
    {
        var file = SpecFile("""{"id":"Bad Id","dataset":"builtin:nope","replicas":1,"steps":0}""");
        try
        {
            var (code, _, error) = await Run("experiments", "start", "--spec", file);
            Assert.Equal(2, code);
            foreach (var field in new[] { "id:", "dataset:", "replicas:", "steps:" })
                Assert.Contains(field, error);
            Assert.Contains(file, error);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_spec_with_an_unknown_field_exits_2_naming_it()
    {
        var file = SpecFile("""{"id":"exp-1","dataset":"builtin:touch-v1","stepz":3}""");
        try
        {
            var (code, _, error) = await Run("experiments", "start", "--spec", file);
            Assert.Equal(2, code);
            Assert.Contains("stepz: unknown field", error);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_missing_spec_file_exits_2()
    {
        var (code, _, error) = await Run("experiments", "start", "--spec", "/no/such/spec.json");
        Assert.Equal(2, code);
        Assert.Contains("cannot read '/no/such/spec.json'", error);
    }
}
