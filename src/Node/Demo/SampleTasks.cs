using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;

namespace MegaFlow.Node.Demo;

/// <summary>
/// The built-in sample set: small "fix the bug until the test passes" tasks that run real shell
/// commands. Each task writes a tiny module with a bug and a test script, runs the failing test,
/// applies a fix, and is scored by the test's exit code. Every seventh task applies a wrong fix, so
/// the summary shows unsolved tasks too. Half the tasks are ephemeral, half persistent (three pools).
/// Ids are deterministic so that a restarted demo resubmits the same tasks (idempotent) and resumes.
/// </summary>
public static class SampleTasks
{
    private static readonly string[] Pools = ["sample-py", "sample-sh", "sample-calc"];

    /// <summary>The image the demo's tasks run in on the Docker provider (built by scripts/images.sh).</summary>
    public const string DockerImage = "megaflow/base:1";

    /// <param name="count">Number of tasks.</param>
    /// <param name="image">The image every task runs in (Docker); null keeps the pool names as images (local, simulated).</param>
    public static IReadOnlyList<TaskSpec> Create(int count, string? image = null)
    {
        var tasks = new List<TaskSpec>(count);
        for (var i = 0; i < count; i++)
        {
            var persistent = i % 2 == 1;
            var wrongFix = i % 7 == 3;
            var a = 3 + i % 11;
            var b = 5 + i % 13;
            var op = wrongFix ? "*" : "+";
            tasks.Add(new TaskSpec
            {
                TaskId = $"demo-{(persistent ? "p" : "e")}-{i:D4}",
                Mode = persistent ? "persistent" : "ephemeral",
                Image = image ?? Pools[i % Pools.Length],
                Pool = Pools[i % Pools.Length],
                Actions =
                [
                    // A repository with a bug: add() subtracts.
                    "printf 'add() { echo $(( $1 - $2 )); }\\n' > lib.sh && cat lib.sh",
                    $"printf '. ./lib.sh\\n[ \"$(add {a} {b})\" = \"{a + b}\" ]\\n' > test.sh && cat test.sh",
                    // The agent runs the failing test, then edits the code.
                    "sh test.sh; echo \"test exit: $?\"",
                    $"sed -i 's/\\$1 - \\$2/$1 {op} $2/' lib.sh && cat lib.sh",
                ],
                ScoreCommand = "sh test.sh",
                MaxRounds = 10,
                SetupTimeoutSeconds = 60,
                RunTimeoutSeconds = 120,
                ScoringTimeoutSeconds = 30,
                ExecTimeoutSeconds = 20,
                Metadata = new Dictionary<string, string> { ["dataset"] = "megaflow-demo" },
            });
        }
        return tasks;
    }
}
