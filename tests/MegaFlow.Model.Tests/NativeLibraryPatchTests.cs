namespace MegaFlow.Model.Tests;

/// <summary>
/// The build step that makes TorchSharp load on Debian 12 (build/MarkElfVersionNeedWeak.cs): it flips
/// exactly one flag, is idempotent, and the copy this test run loaded is what it produces — or the
/// untouched original where the host's libstdc++ has GLIBCXX_3.4.32.
/// </summary>
public sealed class NativeLibraryPatchTests
{
    private const string Version = "GLIBCXX_3.4.32";

    private static string Original()
    {
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
            ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        return Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
    }

    private static string Loaded() => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    [Fact]
    public void Marking_the_requirement_weak_changes_one_flag_and_is_idempotent()
    {
        var original = File.ReadAllBytes(Original());
        var patched = (byte[])original.Clone();
        Assert.Equal("patched", ElfVersionNeeds.MarkWeak(patched, Version));
        var changed = Enumerable.Range(0, original.Length).Where(i => original[i] != patched[i]).ToList();
        Assert.Single(changed); // vna_flags' low byte gains VER_FLG_WEAK (0x2)
        Assert.Equal(original[changed[0]] | 0x2, patched[changed[0]]);
        var again = (byte[])patched.Clone();
        Assert.Equal("already weak", ElfVersionNeeds.MarkWeak(again, Version));
        Assert.Equal(patched, again);
        Assert.Equal("no such requirement", ElfVersionNeeds.MarkWeak((byte[])original.Clone(), "GLIBCXX_9.9.9"));
        Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.MarkWeak(new byte[128], Version));
    }

    [Fact]
    public void The_loaded_copy_is_patched_exactly_when_the_host_libstdcxx_lacks_the_version()
    {
        var host = new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6" }.First(File.Exists);
        var hostBytes = File.ReadAllBytes(host);
        Assert.True(ElfVersionNeeds.DefinesVersion(hostBytes, "GLIBCXX_3.4.30")); // Debian 12 and later
        var original = File.ReadAllBytes(Original());
        var expected = (byte[])original.Clone();
        if (!ElfVersionNeeds.DefinesVersion(hostBytes, Version)) ElfVersionNeeds.MarkWeak(expected, Version);
        Assert.Equal(expected, File.ReadAllBytes(Loaded()));
        Assert.Equal(original, File.ReadAllBytes(Original())); // the NuGet cache is never modified
    }
}
