using System.Collections.Immutable;

namespace ActorLab.Actors.Sweeps;

/// <summary>
/// A sweep as written in a HOCON sweep file, validated: the grid (every combination becomes a run) and the
/// training settings every run shares. <see cref="SweepFile.Parse"/> builds it; <see cref="SweepPlanner"/>
/// expands it into datasets and runs.
/// </summary>
public sealed record SweepDefinition
{
    public required string Name { get; init; }
    public required ImmutableArray<int> Layers { get; init; }
    public required ImmutableArray<long> ParamBudgets { get; init; }
    public required ImmutableArray<int> Relations { get; init; }
    /// <summary>Target 1-hop dataset bits (N solved per target); empty when <see cref="NProfiles"/> is given.</summary>
    public required ImmutableArray<double> TargetBits { get; init; }
    public required ImmutableArray<int> NProfiles { get; init; }
    /// <summary>Each entry: the question orders of a run, e.g. [1] or [1, 2].</summary>
    public required ImmutableArray<ImmutableArray<int>> Orders { get; init; }
    public required ImmutableArray<int> Seeds { get; init; }
    public required double HopRatio { get; init; }
    public required bool Bipartite { get; init; }
    public required int DatasetSeed { get; init; }
    public required int VocabSize { get; init; }
    public required TrainingSettings Training { get; init; }
}

/// <summary>What every run of a sweep shares: optimiser, batch, step cap, convergence, eval and checkpoints.</summary>
public sealed record TrainingSettings
{
    public required string Optimizer { get; init; }
    public required double Lr { get; init; }
    public required double Beta1 { get; init; }
    public required double Beta2 { get; init; }
    public required double WeightDecay { get; init; }
    public required int WarmupSteps { get; init; }
    public required string Schedule { get; init; }
    public required int BatchSize { get; init; }
    public required int SeqLen { get; init; }
    public required long MaxSteps { get; init; }
    public required bool ConvergenceEnabled { get; init; }
    public required long ConvergenceMinStep { get; init; }
    public required double ConvergenceThreshold { get; init; }
    /// <summary>Explicit eval steps, or empty for the SPEC 4 log-spaced schedule.</summary>
    public required ImmutableArray<long> EvalSteps { get; init; }
    public required int EvalQuestions { get; init; }
    public required long CheckpointEvery { get; init; }
    public required int KeepLastCheckpoints { get; init; }
    public required int DataParallel { get; init; }
}
