using System.Collections.Frozen;
using System.Reflection;

namespace MegaFlow.Management.Dashboard;

/// <summary>
/// The dashboard's files (HTML, CSS, ES modules), embedded in this assembly at build time: a
/// published node serves them with no content root and no network.
/// </summary>
public static class DashboardAssets
{
    private const string Prefix = "dashboard/";

    private static readonly FrozenDictionary<string, string> ContentTypes = new Dictionary<string, string>
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
    }.ToFrozenDictionary();

    private static readonly Lazy<FrozenDictionary<string, byte[]>> Files = new(Load);

    /// <summary>Every file's path below the dashboard ("index.html", "pages/tasks.js").</summary>
    public static IEnumerable<string> Paths => Files.Value.Keys;

    /// <summary>The file and its content type, or null when there is no such file.</summary>
    public static (byte[] Content, string ContentType)? Find(string path) =>
        Files.Value.TryGetValue(path, out var content)
            ? (content, ContentTypes.GetValueOrDefault(Path.GetExtension(path), "application/octet-stream"))
            : null;

    private static FrozenDictionary<string, byte[]> Load()
    {
        var assembly = typeof(DashboardAssets).Assembly;
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            // Logical names keep the build machine's separator; the URL always has '/'.
            files[name[Prefix.Length..].Replace('\\', '/')] = copy.ToArray();
        }
        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
