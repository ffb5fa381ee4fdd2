using System.Reflection;
using System.Text.Json;

namespace MegaFlow.Node.Tests.Client;

/// <summary>
/// The client library and the CLI are what users install next to their own programs; they must not
/// drag the server in. Checked two ways, so neither a package reference nor a code path slips by:
/// the restore graph (every package and project the build resolved, transitively) and the
/// assemblies the compiled code actually references, followed transitively.
/// </summary>
public sealed class DependencyTests
{
    private static readonly string[] Forbidden = ["Docker.DotNet", "Npgsql", "Microsoft.Data.Sqlite", "Microsoft.AspNetCore"];

    // Server-side projects: depending on any of them would bring the forbidden packages back.
    private static readonly string[] ServerProjects = ["MegaFlow.Actors", "MegaFlow.Hosting", "MegaFlow.Management", "MegaFlow.Environments.Docker", "MegaFlow.Node"];

    [Theory]
    [InlineData("src/Client/MegaFlow.Client.csproj")]
    [InlineData("src/Cli/MegaFlow.Cli.csproj")]
    public void The_restore_graph_holds_no_server_dependency(string project)
    {
        var closure = RestoreClosure(project);
        Assert.NotEmpty(closure);
        var offending = closure.Where(name => Forbidden.Any(f => name.StartsWith(f, StringComparison.OrdinalIgnoreCase))
                                              || ServerProjects.Contains(name, StringComparer.OrdinalIgnoreCase)).ToList();
        Assert.True(offending.Count == 0, $"{project} depends on {string.Join(", ", offending)}");
    }

    [Fact]
    public void The_CLI_has_no_Akka_either()
    {
        var closure = RestoreClosure("src/Cli/MegaFlow.Cli.csproj");
        Assert.DoesNotContain(closure, name => name.StartsWith("Akka", StringComparison.OrdinalIgnoreCase));
        Assert.Contains("MegaFlow.Contracts", closure);
    }

    [Theory]
    [InlineData("MegaFlow.Client")]
    [InlineData("MegaFlow.Cli")]
    public void The_compiled_assembly_references_no_server_assembly(string assemblyName)
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var queue = new Queue<AssemblyName>([new AssemblyName(assemblyName)]);
        while (queue.Count > 0)
        {
            var name = queue.Dequeue();
            if (!seen.Add(name.Name!)) continue;
            Assembly asm;
            try { asm = Assembly.Load(name); }
            catch (FileNotFoundException) { continue; } // framework facades not shipped beside the tests
            foreach (var r in asm.GetReferencedAssemblies()) queue.Enqueue(r);
        }
        Assert.Contains("MegaFlow.Contracts", seen);
        var offending = seen.Where(n => Forbidden.Any(f => n.StartsWith(f, StringComparison.OrdinalIgnoreCase)) || ServerProjects.Contains(n, StringComparer.OrdinalIgnoreCase)).ToList();
        Assert.True(offending.Count == 0, $"{assemblyName} references {string.Join(", ", offending)}");
    }

    /// <summary>Every package and project in the project's restore graph (obj/project.assets.json).</summary>
    private static HashSet<string> RestoreClosure(string project)
    {
        var assets = Path.Combine(MegaflowProcess.RepositoryRoot(), Path.GetDirectoryName(project)!, "obj", "project.assets.json");
        Assert.True(File.Exists(assets), $"{assets} is missing: build the solution first");
        using var doc = JsonDocument.Parse(File.ReadAllText(assets));
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var target in doc.RootElement.GetProperty("targets").EnumerateObject())
            foreach (var library in target.Value.EnumerateObject())
                names.Add(library.Name.Split('/')[0]);
        return names;
    }
}
