using MegaFlow.Contracts.Management;

namespace MegaFlow.Chaos;

/// <summary>The run's node processes and what the harness asks of them through the management API.</summary>
public sealed class ChaosCluster(IReadOnlyList<ChaosNode> nodes, ManagementApi api) : IDisposable
{
    public IReadOnlyList<ChaosNode> Nodes { get; } = nodes;
    public ManagementApi Api { get; } = api;

    /// <summary>Seeds are the first two nodes (one when there is only one).</summary>
    public IReadOnlyList<string> Seeds => Nodes.Take(2).Select(n => n.Address).ToList();

    public void StartAll()
    {
        foreach (var n in Nodes) n.Start();
    }

    /// <summary>
    /// Waits until every node runs and each one sees exactly the N members, all Up and reachable (a
    /// restarted node's old incarnation removed). Returns false at the timeout.
    /// </summary>
    public async Task<bool> WaitWholeAsync(TimeSpan timeout, CancellationToken ct = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Nodes.All(n => n.Started))
            {
                var views = await Task.WhenAll(Nodes.Select(n => Api.ClusterAsync(n, ct)));
                if (views.All(Whole)) return true;
            }
            await Task.Delay(500, ct);
        }
        return false;
    }

    private bool Whole(ClusterView? v) =>
        v is not null && v.SelfStatus == "up" && v.Unreachable.Count == 0 && v.Members.Count == Nodes.Count
        && v.Members.All(m => m.Status == "up" && m.Reachable);

    /// <summary>
    /// The node hosting the scheduler singleton: the oldest Up member with the scheduler role, as the
    /// first node that answers sees it (GET /api/cluster, oldestByRole).
    /// </summary>
    public async Task<ChaosNode?> SchedulerNodeAsync(CancellationToken ct = default)
    {
        foreach (var n in Nodes.Where(n => n.Started))
        {
            var view = await Api.ClusterAsync(n, ct);
            if (view?.OldestByRole.TryGetValue("scheduler", out var address) == true)
                return Nodes.FirstOrDefault(x => x.Address == address);
        }
        return null;
    }

    public void Dispose()
    {
        foreach (var n in Nodes) n.Dispose();
        Api.Dispose();
    }
}
