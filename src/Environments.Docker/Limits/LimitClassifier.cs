using System.Collections.Concurrent;

namespace MegaFlow.Environments.Docker.Limits;

/// <summary>
/// Tells which of a container's limits a command ran into, by comparing the container cgroup's
/// OOM-kill and pids-limit counters with their values after the previous command, and words the
/// notes appended to a command's output for a limit hit or a timeout.
/// </summary>
/// <remarks>
/// Counters are kept per container id and forgotten when the container is created, restarted or
/// removed: a new or restarted container's cgroup counts from zero.
/// </remarks>
internal sealed class LimitClassifier
{
    private readonly Func<string, (long Oom, long PidsMax)?> _read;
    // Container id → counters as last read.
    private readonly ConcurrentDictionary<string, (long Oom, long PidsMax)> _last = new(StringComparer.Ordinal);

    /// <summary>Reads the counters from the host's cgroup file system (<see cref="CgroupCounters"/>).</summary>
    public LimitClassifier() : this(CgroupCounters.Read)
    {
    }

    /// <param name="read">The container's current counters, or null when they cannot be read.</param>
    public LimitClassifier(Func<string, (long Oom, long PidsMax)?> read) => _read = read;

    /// <summary>
    /// The limit hit since the last call for this container: memory when the OOM killer ran (it
    /// wins, as the likelier cause of a failed command), else pids when a fork was refused; null
    /// when neither counter grew or the counters are unreadable.
    /// </summary>
    public ResourceLimit? Classify(string containerId)
    {
        var now = _read(containerId);
        if (now is null) return null;
        var before = _last.GetValueOrDefault(containerId);
        _last[containerId] = now.Value;
        return now.Value.Oom > before.Oom ? ResourceLimit.Memory
            : now.Value.PidsMax > before.PidsMax ? ResourceLimit.Pids
            : null;
    }

    /// <summary>Starts the container's counting afresh (its cgroup is new).</summary>
    public void Forget(string containerId) => _last.TryRemove(containerId, out _);

    /// <summary>The note appended to the output of a command that ran into a limit.</summary>
    public static string Note(ResourceLimit limit, string environmentId) => limit switch
    {
        ResourceLimit.Memory => $"\n[megaflow] memory limit reached in {environmentId}: the kernel killed a process (OOM)\n",
        _ => $"\n[megaflow] process limit (pids) reached in {environmentId}: forks failed\n",
    };

    /// <summary>The note appended to the output of a command killed on its timeout.</summary>
    public static string TimeoutNote(TimeSpan timeout) =>
        $"\n[megaflow] command killed after its timeout of {timeout.TotalSeconds:0.###}s (every process in the environment was stopped; files are kept)\n";
}
