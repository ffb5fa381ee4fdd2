using MegaFlow.Model.Inference;

namespace MegaFlow.Training;

/// <summary>How a sampled sequence ended, as far as training is concerned.</summary>
public enum SampleOutcome
{
    /// <summary>The task ran and was scored: its reward says something about the policy.</summary>
    Scored,

    /// <summary>
    /// The infrastructure failed (container, gateway, verifier crash): the reward says nothing about
    /// the policy, so the sample is left out of its group's advantages and counted instead.
    /// </summary>
    InfrastructureFailure,
}

/// <summary>
/// One sampled sequence of a group (GSPO compares the samples of a group, normally the replicas of one
/// prompt or task): the token ids exactly as the model service saw and produced them (never
/// re-tokenised text), the sampler's per-token log-probs, the weight version that produced them, and
/// the reward.
/// </summary>
public sealed record TrajectorySample
{
    /// <summary>Samples with the same group id are normalised against each other.</summary>
    public required string GroupId { get; init; }

    public required int[] PromptTokenIds { get; init; }

    /// <summary>Every sampled token, a stop token included (the policy produced it too).</summary>
    public required int[] ResponseTokenIds { get; init; }

    /// <summary>The sampler's log-prob of each response token (log π_old), one per token.</summary>
    public required double[] OldLogProbs { get; init; }

    /// <summary>The weight version the response was sampled with (for staleness; the ratio uses <see cref="OldLogProbs"/>).</summary>
    public required long WeightVersion { get; init; }

    public double Reward { get; init; }

    /// <summary>
    /// For a guided_choice call, the allowed answers as token ids exactly as the engine got them (the
    /// model service appends the turn's terminator to each string). The sampler's log-probs are then the
    /// constrained distribution's (logprobs_definition "guided-choice-constrained"), and the trainer
    /// recomputes that same distribution, so the ratio compares like with like. Null for free sampling.
    /// </summary>
    public IReadOnlyList<int[]>? GuidedChoices { get; init; }

    public SampleOutcome Outcome { get; init; } = SampleOutcome.Scored;

    /// <summary>Why an infrastructure failure happened (reporting only).</summary>
    public string? FailureReason { get; init; }

    public bool IsInfrastructureFailure => Outcome == SampleOutcome.InfrastructureFailure;

    /// <summary>The position of the response among <see cref="GuidedChoices"/>, or -1.</summary>
    public int ChoiceIndex
    {
        get
        {
            if (GuidedChoices is null) return -1;
            for (var i = 0; i < GuidedChoices.Count; i++)
                if (GuidedChoices[i].AsSpan().SequenceEqual(ResponseTokenIds)) return i;
            return -1;
        }
    }

    /// <summary>Throws naming the first inconsistency. Infrastructure failures carry nothing to check.</summary>
    public TrajectorySample Validated(int vocabSize)
    {
        if (string.IsNullOrEmpty(GroupId)) throw new ArgumentException("group id: empty");
        if (IsInfrastructureFailure) return this;
        if (PromptTokenIds.Length == 0) throw new ArgumentException($"group {GroupId}: the prompt is empty");
        if (ResponseTokenIds.Length == 0) throw new ArgumentException($"group {GroupId}: the response is empty (nothing to train)");
        if (OldLogProbs.Length != ResponseTokenIds.Length)
            throw new ArgumentException($"group {GroupId}: {OldLogProbs.Length} old log-probs for {ResponseTokenIds.Length} response tokens");
        if (PromptTokenIds.Concat(ResponseTokenIds).Any(t => t < 0 || t >= vocabSize))
            throw new ArgumentException($"group {GroupId}: a token id is outside the vocabulary (0..{vocabSize - 1})");
        if (OldLogProbs.Any(l => !double.IsFinite(l) || l > 1e-6))
            throw new ArgumentException($"group {GroupId}: an old log-prob is not a finite value <= 0");
        if (!double.IsFinite(Reward)) throw new ArgumentException($"group {GroupId}: reward {Reward} is not finite");
        if (GuidedChoices is not null && ChoiceIndex < 0)
            throw new ArgumentException($"group {GroupId}: the response is none of its guided choices");
        return this;
    }

    /// <summary>
    /// A sample from an inference engine's answer (what the gateway records: prompt ids, every sampled
    /// token with its log-prob, the weight version), for in-process loops and tests.
    /// </summary>
    public static TrajectorySample FromGeneration(string groupId, GenerationRequest request, GenerationResult result, double reward, int sequence = 0)
    {
        var s = result.Sequences[sequence];
        return new TrajectorySample
        {
            GroupId = groupId,
            PromptTokenIds = request.PromptTokenIds,
            ResponseTokenIds = s.Tokens.Select(t => t.TokenId).ToArray(),
            OldLogProbs = s.Tokens.Select(t => t.LogProb).ToArray(),
            WeightVersion = result.WeightVersion,
            Reward = reward,
            GuidedChoices = request.Choices,
        };
    }

    /// <summary>A sample whose run failed for reasons outside the policy.</summary>
    public static TrajectorySample Failed(string groupId, long weightVersion, string reason) => new()
    {
        GroupId = groupId,
        PromptTokenIds = [],
        ResponseTokenIds = [],
        OldLogProbs = [],
        WeightVersion = weightVersion,
        Outcome = SampleOutcome.InfrastructureFailure,
        FailureReason = reason,
    };
}
