using MegaFlow.Contracts.Training;

namespace MegaFlow.Domain.Training;

/// <summary>How the trainer groups and filters what arrives.</summary>
/// <param name="Replicas">Trajectories per group when all are in.</param>
/// <param name="GroupDeadline">A group waits this long after its first trajectory; then it is trained with those present.</param>
/// <param name="Staleness">S: a trajectory sampled with a version older than the current one minus S is not trained on. 0 is on-policy.</param>
public sealed record TrainingBufferSettings(int Replicas, TimeSpan GroupDeadline, int Staleness);

/// <summary>What became of an offered trajectory.</summary>
public enum Offered
{
    /// <summary>Kept in its group until the group is ready.</summary>
    Pending,
    /// <summary>Already trained on, or already pending (a re-delivery): dropped.</summary>
    Duplicate,
    /// <summary>Sampled with a version older than the bound: dropped and counted.</summary>
    Stale,
}

/// <summary>A group ready to train: its trajectories, the infrastructure failures left out of its advantages, and whether all replicas came.</summary>
public sealed record ReadyGroup(string Group, IReadOnlyList<Trajectory> Trainable, IReadOnlyList<Trajectory> InfrastructureFailures, bool Complete);

/// <summary>
/// The trainer's intake, as pure state: deduplicates re-delivered trajectories (at-least-once delivery
/// from the journal), drops stale ones, groups the rest by group id, and says which groups are ready and
/// how far the journal may be acknowledged. The trainer persists what it took (<see cref="Consumed"/>)
/// and the watermark; after a restart it asks for trajectories after the watermark and this buffer,
/// rebuilt from the journal, drops those it already took.
/// <para>Infrastructure failures say nothing about the policy: they are kept with their group only to be
/// counted, and left out of its advantages. A group with fewer than two trainable trajectories has no
/// advantage to learn from (a single reward normalises to zero): it is consumed without training.</para>
/// </summary>
public sealed class TrainingBuffer(TrainingBufferSettings settings)
{
    private readonly HashSet<string> _consumed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (DateTimeOffset First, List<Trajectory> Members)> _groups = new(StringComparer.Ordinal);
    private long _lastPosition;

    public TrainingBufferSettings Settings => settings;

    /// <summary>Ids of trajectories taken for good (trained, stale, or excluded): re-deliveries of these are dropped.</summary>
    public IReadOnlyCollection<string> Consumed => _consumed;

    /// <summary>Trajectories waiting in groups.</summary>
    public int Pending => _groups.Values.Sum(g => g.Members.Count);

    /// <summary>
    /// The journal position below which everything has been taken for good: the lowest pending
    /// trajectory's position minus one, or the last position seen when nothing is pending.
    /// </summary>
    public long Watermark => _groups.Count == 0 ? _lastPosition : _groups.Values.SelectMany(g => g.Members).Min(t => t.Position) - 1;

    /// <summary>Marks trajectories taken for good (from the trainer's journal on recovery, or after a step).</summary>
    public void MarkConsumed(IEnumerable<string> ids, long watermark)
    {
        foreach (var id in ids) _consumed.Add(id);
        _lastPosition = Math.Max(_lastPosition, watermark);
    }

    /// <summary>Offers one delivered trajectory at the trainer's current weight version.</summary>
    public Offered Offer(Trajectory t, long currentVersion, DateTimeOffset now)
    {
        if (_consumed.Contains(t.Id) || (_groups.TryGetValue(t.Group, out var g) && g.Members.Exists(m => m.Id == t.Id)))
            return Offered.Duplicate;
        _lastPosition = Math.Max(_lastPosition, t.Position);
        if (!t.IsInfrastructureFailure && IsStale(t, currentVersion))
        {
            _consumed.Add(t.Id);
            return Offered.Stale;
        }
        if (!_groups.TryGetValue(t.Group, out g))
            _groups[t.Group] = g = (now, []);
        g.Members.Add(t);
        return Offered.Pending;
    }

    /// <summary>True when any turn was sampled with a version older than current − S (a turn without a version counts as stale: its lineage is unknown).</summary>
    public bool IsStale(Trajectory t, long currentVersion) =>
        t.Turns.Any(turn => turn.WeightVersion is not { } v || v < currentVersion - settings.Staleness);

    /// <summary>Takes the groups that are ready: all replicas in, or past the deadline since their first trajectory.</summary>
    public IReadOnlyList<ReadyGroup> TakeReady(DateTimeOffset now)
    {
        var ready = new List<ReadyGroup>();
        foreach (var (group, (first, members)) in _groups.ToList())
        {
            var complete = members.Count >= settings.Replicas;
            if (!complete && now - first < settings.GroupDeadline) continue;
            _groups.Remove(group);
            ready.Add(new ReadyGroup(group, members.Where(m => !m.IsInfrastructureFailure).ToList(), members.Where(m => m.IsInfrastructureFailure).ToList(), complete));
        }
        return ready;
    }

    /// <summary>
    /// Takes every pending group <paramref name="which"/> selects, ready or not: a trainer that knows a
    /// step is over (all its tasks reported, or the step's deadline passed) takes that step's groups at once.
    /// </summary>
    public IReadOnlyList<ReadyGroup> Take(Func<string, bool> which)
    {
        var taken = new List<ReadyGroup>();
        foreach (var (group, (_, members)) in _groups.Where(g => which(g.Key)).ToList())
        {
            _groups.Remove(group);
            taken.Add(new ReadyGroup(group, members.Where(m => !m.IsInfrastructureFailure).ToList(), members.Where(m => m.IsInfrastructureFailure).ToList(),
                members.Count >= settings.Replicas));
        }
        return taken;
    }

    /// <summary>The earliest time a pending group's deadline passes, if any is pending.</summary>
    public DateTimeOffset? NextDeadline => _groups.Count == 0 ? null : _groups.Values.Min(g => g.First) + settings.GroupDeadline;
}
