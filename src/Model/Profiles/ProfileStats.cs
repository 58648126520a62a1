namespace ActorLab.Model.Profiles;

/// <summary>
/// Summary of a profiles database (`actorlab profiles stats`): sizes and distinct values per field, which the
/// capacity entropies (SPEC 5) are built from.
/// </summary>
public sealed record ProfileStats(
    int Profiles,
    int Relations,
    int DistinctNames,
    int DistinctFirstNames,
    int DistinctMiddleNames,
    int DistinctLastNames,
    int DistinctBirthDates,
    int DistinctBirthCities,
    int DistinctUniversities,
    int DistinctEmployers,
    IReadOnlyDictionary<string, int> DistinctRelationTargets,
    string BirthDateMin,
    string BirthDateMax)
{
    public static ProfileStats Compute(ProfileDatabase db)
    {
        int n = db.Count;
        var targets = new Dictionary<string, int>();
        for (int r = 0; r < db.RelationCount; r++)
            targets[RelationNames.All[r]] = CountDistinct(db.RelationTargets[r], n);
        int minDay = db.BirthDays.Min(), maxDay = db.BirthDays.Max();
        return new ProfileStats(
            n,
            db.RelationCount,
            db.Names.Distinct(StringComparer.Ordinal).Count(),
            db.FirstNames.DistinctUsed(),
            db.MiddleNames.DistinctUsed(),
            db.LastNames.DistinctUsed(),
            CountDistinct(db.BirthDays.Select(d => d - minDay).ToArray(), maxDay - minDay + 1),
            db.BirthCities.DistinctUsed(),
            db.Universities.DistinctUsed(),
            db.Employers.DistinctUsed(),
            targets,
            ProfileDatabase.Epoch.AddDays(minDay).ToString("yyyy-MM-dd"),
            ProfileDatabase.Epoch.AddDays(maxDay).ToString("yyyy-MM-dd"));
    }

    static int CountDistinct(int[] values, int range)
    {
        var seen = new bool[range];
        int k = 0;
        foreach (var v in values)
            if (!seen[v]) { seen[v] = true; k++; }
        return k;
    }
}
