using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;

namespace MegaFlow.Cluster.Tests.Infrastructure;

/// <summary>Task specs for tests.</summary>
public static class Specs
{
    public static TaskSpec Simple(string id, string mode = "ephemeral", string pool = "pool-a", IReadOnlyList<string>? actions = null, string score = "exit 0") => new()
    {
        TaskId = id,
        Mode = mode,
        Image = pool,
        Actions = actions ?? ["echo one", "echo two", "echo three"],
        ScoreCommand = score,
        MaxRounds = 10,
        SetupTimeoutSeconds = 60,
        RunTimeoutSeconds = 120,
        ScoringTimeoutSeconds = 60,
        ExecTimeoutSeconds = 20,
        MaxInfraRetries = 5,
    };

    /// <summary>A mixed workload over three pools, half ephemeral and half persistent.</summary>
    public static IReadOnlyList<TaskSpec> Mixed(string prefix, int count) =>
        Enumerable.Range(0, count)
            .Select(i => Simple($"{prefix}-{i:D4}", i % 2 == 0 ? "ephemeral" : "persistent", $"pool-{i % 3}"))
            .ToList();
}
