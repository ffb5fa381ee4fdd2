using System.Formats.Tar;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace MegaFlow.Environments.Docker.Archives;

/// <summary>
/// Copies files into and out of a container through the engine's tar archive API. A copy out is
/// bounded in bytes, so a copy of "/" fails clearly instead of exhausting the node's memory.
/// </summary>
internal sealed class ArchiveCopier(DockerClient client, EngineRetry retry)
{
    /// <summary>Writes the files into the existing directory of the container.</summary>
    public async Task CopyInAsync(string container, string directory, IReadOnlyDictionary<string, byte[]> files, CancellationToken ct)
    {
        using var tar = await PackAsync(files, ct).ConfigureAwait(false);
        try
        {
            await retry.RunAsync($"copy into {container}", async t =>
            {
                tar.Position = 0; // each attempt sends the whole archive
                await client.Containers.ExtractArchiveToContainerAsync(container, new ContainerPathStatParameters { Path = directory }, tar, t).ConfigureAwait(false);
            }, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (EngineRetry.IsNotFound(e))
        {
            throw new EnvironmentUnavailableException($"copy into {container}:{directory}: {EngineRetry.Describe(e)}", e);
        }
    }

    /// <summary>Every regular file under the path (relative path → content).</summary>
    /// <exception cref="InvalidDataException">The archive is larger than <paramref name="maxBytes"/>.</exception>
    /// <exception cref="FileNotFoundException">The path does not exist in the container.</exception>
    public async Task<IReadOnlyDictionary<string, byte[]>> CopyOutAsync(string container, string path, long maxBytes, CancellationToken ct)
    {
        try
        {
            return await retry.RunAsync($"copy from {container}", async t =>
            {
                var archive = await client.Containers.GetArchiveFromContainerAsync(container, new GetArchiveFromContainerParameters { Path = path }, false, t).ConfigureAwait(false);
                // Buffered: TarReader reads past entry ends on the engine's chunked HTTP stream.
                using var buffered = new MemoryStream();
                await using (archive.Stream) await CopyBoundedAsync(archive.Stream, buffered, maxBytes, $"{container}:{path}", t).ConfigureAwait(false);
                buffered.Position = 0;
                return await UnpackAsync(buffered, t).ConfigureAwait(false);
            }, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (EngineRetry.IsNotFound(e))
        {
            throw new FileNotFoundException($"{path} does not exist in {container} ({EngineRetry.Describe(e)})", path, e);
        }
    }

    /// <summary>A tar archive of the files (paths relative to the target directory), positioned at its end.</summary>
    internal static async Task<MemoryStream> PackAsync(IReadOnlyDictionary<string, byte[]> files, CancellationToken ct)
    {
        var tar = new MemoryStream();
        await using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (path, content) in files)
            {
                var entry = new PaxTarEntry(TarEntryType.RegularFile, path.TrimStart('/'))
                {
                    DataStream = new MemoryStream(content),
                    Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                    ModificationTime = DateTimeOffset.UtcNow,
                };
                await writer.WriteEntryAsync(entry, ct).ConfigureAwait(false);
            }
        }
        return tar;
    }

    /// <summary>The regular files of a tar archive; directories, links and other entries are skipped.</summary>
    internal static async Task<IReadOnlyDictionary<string, byte[]>> UnpackAsync(Stream archive, CancellationToken ct)
    {
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        await using var reader = new TarReader(archive, leaveOpen: true);
        while (await reader.GetNextEntryAsync(copyData: false, ct).ConfigureAwait(false) is { } entry)
        {
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null) continue;
            using var content = new MemoryStream();
            await entry.DataStream.CopyToAsync(content, ct).ConfigureAwait(false);
            files[entry.Name] = content.ToArray();
        }
        return files;
    }

    /// <summary>Copies the stream, failing as soon as more than <paramref name="maxBytes"/> arrive.</summary>
    internal static async Task CopyBoundedAsync(Stream from, Stream to, long maxBytes, string what, CancellationToken ct)
    {
        var buffer = new byte[81920];
        long total = 0;
        int read;
        while ((read = await from.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            total += read;
            if (total > maxBytes)
                throw new InvalidDataException($"copy from {what}: the archive is larger than the limit of {maxBytes} bytes; copy a smaller path");
            await to.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
        }
    }
}
