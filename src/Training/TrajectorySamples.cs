using MegaFlow.Contracts.Training;
using MegaFlow.Model.Tokenization;

namespace MegaFlow.Training;

/// <summary>
/// A task attempt's <see cref="Trajectory"/> as the trainer's samples: one per model call that has
/// tokens, all with the attempt's reward and group, so the policy is credited for every decision of a
/// rewarded attempt. (A trajectory with more decisions weighs more in its group; a per-trajectory
/// weighting is a later refinement.)
/// <para>What says nothing about the policy becomes one failed sample, left out of the advantages and
/// counted: an infrastructure failure, and a cancelled attempt (an operator's decision). An attempt the
/// policy ran out of time or failed itself scores 0.</para>
/// </summary>
public static class TrajectorySamples
{
    public static IReadOnlyList<TrajectorySample> From(Trajectory t)
    {
        var version = t.Turns.Select(turn => turn.WeightVersion ?? 0).DefaultIfEmpty(0).Max();
        if (t.IsInfrastructureFailure || t.Outcome == "cancelled")
            return [TrajectorySample.Failed(t.Group, version, $"{t.Id}: {t.Outcome}")];
        return t.Turns
            .Where(turn => turn.ResponseTokenIds.Count > 0 && turn.ResponseLogProbs.Count == turn.ResponseTokenIds.Count && turn.WeightVersion is not null)
            .Select(turn => new TrajectorySample
            {
                GroupId = t.Group,
                PromptTokenIds = [.. turn.PromptTokenIds],
                ResponseTokenIds = [.. turn.ResponseTokenIds],
                OldLogProbs = [.. turn.ResponseLogProbs],
                WeightVersion = turn.WeightVersion!.Value,
                Reward = t.Reward ?? 0,
                // As the model service builds a chat call's choices: each answer's bytes, then the end of the turn.
                GuidedChoices = turn.GuidedChoice?.Select(c => (int[])[.. ByteTokenizer.Encode(c), ByteTokenizer.TurnEnd]).ToList(),
            })
            .ToList();
    }
}
