using System.Collections.Immutable;
using ActorLab.Model.Capacity;
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
    /// <summary>How the finished sweep is measured (`sweep.measure`).</summary>
    public SweepMeasure Measure { get; init; } = SweepMeasure.Default;
    /// <summary>A data-parallel run may place its ranks on several nodes when no one node has the slots (`sweep.allow-cross-node`).</summary>
    public bool AllowCrossNode { get; init; }

    /// <summary>How many runs the grid makes (before planning).</summary>
    public long RunCount => (long)Layers.Length * ParamBudgets.Length * Relations.Length *
                            Math.Max(TargetBits.Length, NProfiles.Length) * Orders.Length * Seeds.Length;
}

/// <summary>
/// How a finished sweep's capacity is measured (`sweep.measure { }`): tables for every scheme x selection scheme,
/// subject-wise or averaged, capacity plots at every hop level. Journalled with the sweep, so the measure job
/// on whichever node runs it measures the way the sweep file said.
/// </summary>
public sealed record SweepMeasure
{
    public ImmutableArray<CapacityScheme> Schemes { get; init; } = [CapacityScheme.Optimal];
    public ImmutableArray<SelectionScheme> SelectionSchemes { get; init; } = [SelectionScheme.Optimal];
    public bool Subjectwise { get; init; }
    /// <summary>Hop levels of the capacity plots; empty: 1, and 2 when a run trains 2-hop questions.</summary>
    public ImmutableArray<double> Hops { get; init; } = [];

    public static readonly SweepMeasure Default = new();

    public bool IsDefault => Equals(Default);

    // by content: ImmutableArray compares by reference, and journalled copies must equal the original
    public bool Equals(SweepMeasure? other) =>
        other is not null && Schemes.SequenceEqual(other.Schemes) && SelectionSchemes.SequenceEqual(other.SelectionSchemes) &&
        Subjectwise == other.Subjectwise && Hops.SequenceEqual(other.Hops);

    public override int GetHashCode() => HashCode.Combine(Schemes.Length, SelectionSchemes.Length, Subjectwise, Hops.Length);

    /// <summary>The settings in sweep-file words, e.g. "schemes=[2-hop-double] selection-schemes=[optimal] subjectwise=true hops=[2, 2.1]".</summary>
    public override string ToString() =>
        $"schemes=[{string.Join(", ", Schemes.Select(s => s.Name()))}] selection-schemes=[{string.Join(", ", SelectionSchemes.Select(s => s.Name()))}] " +
        $"subjectwise={(Subjectwise ? "true" : "false")} hops=[{string.Join(", ", Hops.Select(h => h.ToString(System.Globalization.CultureInfo.InvariantCulture)))}]";
}
