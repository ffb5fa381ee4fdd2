namespace MegaFlow.Storage;

/// <summary>Stores artifacts by key ("task/attempt-1/round-3.log") and answers where they went.</summary>
public interface IArtifactStore
{
    /// <summary>Saves content under key, replacing any earlier version; returns its location (path or URI).</summary>
    Task<string> SaveAsync(string key, ReadOnlyMemory<byte> content, CancellationToken ct);

    Task<byte[]?> ReadAsync(string key, CancellationToken ct);

    /// <summary>
    /// Reads an artifact by the location <see cref="SaveAsync"/> returned (what journals and exports keep);
    /// null when it is not there.
    /// </summary>
    /// <exception cref="ArgumentException">The location is not one of this store's.</exception>
    Task<byte[]?> ReadLocationAsync(string location, CancellationToken ct);
}

/// <summary>Artifacts as files below one folder: the embedded default.</summary>
public sealed class LocalFolderArtifactStore(string root) : IArtifactStore
{
    public string Root { get; } = Path.GetFullPath(root);

    public async Task<string> SaveAsync(string key, ReadOnlyMemory<byte> content, CancellationToken ct)
    {
        var path = PathFor(key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // Write then rename, so a reader never sees half a file after a crash.
        var tmp = path + ".tmp";
        await File.WriteAllBytesAsync(tmp, content, ct);
        File.Move(tmp, path, overwrite: true);
        return path;
    }

    public async Task<byte[]?> ReadAsync(string key, CancellationToken ct)
    {
        var path = PathFor(key);
        return File.Exists(path) ? await File.ReadAllBytesAsync(path, ct) : null;
    }

    public async Task<byte[]?> ReadLocationAsync(string location, CancellationToken ct)
    {
        var path = Path.GetFullPath(location);
        if (!path.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new ArgumentException($"'{location}' is not below this store's folder {Root}", nameof(location));
        return File.Exists(path) ? await File.ReadAllBytesAsync(path, ct) : null;
    }

    private string PathFor(string key)
    {
        var parts = key.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || parts.Any(p => p is "." or ".."))
            throw new ArgumentException($"invalid artifact key '{key}'", nameof(key));
        var safe = parts.Select(p => string.Concat(p.Select(c => char.IsLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_')));
        return Path.Combine([Root, .. safe]);
    }
}
