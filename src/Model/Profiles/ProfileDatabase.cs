namespace ActorLab.Model.Profiles;

/// <summary>A string column stored as ids into a table of distinct values (interned).</summary>
public sealed class InternedColumn
{
    public InternedColumn(string[] values, int[] ids)
    {
        Values = values;
        Ids = ids;
    }

    /// <summary>Distinct values (the pool). May hold values no profile uses (e.g. the full generator list).</summary>
    public string[] Values { get; }

    /// <summary>Per profile: index into <see cref="Values"/>.</summary>
    public int[] Ids { get; }

    public string this[int profile] => Values[Ids[profile]];

    /// <summary>Number of distinct values actually used by profiles.</summary>
    public int DistinctUsed()
    {
        var seen = new bool[Values.Length];
        int n = 0;
        foreach (var id in Ids)
            if (!seen[id]) { seen[id] = true; n++; }
        return n;
    }
}

/// <summary>
/// The synthetic biographical database (SPEC 1), columnar and immutable: every field is an array indexed by
/// profile index 0..N-1. Names are split into interned first/middle/last parts (first and middle share one pool)
/// and also kept whole, because every question needs the full name.
/// </summary>
public sealed class ProfileDatabase
{
    /// <summary>
    /// Memory a database of <paramref name="profiles"/> rows takes while it is generated or read (names, columns, the
    /// raw and placed copies a reader holds): about 400 bytes a profile and 24 a relation target. Generating or
    /// reading refuses a size that cannot fit in <see cref="AvailableBytes"/>, before allocating.
    /// </summary>
    public static double EstimatedBytes(long profiles, int relations) => profiles * (400.0 + 24.0 * relations);

    public static long AvailableBytes => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>Days are counted from this date: birth_date = Epoch + BirthDay[i].</summary>
    public static readonly DateOnly Epoch = new(1900, 1, 1);

    public ProfileDatabase(
        string[] names,
        InternedColumn firstNames,
        InternedColumn middleNames,
        InternedColumn lastNames,
        int[] birthDays,
        InternedColumn birthCities,
        InternedColumn universities,
        InternedColumn employers,
        int[][] relationTargets,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        int n = names.Length;
        if (relationTargets.Length is < 1 or > RelationNames.Max)
            throw new ArgumentException($"relation count must be 1..{RelationNames.Max}, got {relationTargets.Length}");
        void Check(int len, string what)
        {
            if (len != n) throw new ArgumentException($"column {what} has {len} rows, expected {n}");
        }
        Check(firstNames.Ids.Length, "first names");
        Check(middleNames.Ids.Length, "middle names");
        Check(lastNames.Ids.Length, "last names");
        Check(birthDays.Length, "birth_date");
        Check(birthCities.Ids.Length, "birth_city");
        Check(universities.Ids.Length, "university");
        Check(employers.Ids.Length, "employer");
        for (int r = 0; r < relationTargets.Length; r++) Check(relationTargets[r].Length, RelationNames.All[r]);

        Names = names;
        FirstNames = firstNames;
        MiddleNames = middleNames;
        LastNames = lastNames;
        BirthDays = birthDays;
        BirthCities = birthCities;
        Universities = universities;
        Employers = employers;
        RelationTargets = relationTargets;
        Metadata = metadata ?? new Dictionary<string, string>();
    }

    public int Count => Names.Length;
    public int RelationCount => RelationTargets.Length;
    public IReadOnlyList<string> Relations => RelationNames.First(RelationCount);

    /// <summary>Full names "First Middle Last", unique.</summary>
    public string[] Names { get; }
    public InternedColumn FirstNames { get; }
    public InternedColumn MiddleNames { get; }
    public InternedColumn LastNames { get; }

    /// <summary>Birth date as days since <see cref="Epoch"/>.</summary>
    public int[] BirthDays { get; }
    public InternedColumn BirthCities { get; }
    public InternedColumn Universities { get; }
    public InternedColumn Employers { get; }

    /// <summary>[relation][profile] = index of the related profile.</summary>
    public int[][] RelationTargets { get; }

    /// <summary>File metadata: seed, generator version, relation count, list fingerprints...</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public DateOnly BirthDate(int profile) => Epoch.AddDays(BirthDays[profile]);

    /// <summary>birth_date as written in questions and exports: YYYY-MM-DD.</summary>
    public string BirthDateText(int profile) => BirthDate(profile).ToString("yyyy-MM-dd");

    public int Related(int relation, int profile) => RelationTargets[relation][profile];

    /// <summary>The answer text of a 1-hop question about <paramref name="subject"/> (see <see cref="Subjects"/>).</summary>
    public string AnswerText(int profile, int subject) => subject switch
    {
        0 => BirthDateText(profile),
        1 => BirthCities[profile],
        2 => Universities[profile],
        3 => Employers[profile],
        _ => Names[Related(Subjects.RelationOf(subject), profile)],
    };
}
