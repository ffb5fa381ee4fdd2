namespace MegaFlow.Environments.Docker;

/// <summary>
/// Reads a container's OOM-kill and pids-limit counters from the host's cgroup file system, for
/// classifying what stopped a command. Works when the engine runs on this machine (the unix socket
/// case) with either the cgroupfs or the systemd cgroup driver, cgroup v1 or v2. Read from the host
/// rather than by an exec inside the container: a container at its pids limit cannot start one.
/// </summary>
internal static class CgroupCounters
{
    private const string Root = "/sys/fs/cgroup";

    public static (long Oom, long PidsMax)? Read(string containerId)
    {
        foreach (var (memoryFile, pidsFile) in Candidates(containerId))
        {
            if (!File.Exists(memoryFile) && !File.Exists(pidsFile)) continue;
            return (Counter(memoryFile, "oom_kill"), Counter(pidsFile, "max"));
        }
        return null;
    }

    private static IEnumerable<(string Memory, string Pids)> Candidates(string id)
    {
        // cgroup v1: one hierarchy per controller
        yield return ($"{Root}/memory/docker/{id}/memory.oom_control", $"{Root}/pids/docker/{id}/pids.events");
        yield return ($"{Root}/memory/system.slice/docker-{id}.scope/memory.oom_control", $"{Root}/pids/system.slice/docker-{id}.scope/pids.events");
        // cgroup v2: one unified hierarchy
        yield return ($"{Root}/docker/{id}/memory.events", $"{Root}/docker/{id}/pids.events");
        yield return ($"{Root}/system.slice/docker-{id}.scope/memory.events", $"{Root}/system.slice/docker-{id}.scope/pids.events");
    }

    /// <summary>The value of a "key N" line, 0 when the file or line is missing.</summary>
    private static long Counter(string file, string key)
    {
        try
        {
            foreach (var line in File.ReadLines(file))
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 2 && parts[0] == key && long.TryParse(parts[1], out var v)) return v;
            }
        }
        catch (IOException)
        {
            // the cgroup went away with its container
        }
        catch (UnauthorizedAccessException)
        {
        }
        return 0;
    }
}
