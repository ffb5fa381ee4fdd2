namespace MegaFlow.Training;

/// <summary>Hyper-parameters of a GSPO trainer step. Validation errors name the field.</summary>
public sealed record GspoOptions
{
    /// <summary>Lower clip of the sequence ratio: 1 − ε_low (the GSPO paper's 3e-4).</summary>
    public double EpsilonLow { get; init; } = 3e-4;

    /// <summary>Upper clip of the sequence ratio: 1 + ε_high (the GSPO paper's 4e-4).</summary>
    public double EpsilonHigh { get; init; } = 4e-4;

    /// <summary>Sequences per optimizer update; the batch is cut into minibatches of this size.</summary>
    public int MinibatchSize { get; init; } = 32;

    /// <summary>Passes over the batch per step (the paper's 2). Only the first minibatch of the first pass sees s = 1 exactly.</summary>
    public int PpoEpochs { get; init; } = 2;

    /// <summary>Global L2 norm the gradient is clipped to before each update (≤ 0: no clipping).</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>
    /// AdamW's learning rate. The default suits this project's small CPU policies (a GRU of ~100k
    /// parameters), not the 1e-6 range of large language models.
    /// </summary>
    public double LearningRate { get; init; } = 1e-3;

    public double WeightDecay { get; init; } = 0.0;

    public double Beta1 { get; init; } = 0.9;

    public double Beta2 { get; init; } = 0.999;

    /// <summary>Seeds the minibatch shuffle (with the weight version, so a resumed trainer shuffles the same way).</summary>
    public int Seed { get; init; }

    public GspoOptions Validated()
    {
        if (!(EpsilonLow >= 0 && EpsilonLow < 1)) throw new ArgumentException($"epsilon_low: {EpsilonLow} is outside [0, 1)");
        if (!(EpsilonHigh >= 0 && double.IsFinite(EpsilonHigh))) throw new ArgumentException($"epsilon_high: {EpsilonHigh} is not a finite value >= 0");
        if (MinibatchSize < 1) throw new ArgumentException($"minibatch_size: {MinibatchSize} is below 1");
        if (PpoEpochs < 1) throw new ArgumentException($"ppo_epochs: {PpoEpochs} is below 1");
        if (!(LearningRate > 0 && double.IsFinite(LearningRate))) throw new ArgumentException($"learning_rate: {LearningRate} is not a positive number");
        if (!(WeightDecay >= 0)) throw new ArgumentException($"weight_decay: {WeightDecay} is negative");
        if (!(Beta1 >= 0 && Beta1 < 1) || !(Beta2 >= 0 && Beta2 < 1)) throw new ArgumentException($"betas: ({Beta1}, {Beta2}) must be in [0, 1)");
        if (double.IsNaN(MaxGradNorm)) throw new ArgumentException("max_grad_norm: NaN");
        return this;
    }
}

/// <summary>What one trainer step did.</summary>
public sealed record GspoStepStats
{
    /// <summary>The weight version after the step (the previous one + 1 when anything was trained).</summary>
    public long Version { get; init; }

    /// <summary>Whether the step changed the weights (and, with a weight store, saved them as <see cref="Version"/>).</summary>
    public bool Updated { get; init; }

    /// <summary>Distinct sequences that entered the loss (0 when every group's advantages were zero: no update then).</summary>
    public int SequencesTrained { get; init; }

    public int GroupsTrained { get; init; }

    /// <summary>Groups left out because fewer than 2 scored samples remained after infrastructure failures.</summary>
    public int GroupsSkipped { get; init; }

    /// <summary>Trained groups whose rewards were all equal (zero advantages: no gradient from them).</summary>
    public int ZeroAdvantageGroups { get; init; }

    public int InfrastructureFailures { get; init; }

    /// <summary>Mean reward over every scored sample of the batch (skipped groups' included).</summary>
    public double MeanReward { get; init; }

    /// <summary>The loss of the first update (every ratio is 1 there when the samples are on-policy).</summary>
    public double FirstLoss { get; init; }

    /// <summary>The mean loss over all updates of the step.</summary>
    public double MeanLoss { get; init; }

    /// <summary>Share of sequence evaluations (over all epochs) whose clipped term won the min, giving no gradient.</summary>
    public double ClipFraction { get; init; }

    /// <summary>Largest |s − 1| in the first update: ~0 when the sampler's log-probs match the trainer's.</summary>
    public double FirstUpdateMaxRatioDeviation { get; init; }

    /// <summary>Response tokens of the trained sequences (counted once, not per epoch).</summary>
    public long Tokens { get; init; }

    public int Updates { get; init; }

    /// <summary>Updates dropped because the loss or the gradient norm was not finite (the weights stay as they were).</summary>
    public int NonFiniteUpdatesSkipped { get; init; }

    /// <summary>Mean gradient norm before clipping.</summary>
    public double MeanGradNorm { get; init; }

    /// <summary>How many versions behind the trained-on weights the oldest sample was.</summary>
    public long MaxStaleness { get; init; }

    public TimeSpan Elapsed { get; init; }
}
