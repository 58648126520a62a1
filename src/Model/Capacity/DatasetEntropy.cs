using ActorLab.Model.Profiles;

namespace ActorLab.Model.Capacity;

/// <summary>
/// Distinct-value counts of a profiles dataset: everything the entropy formulas need (SPEC 5). Counts are doubles
/// because <see cref="NSolver"/> fills them with expected counts for a dataset it has not generated.
/// </summary>
public sealed record DistinctCounts(
    double FirstNames,
    double MiddleNames,
    double LastNames,
    double BirthDates,
    double BirthCities,
    double Universities,
    double Employers,
    IReadOnlyList<double> RelationTargets)
{
    /// <summary>M of SPEC 5: the number of full names the distinct name parts can form.</summary>
    public double NameSpace => FirstNames * MiddleNames * LastNames;
}

/// <summary>
/// The entropies of one dataset under one selection scheme: H_a (bits) per subject in subject-id order
/// (<see cref="Subjects"/>: birth_date, birth_city, university, employer, then the relations), and the name and
/// birth-date selection entropies (total bits).
/// </summary>
public sealed record DatasetEntropy(
    int N,
    int Relations,
    SelectionScheme Selection,
    IReadOnlyList<double> SubjectEntropies,
    double NameSelectionEntropy,
    double BirthDateSelectionEntropy)
{
    public int SubjectCount => SubjectEntropies.Count;

    public IReadOnlyList<string> SubjectNames => Subjects.Names(Relations);

    /// <summary>sum_a H_a: bits per profile at zero loss, before the multiplier.</summary>
    public double SumEntropy => SubjectEntropies.Sum();

    /// <summary>baseline_capacity of the reference tables: the selection entropies alone.</summary>
    public double BaselineCapacity => NameSelectionEntropy + BirthDateSelectionEntropy;
}
