using ActorLab.Model.Common;

namespace ActorLab.Model.Profiles;

/// <summary>What to generate: N profiles with the first R relations, from a seed.</summary>
public sealed record ProfileGeneratorConfig(int N, int Relations, int Seed, bool Bipartite = false)
{
    public string DatasetName => $"profiles_dataset_{N}_{(Bipartite ? "bipartite" : "uniform")}_r{Relations}";
}

/// <summary>
/// Draws a profiles database exactly as SPEC 1: names First Middle Last (first and middle uniform from the first-name
/// list, last uniform from the surnames, redrawn on a full-name collision), birth_date a uniform day in
/// [1900-01-01, 2099-12-31) with the day of month clamped to 28, attributes uniform from their pools, and each
/// relation either uniform (every profile points to a uniformly random profile, self allowed) or bipartite (see
/// <see cref="RelationPairings"/>). Every draw comes from one <see cref="Random"/> seeded with the config's seed
/// (seeded System.Random is deterministic across .NET versions), in a fixed order: per profile name, birth day,
/// city, university, employer; then the relations in reference order.
/// </summary>
public static class ProfileGenerator
{
    /// <summary>Bumped whenever the same (seed, lists) would produce different data; stored in the file metadata.</summary>
    public const string Version = "1";

    /// <summary>Days in [1900-01-01, 2099-12-31).</summary>
    public static readonly int BirthDayRange = new DateOnly(2099, 12, 31).DayNumber - ProfileDatabase.Epoch.DayNumber;

    /// <summary>Redraws allowed for one name before giving up (the lists are then too small for N in practice).</summary>
    public const int MaxNameDraws = 10_000;

    public static ProfileDatabase Generate(ProfileGeneratorConfig config, ValueLists lists)
    {
        Validate(config, lists);
        int n = config.N;
        var rng = new Random(config.Seed);

        int nf = lists.FirstNames.Count, nl = lists.Surnames.Count;
        var first = new int[n];
        var middle = new int[n];
        var last = new int[n];
        var days = new int[n];
        var cities = new int[n];
        var universities = new int[n];
        var employers = new int[n];
        var taken = new HashSet<long>(n);
        for (int i = 0; i < n; i++)
        {
            for (int draws = 0; ; draws++)
            {
                if (draws == MaxNameDraws)
                    throw new UserInputException(
                        $"Could not find a unique name for profile {i} of {n} after {MaxNameDraws} draws: the name lists make " +
                        $"{lists.NameCapacity:N0} names ({nf} first x {nf} middle x {nl} last); use a smaller --n or longer lists.");
                int f = rng.Next(nf), m = rng.Next(nf), l = rng.Next(nl);
                if (taken.Add(((long)f * nf + m) * nl + l))
                {
                    first[i] = f; middle[i] = m; last[i] = l;
                    break;
                }
            }
            days[i] = ClampDay(rng.Next(BirthDayRange));
            cities[i] = rng.Next(lists.Cities.Count);
            universities[i] = rng.Next(lists.Universities.Count);
            employers[i] = rng.Next(lists.Employers.Count);
        }

        var names = new string[n];
        for (int i = 0; i < n; i++)
            names[i] = string.Concat(lists.FirstNames[first[i]], " ", lists.FirstNames[middle[i]], " ", lists.Surnames[last[i]]);

        var relations = config.Bipartite ? BipartiteRelations(rng, n, config.Relations) : UniformRelations(rng, n, config.Relations);

        var firstPool = lists.FirstNames.ToArray();
        var metadata = new Dictionary<string, string>
        {
            [MetadataKeys.Generator] = "actorlab",
            [MetadataKeys.GeneratorVersion] = Version,
            [MetadataKeys.Seed] = config.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [MetadataKeys.Relations] = config.Relations.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [MetadataKeys.Bipartite] = config.Bipartite ? "true" : "false",
            [MetadataKeys.Dataset] = config.DatasetName,
        };
        foreach (var (list, sha) in lists.Fingerprints())
            metadata[MetadataKeys.FingerprintPrefix + list] = sha;

        return new ProfileDatabase(
            names,
            new InternedColumn(firstPool, first),
            new InternedColumn(firstPool, middle),
            new InternedColumn(lists.Surnames.ToArray(), last),
            days,
            new InternedColumn(lists.Cities.ToArray(), cities),
            new InternedColumn(lists.Universities.ToArray(), universities),
            new InternedColumn(lists.Employers.ToArray(), employers),
            relations,
            metadata);
    }

    static void Validate(ProfileGeneratorConfig config, ValueLists lists)
    {
        if (config.N < 2)
            throw new UserInputException($"--n must be at least 2, got {config.N}.");
        if (config.Relations is < 1 or > RelationNames.Max)
            throw new UserInputException($"--relations must be between 1 and {RelationNames.Max}, got {config.Relations}.");
        double needs = ProfileDatabase.EstimatedBytes(config.N, config.Relations);
        if (needs > ProfileDatabase.AvailableBytes)
            throw new UserInputException(
                $"--n {config.N} profiles would need about {needs / (1L << 30):N1} GiB; this machine has {ProfileDatabase.AvailableBytes / (double)(1L << 30):N1} GiB.");
        if (config.N > lists.NameCapacity)
            throw new UserInputException(
                $"--n {config.N} is more than the name lists can make unique: {lists.FirstNames.Count} first x " +
                $"{lists.FirstNames.Count} middle x {lists.Surnames.Count} last = {lists.NameCapacity:N0} names.");
    }

    /// <summary>Day of month clamped to 28 (SPEC 1), as days since the epoch.</summary>
    static int ClampDay(int day)
    {
        var date = ProfileDatabase.Epoch.AddDays(day);
        return date.Day > 28 ? day - (date.Day - 28) : day;
    }

    static int[][] UniformRelations(Random rng, int n, int r)
    {
        var targets = new int[r][];
        for (int k = 0; k < r; k++)
        {
            var t = targets[k] = new int[n];
            for (int i = 0; i < n; i++) t[i] = rng.Next(n);
        }
        return targets;
    }

    static int[][] BipartiteRelations(Random rng, int n, int r)
    {
        var targets = new int[r][];
        for (int k = 0; k < r; k++)
        {
            if (targets[k] != null) continue; // filled as the inverse of an earlier relation
            switch (RelationPairings.Kind(k))
            {
                case RelationPairing.Involution:
                    targets[k] = RandomMatching(rng, n);
                    break;
                case RelationPairing.Permutation:
                    targets[k] = RandomPermutation(rng, n);
                    break;
                default: // the first member present of an inverse pair draws pi; its partner (if present) gets pi^-1
                    var pi = RandomPermutation(rng, n);
                    targets[k] = pi;
                    int partner = RelationPairings.Partner(k)!.Value;
                    if (partner < r)
                    {
                        var inv = new int[n];
                        for (int i = 0; i < n; i++) inv[pi[i]] = i;
                        targets[partner] = inv;
                    }
                    break;
            }
        }
        return targets;
    }

    /// <summary>Uniform random permutation (Fisher-Yates).</summary>
    static int[] RandomPermutation(Random rng, int n)
    {
        var p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (p[i], p[j]) = (p[j], p[i]);
        }
        return p;
    }

    /// <summary>
    /// Uniform random perfect matching as an involution: shuffle, pair neighbours (0,1), (2,3)... With an odd N the
    /// last profile of the shuffle is matched with itself (the only fixed point).
    /// </summary>
    static int[] RandomMatching(Random rng, int n)
    {
        var order = RandomPermutation(rng, n);
        var mate = new int[n];
        for (int i = 0; i + 1 < n; i += 2)
        {
            mate[order[i]] = order[i + 1];
            mate[order[i + 1]] = order[i];
        }
        if (n % 2 == 1) mate[order[n - 1]] = order[n - 1];
        return mate;
    }
}
