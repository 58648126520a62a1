using ActorLab.Model.Profiles;

namespace ActorLab.Model.Capacity;

/// <summary>
/// Entropies of a profiles dataset (SPEC 5), all in bits: H_a = log2(distinct values of subject a) per profile
/// (for a relation: distinct target names), and the one-off cost of choosing which names and birth dates exist.
/// </summary>
public static class EntropyCalculator
{
    /// <summary>D: days in [1900-01-01, 2099-12-31), the range birth dates are drawn from.</summary>
    public const int BirthDateDays = 73048;

    /// <summary>Name selection: n names out of M possible. optimal n log2 M - n log2 n; enumerate n log2 M; independent 0.</summary>
    public static double NameSelectionEntropy(double n, double nameSpace, SelectionScheme scheme) => scheme switch
    {
        SelectionScheme.Optimal => n * Math.Log2(nameSpace) - n * Math.Log2(n),
        SelectionScheme.Enumerate => n * Math.Log2(nameSpace),
        SelectionScheme.Independent => 0,
        _ => throw new ArgumentOutOfRangeException(nameof(scheme)),
    };

    /// <summary>Birth-date selection: log2 C(D, u) for u distinct dates (optimal and enumerate); 0 for independent.</summary>
    public static double BirthDateSelectionEntropy(double distinctDates, SelectionScheme scheme) => scheme switch
    {
        SelectionScheme.Optimal or SelectionScheme.Enumerate => Log2Binomial(BirthDateDays, distinctDates),
        SelectionScheme.Independent => 0,
        _ => throw new ArgumentOutOfRangeException(nameof(scheme)),
    };

    /// <summary>log2 C(n, k) through log-gamma, so k may be an expected (non-integer) count.</summary>
    public static double Log2Binomial(double n, double k)
    {
        if (k < 0 || k > n) throw new ArgumentOutOfRangeException(nameof(k), $"need 0 <= k <= n, got n={n}, k={k}");
        return (LogGamma(n + 1) - LogGamma(k + 1) - LogGamma(n - k + 1)) / Math.Log(2);
    }

    /// <summary>ln Gamma(x) for x > 0: Stirling's series above 10 (error below 1e-13 relative), recurrence below.</summary>
    public static double LogGamma(double x)
    {
        if (x <= 0) throw new ArgumentOutOfRangeException(nameof(x), "LogGamma needs x > 0");
        double shift = 0;
        while (x < 10) { shift += Math.Log(x); x += 1; }
        double inv = 1 / x, inv2 = inv * inv;
        double series = inv * (1.0 / 12 - inv2 * (1.0 / 360 - inv2 * (1.0 / 1260 - inv2 * (1.0 / 1680))));
        return (x - 0.5) * Math.Log(x) - x + 0.5 * Math.Log(2 * Math.PI) + series - shift;
    }

    /// <summary>Distinct-value counts of a real dataset (distinct strings, as the reference counts them).</summary>
    public static DistinctCounts Count(ProfileDatabase db)
    {
        static int DistinctStrings(InternedColumn c)
        {
            var seen = new bool[c.Values.Length];
            var values = new HashSet<string>(StringComparer.Ordinal);
            foreach (var id in c.Ids)
                if (!seen[id]) { seen[id] = true; values.Add(c.Values[id]); }
            return values.Count;
        }

        var relations = new double[db.RelationCount];
        for (int r = 0; r < db.RelationCount; r++)
        {
            var seen = new bool[db.Count];
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var target in db.RelationTargets[r])
                if (!seen[target]) { seen[target] = true; names.Add(db.Names[target]); }
            relations[r] = names.Count;
        }

        return new DistinctCounts(
            FirstNames: DistinctStrings(db.FirstNames),
            MiddleNames: DistinctStrings(db.MiddleNames),
            LastNames: DistinctStrings(db.LastNames),
            BirthDates: db.BirthDays.Distinct().Count(),
            BirthCities: DistinctStrings(db.BirthCities),
            Universities: DistinctStrings(db.Universities),
            Employers: DistinctStrings(db.Employers),
            RelationTargets: relations);
    }

    /// <summary>The entropies of a real dataset (SPEC 5) with n = N profiles.</summary>
    public static DatasetEntropy Compute(ProfileDatabase db, SelectionScheme selection)
    {
        if (db.Count == 0) throw new ArgumentException("an empty profiles database has no entropy");
        return FromCounts(db.Count, Count(db), selection);
    }

    /// <summary>The entropies given distinct counts (real or expected) for n profiles.</summary>
    public static DatasetEntropy FromCounts(int n, DistinctCounts counts, SelectionScheme selection)
    {
        var h = new double[Subjects.Count(counts.RelationTargets.Count)];
        h[0] = Math.Log2(counts.BirthDates);
        h[1] = Math.Log2(counts.BirthCities);
        h[2] = Math.Log2(counts.Universities);
        h[3] = Math.Log2(counts.Employers);
        for (int r = 0; r < counts.RelationTargets.Count; r++)
            h[Subjects.OfRelation(r)] = Math.Log2(counts.RelationTargets[r]);
        return new DatasetEntropy(
            n, counts.RelationTargets.Count, selection, h,
            NameSelectionEntropy(n, counts.NameSpace, selection),
            BirthDateSelectionEntropy(counts.BirthDates, selection));
    }
}
