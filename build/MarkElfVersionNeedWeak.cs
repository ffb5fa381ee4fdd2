// Compiled by MSBuild's RoslynCodeTaskFactory from build/TorchSharpNative.targets (see the README,
// "TorchSharp on Debian 12"). It must stay one self-contained file using only the BCL and MSBuild's
// task API: the factory compiles it at build time against netstandard2.0, with no package references
// (hence the hand-written little-endian reads below).
#nullable enable
using System;
using System.IO;
using System.Text;

#if !ELF_VERSION_NEEDS_ONLY
using Microsoft.Build.Framework;

/// <summary>
/// Marks one version requirement of ELF64 shared libraries as weak (VER_FLG_WEAK in its Vernaux entry
/// of .gnu.version_r), so the dynamic loader accepts a libstdc++ that lacks that version.
/// libLibTorchSharp.so (TorchSharp 0.107) needs GLIBCXX_3.4.32 only for std::ios_base_library_init(),
/// which nothing calls; Debian 12's libstdc++ stops at 3.4.30, so the unpatched library does not load.
/// Runs only when the host's libstdc++ lacks the version (Mode=auto), is idempotent, and rewrites the
/// file through a temporary copy so a hard link into the NuGet cache is never modified in place.
/// </summary>
public sealed class MarkElfVersionNeedWeak : Microsoft.Build.Utilities.Task
{
    /// <summary>The output copies to patch.</summary>
    [Required]
    public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>The version-need name, e.g. GLIBCXX_3.4.32.</summary>
    [Required]
    public string VersionName { get; set; } = "";

    /// <summary>auto: patch only if the host's libstdc++ does not define VersionName; always; never.</summary>
    public string Mode { get; set; } = "auto";

    public override bool Execute()
    {
        if (Mode == "never" || Files.Length == 0) return true;
        if (Mode == "auto")
        {
            var host = HostLibStdCxx();
            if (host != null && ElfVersionNeeds.DefinesVersion(File.ReadAllBytes(host), VersionName))
            {
                Log.LogMessage(MessageImportance.Low, $"{host} defines {VersionName}: TorchSharp's native library is left as shipped");
                return true;
            }
            Log.LogMessage(MessageImportance.Low, $"host libstdc++ ({host ?? "not found"}) lacks {VersionName}: marking that requirement weak");
        }
        else if (Mode != "always")
        {
            Log.LogError($"MegaFlowTorchSharpWeakGlibcxx: unknown mode '{Mode}' (expected auto, always or never)");
            return false;
        }
        foreach (var item in Files)
        {
            var path = item.ItemSpec;
            if (!File.Exists(path)) continue; // not copied in this build (e.g. another RID's asset)
            var bytes = File.ReadAllBytes(path);
            string outcome;
            try { outcome = ElfVersionNeeds.MarkWeak(bytes, VersionName); }
            catch (InvalidDataException e)
            {
                Log.LogError($"{path}: {e.Message}");
                return false;
            }
            if (outcome == "patched")
            {
                var tmp = path + ".weak-tmp";
                File.WriteAllBytes(tmp, bytes);
                File.Delete(path); // unlinks: a hard link into the NuGet cache keeps the original bytes
                File.Move(tmp, path);
                Log.LogMessage(MessageImportance.Normal, $"{path}: {VersionName} requirement marked weak");
            }
            else Log.LogMessage(MessageImportance.Low, $"{path}: {outcome}");
        }
        return !Log.HasLoggedErrors;
    }

    private static string? HostLibStdCxx()
    {
        foreach (var dir in new[] { "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib" })
        {
            var p = Path.Combine(dir, "libstdc++.so.6");
            if (File.Exists(p)) return p;
        }
        return null;
    }
}
#endif

/// <summary>Reads and edits the symbol-version sections of an ELF64 little-endian file held in memory.</summary>
internal static class ElfVersionNeeds
{
    private const uint ShtGnuVerdef = 0x6ffffffd;
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;

    private readonly struct Section
    {
        public Section(uint type, long offset, long size, int link, int info) { Type = type; Offset = offset; Size = size; Link = link; Info = info; }
        public uint Type { get; }
        public long Offset { get; }
        public long Size { get; }
        public int Link { get; }
        public int Info { get; }
    }

    // ELF64 little-endian only: the library this is for is linux-x64.
    private static Section[] Sections(byte[] f)
    {
        if (f.Length < 64 || f[0] != 0x7f || f[1] != (byte)'E' || f[2] != (byte)'L' || f[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (f[4] != 2 || f[5] != 1) throw new InvalidDataException("not a little-endian ELF64 file");
        var shoff = (long)U64(f, 0x28);
        int shentsize = U16(f, 0x3A);
        int shnum = U16(f, 0x3C);
        if (shentsize < 64 || shoff <= 0 || shoff + (long)shnum * shentsize > f.Length)
            throw new InvalidDataException("section header table out of range");
        var result = new Section[shnum];
        for (var i = 0; i < shnum; i++)
        {
            var h = shoff + (long)i * shentsize;
            result[i] = new Section(U32(f, h + 4), (long)U64(f, h + 24), (long)U64(f, h + 32), (int)U32(f, h + 40), (int)U32(f, h + 44));
        }
        return result;
    }

    private static ushort U16(byte[] f, long at) => CheckedAt(f, at, 2) ? (ushort)(f[at] | f[at + 1] << 8) : (ushort)0;

    private static uint U32(byte[] f, long at) => CheckedAt(f, at, 4) ? (uint)(f[at] | f[at + 1] << 8 | f[at + 2] << 16 | f[at + 3] << 24) : 0u;

    private static ulong U64(byte[] f, long at) => U32(f, at) | (ulong)U32(f, at + 4) << 32;

    private static bool CheckedAt(byte[] f, long at, int size)
    {
        if (at < 0 || at + size > f.Length) throw new InvalidDataException($"read at {at} past the end of the file");
        return true;
    }

    private static string CString(byte[] f, Section strtab, uint offset)
    {
        var start = strtab.Offset + offset;
        if (offset >= strtab.Size || start >= f.Length) throw new InvalidDataException("string offset out of range");
        var end = (int)start;
        while (end < f.Length && f[end] != 0) end++;
        return Encoding.ASCII.GetString(f, (int)start, end - (int)start);
    }

    /// <summary>True when the library's .gnu.version_d defines the version (what the loader checks).</summary>
    internal static bool DefinesVersion(byte[] f, string name)
    {
        var sections = Sections(f);
        foreach (var s in sections)
        {
            if (s.Type != ShtGnuVerdef) continue;
            var strtab = sections[s.Link];
            var at = s.Offset;
            for (var i = 0; i < s.Info; i++) // sh_info = number of Verdef entries
            {
                var aux = U32(f, at + 12);
                var next = U32(f, at + 16);
                var vdaName = U32(f, at + aux);
                if (CString(f, strtab, vdaName) == name) return true;
                if (next == 0) break;
                at += next;
            }
        }
        return false;
    }

    /// <summary>Sets VER_FLG_WEAK on the Vernaux entry named <paramref name="name"/>, in memory.</summary>
    /// <returns>"patched", "already weak" or "no such requirement".</returns>
    internal static string MarkWeak(byte[] f, string name)
    {
        var sections = Sections(f);
        foreach (var s in sections)
        {
            if (s.Type != ShtGnuVerneed) continue;
            var strtab = sections[s.Link];
            var need = s.Offset;
            for (var i = 0; i < s.Info; i++) // sh_info = number of Verneed entries (one per needed file)
            {
                int count = U16(f, need + 2);
                var aux = need + U32(f, need + 8);
                for (var j = 0; j < count; j++)
                {
                    // Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32.
                    var flags = U16(f, aux + 4);
                    var vnaName = U32(f, aux + 8);
                    if (CString(f, strtab, vnaName) == name)
                    {
                        if ((flags & VerFlgWeak) != 0) return "already weak";
                        var patched = (ushort)(flags | VerFlgWeak);
                        f[aux + 4] = (byte)patched;
                        f[aux + 5] = (byte)(patched >> 8);
                        return "patched";
                    }
                    var auxNext = U32(f, aux + 12);
                    if (auxNext == 0) break;
                    aux += auxNext;
                }
                var next = U32(f, need + 12);
                if (next == 0) break;
                need += next;
            }
        }
        return "no such requirement";
    }
}
