using System.Globalization;
using MegaFlow.Contracts;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;
using MegaFlow.Node.Demo;

namespace MegaFlow.Chaos;

/// <summary>
/// The demo's sample tasks (a shell "repository" with a bug, a failing test, a fix, scored by the
/// test; half ephemeral, half persistent in three pools), each with one extra round that sleeps, so
/// the work lasts long enough to be running when nodes die.
/// </summary>
public static class ChaosDataset
{
    public const string IdPrefix = "chaos-";

    /// <param name="meanSleepSeconds">Mean of the sleeps; each task sleeps 0.5×–1.5× this, whole seconds.</param>
    public static IReadOnlyList<TaskSpec> Create(int count, string provider, double meanSleepSeconds)
    {
        var samples = SampleTasks.Create(count, provider == "docker" ? SampleTasks.DockerImage : null);
        return samples.Select((s, i) =>
        {
            var sleep = (int)Math.Round(meanSleepSeconds * (0.5 + i % 5 / 4.0), MidpointRounding.AwayFromZero);
            var actions = s.Actions!.ToList();
            // After the failing test and before the fix: the agent "thinking".
            if (sleep > 0) actions.Insert(3, "sleep " + sleep.ToString(CultureInfo.InvariantCulture));
            return s with
            {
                TaskId = $"{IdPrefix}{(s.ExecutionMode == ExecutionMode.Persistent ? "p" : "e")}-{i:D5}",
                Actions = actions,
                ExecTimeoutSeconds = Math.Max(s.ExecTimeoutSeconds, sleep * 2 + 10),
                RunTimeoutSeconds = Math.Max(s.RunTimeoutSeconds, sleep * 2 + 60),
                Metadata = new Dictionary<string, string> { ["dataset"] = "megaflow-chaos" },
            };
        }).ToList();
    }
}
