using ActorLab.Model.Common;
using ActorLab.Model.Profiles;

namespace ActorLab.Model.Capacity;

/// <summary>Sizes of the value lists a dataset is drawn from: all the N solver needs of them.</summary>
public sealed record ValueListSizes(int FirstNames, int LastNames, int BirthCities, int Universities, int Employers)
{
    /// <summary>The reference lists (../shared/data/reference-lists), which reference datasets were drawn from.</summary>
    public static readonly ValueListSizes Reference = new(5163, 88799, 223, 100, 73);

    public static ValueListSizes Of(ValueLists lists) =>
        new(lists.FirstNames.Count, lists.Surnames.Count, lists.Cities.Count, lists.Universities.Count, lists.Employers.Count);
}

/// <summary>What the solver found: N and the 1-hop dataset entropy it predicts for N profiles.</summary>
public sealed record NSolution(int N, double PredictedEntropy1Hop, double TargetBits);

/// <summary>
/// Finds the number of profiles N whose 1-hop dataset entropy is closest to a target number of bits (SPEC 5, 7).
/// A dataset of N profiles is not generated for every candidate: its distinct counts are replaced by their
/// expectations under the generator's draws (SPEC 1):
/// - a value drawn uniformly from a pool of K, N times, shows E[distinct] = K (1 - (1 - 1/K)^N) values
///   (birth_city, university, employer, first, middle and last names; the redraw of a colliding full name is
///   ignored: it changes these counts by far less than one);
/// - birth dates are uniform over the D = 73048 days and then clamped to day 28, so date v has probability
///   c_v / D (c_v = 1..4 days map to it) and E[distinct] = sum_v 1 - (1 - c_v/D)^N;
/// - a uniform relation points N times at one of N profiles: E[distinct targets] = N (1 - (1 - 1/N)^N) (~0.632 N);
///   a bipartite one (perfect matchings) reaches every profile: N.
/// H_a = log2 E[distinct] (not E[log2 distinct]; the two differ by O(1/N) relative), the selection entropies
/// use the same expected counts. The 1-hop entropy grows with N, so the solver brackets the target by doubling
/// and bisects over integers, then picks the closer of the two neighbours. Callers check the answer by
/// generating that N (<c>actorlab solve-n</c> does).
/// </summary>
public static class NSolver
{
    /// <summary>E[distinct] of <paramref name="draws"/> uniform draws from <paramref name="pool"/> values.</summary>
    public static double ExpectedDistinct(double pool, double draws) =>
        pool <= 1 ? Math.Min(pool, draws) : -pool * double.ExpM1(draws * double.LogP1(-1 / pool));

    // How many calendar dates have 1, 2, 3 or 4 of the D days mapped onto them by the day-28 clamp.
    static readonly (int Multiplicity, int Dates)[] DateMultiplicities = BuildDateMultiplicities();

    static (int, int)[] BuildDateMultiplicities()
    {
        var perDate = new Dictionary<(int, int, int), int>();
        var start = new DateOnly(1900, 1, 1);
        for (int d = 0; d < EntropyCalculator.BirthDateDays; d++)
        {
            var date = start.AddDays(d);
            var key = (date.Year, date.Month, Math.Min(date.Day, 28));
            perDate[key] = perDate.GetValueOrDefault(key) + 1;
        }
        return perDate.Values.GroupBy(c => c).OrderBy(g => g.Key).Select(g => (g.Key, g.Count())).ToArray();
    }

    /// <summary>E[distinct birth dates] among n profiles.</summary>
    public static double ExpectedDistinctBirthDates(double n)
    {
        double sum = 0;
        foreach (var (mult, dates) in DateMultiplicities)
            sum -= dates * double.ExpM1(n * double.LogP1(-(double)mult / EntropyCalculator.BirthDateDays));
        return sum;
    }

    /// <summary>Expected distinct counts of a freshly generated dataset of n profiles.</summary>
    public static DistinctCounts ExpectedCounts(int n, int relations, ValueListSizes lists, bool bipartite = false)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), "N must be at least 1");
        double firsts = ExpectedDistinct(lists.FirstNames, n);
        double targets = bipartite ? n : ExpectedDistinct(n, n);
        return new DistinctCounts(
            FirstNames: firsts,
            MiddleNames: firsts,
            LastNames: ExpectedDistinct(lists.LastNames, n),
            BirthDates: ExpectedDistinctBirthDates(n),
            BirthCities: ExpectedDistinct(lists.BirthCities, n),
            Universities: ExpectedDistinct(lists.Universities, n),
            Employers: ExpectedDistinct(lists.Employers, n),
            RelationTargets: Enumerable.Repeat(targets, relations).ToArray());
    }

    public static DatasetEntropy ExpectedEntropy(int n, int relations, ValueListSizes lists, SelectionScheme selection, bool bipartite = false) =>
        EntropyCalculator.FromCounts(n, ExpectedCounts(n, relations, lists, bipartite), selection);

    /// <summary>The 1-hop dataset entropy (bits) expected for n profiles. The scheme does not change 1-hop entropy.</summary>
    public static double ExpectedEntropy1Hop(int n, int relations, ValueListSizes lists, SelectionScheme selection,
        CapacityScheme scheme = CapacityScheme.Optimal, bool bipartite = false) =>
        CapacityCalculator.DatasetEntropy1Hop(ExpectedEntropy(n, relations, lists, selection, bipartite), scheme);

    public const int MaxN = 1 << 30;

    /// <summary>The N (1..2^30) whose expected 1-hop dataset entropy is closest to <paramref name="targetBits"/>.</summary>
    public static NSolution Solve(double targetBits, int relations, ValueListSizes lists, SelectionScheme selection,
        CapacityScheme scheme = CapacityScheme.Optimal, bool bipartite = false)
    {
        if (!(targetBits > 0) || double.IsInfinity(targetBits))
            throw new UserInputException($"--target-bits must be a positive number of bits, got {targetBits}.");
        if (relations is < 1 or > RelationNames.Max)
            throw new UserInputException($"--relations must be 1..{RelationNames.Max}, got {relations}.");
        double F(int n) => ExpectedEntropy1Hop(n, relations, lists, selection, scheme, bipartite);

        int lo = 1, hi = 2;
        if (F(lo) >= targetBits) return new NSolution(1, F(1), targetBits);
        while (F(hi) < targetBits)
        {
            lo = hi;
            if (hi >= MaxN)
                throw new UserInputException($"--target-bits {targetBits:G6} needs more than {MaxN} profiles.");
            hi = Math.Min(MaxN, hi * 2);
        }
        // Invariant: F(lo) < target <= F(hi).
        while (hi - lo > 1)
        {
            int mid = lo + (hi - lo) / 2;
            if (F(mid) < targetBits) lo = mid; else hi = mid;
        }
        double flo = F(lo), fhi = F(hi);
        return targetBits - flo <= fhi - targetBits ? new NSolution(lo, flo, targetBits) : new NSolution(hi, fhi, targetBits);
    }
}
