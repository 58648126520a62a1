using System.Collections.Immutable;
using ActorLab.Model.Training;

namespace ActorLab.Actors.Sweeps;

/// <summary>
/// A sweep as written in a HOCON sweep file, validated: the grid (every combination becomes a run) and the run
/// settings every run shares, as a <see cref="RunConfig"/> template (its grid fields are filled per run by
/// <see cref="SweepPlanner"/>). <see cref="SweepFile.Parse"/> builds it.
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
    public required bool Bipartite { get; init; }
    public required int DatasetSeed { get; init; }
    public required int VocabSize { get; init; }
    /// <summary>Value lists folder (null: the built-in lists).</summary>
    public string? ListsDir { get; init; }
    /// <summary>Every setting runs share; grid fields are placeholders.</summary>
    public required RunConfig Template { get; init; }

    /// <summary>How many runs the grid makes (before planning).</summary>
    public long RunCount => (long)Layers.Length * ParamBudgets.Length * Relations.Length *
                            Math.Max(TargetBits.Length, NProfiles.Length) * Orders.Length * Seeds.Length;
}
