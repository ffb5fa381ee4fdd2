using System.Text.Json;
using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Datasets;

/// <summary>
/// The test command per repository, and optionally per version, for SWE-bench records that carry none
/// (the published datasets never do: the official harness keeps this map in its own code). Written
/// as JSON, a repository mapping to a command or to commands by version, <c>"*"</c> matching any
/// version not listed:
/// <code>{ "django/django": { "3.0": "./tests/runtests.py --verbosity 2", "*": "./tests/runtests.py" },
///   "psf/requests": "pytest -rA" }</code>
/// </summary>
public sealed class SweBenchTestMap
{
    /// <summary>The key matching any version of a repository.</summary>
    public const string AnyVersion = "*";

    private readonly Dictionary<string, Dictionary<string, string>> _byRepo;

    private SweBenchTestMap(Dictionary<string, Dictionary<string, string>> byRepo) => _byRepo = byRepo;

    /// <summary>A map with no entries.</summary>
    public static SweBenchTestMap Empty { get; } = new(new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal));

    /// <summary>The command for <paramref name="repo"/> at <paramref name="version"/>: the version's, else the repository's <c>"*"</c>; null when the map has none.</summary>
    public string? Lookup(string repo, string? version)
    {
        if (!_byRepo.TryGetValue(repo, out var versions))
            return null;
        if (version is not null && versions.TryGetValue(version, out var exact))
            return exact;
        return versions.GetValueOrDefault(AnyVersion);
    }

    /// <summary>Reads a map; every problem is reported (naming the repository and version), none is guessed around.</summary>
    /// <exception cref="FormatException">The text is not a map of the shape above; the message lists each problem.</exception>
    public static SweBenchTestMap Parse(string json, string source = "test map")
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
        }
        catch (JsonException e)
        {
            throw new FormatException($"{source}: {TaskRecordBinder.Malformed(e)}", e);
        }
        using (doc)
        {
            var errors = new List<string>();
            var map = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new FormatException($"{source}: must be an object of repository → command (got {TaskRecordBinder.Describe(doc.RootElement)})");
            foreach (var repo in doc.RootElement.EnumerateObject())
            {
                if (map.ContainsKey(repo.Name))
                {
                    errors.Add($"{source}: '{repo.Name}' appears more than once");
                    continue;
                }
                var versions = new Dictionary<string, string>(StringComparer.Ordinal);
                map[repo.Name] = versions;
                if (repo.Value.ValueKind == JsonValueKind.String)
                    Add(errors, source, repo.Name, AnyVersion, repo.Value, versions);
                else if (repo.Value.ValueKind == JsonValueKind.Object)
                    foreach (var v in repo.Value.EnumerateObject())
                        if (versions.ContainsKey(v.Name))
                            errors.Add($"{source}: '{repo.Name}'.'{v.Name}' appears more than once");
                        else
                            Add(errors, source, repo.Name, v.Name, v.Value, versions);
                else
                    errors.Add($"{source}: '{repo.Name}' must be a command or an object of version → command (got {TaskRecordBinder.Describe(repo.Value)})");
            }
            return errors.Count == 0 ? new SweBenchTestMap(map) : throw new FormatException(string.Join(Environment.NewLine, errors));
        }
    }

    /// <summary>Reads the map in the file at <paramref name="path"/>.</summary>
    public static SweBenchTestMap Load(string path) => Parse(File.ReadAllText(path), path);

    private static void Add(List<string> errors, string source, string repo, string version, JsonElement value, Dictionary<string, string> versions)
    {
        var where = version == AnyVersion && value.ValueKind == JsonValueKind.String ? $"'{repo}'" : $"'{repo}'.'{version}'";
        if (value.ValueKind != JsonValueKind.String)
            errors.Add($"{source}: {where} must be a command (got {TaskRecordBinder.Describe(value)})");
        else if (string.IsNullOrWhiteSpace(value.GetString()))
            errors.Add($"{source}: {where} is an empty command");
        else
            versions[version] = value.GetString()!;
    }
}
