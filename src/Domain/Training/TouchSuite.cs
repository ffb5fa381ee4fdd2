using MegaFlow.Contracts.Tasks;
using MegaFlow.Contracts.Training;

namespace MegaFlow.Domain.Training;

/// <summary>
/// builtin:touch-v1, the suite a small policy learns from scratch: "ticket N: the test needs the file
/// a.txt". Each task runs in a real environment; the agent (menu-v1: one letter per round) picks among
/// <c>touch a.txt</c>, <c>touch b.txt</c>, <c>touch c.txt</c> and submit, for at most
/// <see cref="MaxRounds"/> rounds; the score command <c>test -f a.txt</c> decides the reward (1 or 0).
/// The policy must learn which command the test needs and that submitting before it fails.
/// <para><b>Known rewards.</b> Optimum 1 (touch a.txt, then submit). A uniformly random policy over the
/// 4 letters with 3 rounds: each round it touches a.txt with 1/4, submits with 1/4 (ending the task),
/// and does something harmless with 1/2, so P(reward) = 1/4 · (1 + 1/2 + 1/4) = 7/16 = 0.4375. A
/// randomly initialised network is not uniform (its preferences depend on the prompt), so its measured
/// first-step reward is shown beside this figure, not asserted equal to it.</para>
/// <para><b>Why one file.</b> A variant where each ticket names one of three files (so the policy must
/// read it) learned too slowly for a few minutes on 2 cores: 0.33 → 0.58 mean reward over 12 steps of
/// 48 tasks with this GRU. A single-letter answer to a fixed need is learned in a handful of steps.</para>
/// <para>Held out: training problems use even ticket numbers, evaluation problems odd ones, so the
/// evaluation never shows a prompt the trainer has seen.</para>
/// </summary>
public static class TouchSuite
{
    public const int MaxRounds = 3;

    public const double Optimum = 1.0;

    public const double UniformRandomReward = 7.0 / 16.0;

    public static readonly string[] Files = ["a.txt", "b.txt", "c.txt"];

    public static readonly string[] Actions = [.. Files.Select(f => $"touch {f}")];

    /// <summary>Problem <paramref name="index"/> of the training (or held-out) half, the same for every run with <paramref name="seed"/>.</summary>
    public static (string Statement, string File) Problem(int index, bool heldOut, int seed)
    {
        var random = new Random(HashCode.Combine(seed, index, heldOut));
        var ticket = 2 * random.Next(1000, 50_000) + (heldOut ? 1 : 0);
        var file = Files[0];
        return ($"Ticket {ticket}: the test needs the file {file}. Create it, then submit.", file);
    }

    /// <summary>The task of replica <paramref name="replica"/> of a problem in <paramref name="group"/>.</summary>
    public static TaskSpec Task(ExperimentSpec experiment, string taskId, string group, int replica, int index, bool heldOut)
    {
        var (statement, file) = Problem(index, heldOut, experiment.Seed);
        return new TaskSpec
        {
            TaskId = taskId,
            Mode = "ephemeral",
            Image = experiment.Image ?? "touch-v1",
            Actions = Actions,
            ScoreCommand = $"test -f {file}",
            MaxRounds = Math.Min(experiment.MaxRounds, MaxRounds),
            SetupTimeoutSeconds = 120,
            RunTimeoutSeconds = 300,
            ScoringTimeoutSeconds = 60,
            ExecTimeoutSeconds = 20,
            // An infrastructure failure is excluded from its group and counted, not retried: a retry
            // would be sampled later (with newer weights) and bias the group toward what recovers.
            MaxInfraRetries = 0,
            Agent = new AgentSpec { Kind = AgentKinds.Model, Template = AgentSpec.MenuTemplate, Temperature = experiment.Temperature, MaxTokens = 2 },
            Metadata = new Dictionary<string, string>
            {
                [TaskSpecValidator.ProblemStatementKey] = statement,
                [TaskMetadataKeys.Group] = group,
                [TaskMetadataKeys.Replica] = replica.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["experiment"] = experiment.Id!,
            },
        };
    }
}
