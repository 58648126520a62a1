using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;

namespace ActorLab.Model.Tests.Qa;

/// <summary>
/// Small random profile databases for Q&amp;A tests (the real generator lives in Profiles/): names and values are
/// drawn from a seed, and the pools include awkward text (apostrophes, hyphens, commas, '&amp;', digits, accents,
/// a name ending in '.') so the token-piece boundaries are exercised.
/// </summary>
public static class TestProfiles
{
    static readonly string[] FirstPool =
        ["Aaron", "Abbey", "Zoë", "José", "Jean-Luc", "D'Arcy", "Mary", "Li", "O", "Anne-Marie", "Bob", "Émile", "Kai", "Ng", "Ra"];
    static readonly string[] LastPool =
        ["Smith", "O'Neil", "Jr.", "Ng", "Van-Der", "Müller", "Xu", "Smith's", "Lee2", "Hart", "Doe", "Al-Amin", "Kowalski", "St.", "Bo"];
    static readonly string[] CityPool =
        ["Canberra, Australian Capital Territory", "Albury-Wodonga, New South Wales", "Xi'an, China", "Paris", "São Paulo", "New York City"];
    static readonly string[] UniversityPool =
        ["Tsinghua University", "Xi'an Jiaotong-Liverpool University", "Northwest A&F University", "MIT", "Sun Yat-Sen University"];
    static readonly string[] EmployerPool =
        ["Asuransi Jasindo", "Dragon Computer & Communication", "AT&T Inc.", "3M", "Badak LNG"];

    public static ProfileDatabase Create(int n, int relations = 4, int seed = 1)
    {
        var rng = new QaRandom((ulong)seed * 7919 + 17);
        var names = new string[n];
        var first = new int[n]; var middle = new int[n]; var last = new int[n];
        var seen = new HashSet<string>();
        for (int i = 0; i < n; i++)
        {
            string name;
            int guard = 0;
            do
            {
                first[i] = rng.Next(FirstPool.Length);
                middle[i] = rng.Next(FirstPool.Length);
                last[i] = rng.Next(LastPool.Length);
                name = $"{FirstPool[first[i]]} {FirstPool[middle[i]]} {LastPool[last[i]]}";
                if (++guard > 10_000) throw new InvalidOperationException($"too many profiles ({n}) for the test name pools");
            } while (!seen.Add(name));
            names[i] = name;
        }
        int[] Draw(int pool) { var a = new int[n]; for (int i = 0; i < n; i++) a[i] = rng.Next(pool); return a; }
        var days = new int[n];
        for (int i = 0; i < n; i++)
        {
            var d = ProfileDatabase.Epoch.AddDays(rng.Next(73048));
            days[i] = new DateOnly(d.Year, d.Month, Math.Min(d.Day, 28)).DayNumber - ProfileDatabase.Epoch.DayNumber;
        }
        var targets = new int[relations][];
        for (int r = 0; r < relations; r++) targets[r] = Draw(n);
        return new ProfileDatabase(names,
            new InternedColumn(FirstPool, first), new InternedColumn(FirstPool, middle), new InternedColumn(LastPool, last),
            days, new InternedColumn(CityPool, Draw(CityPool.Length)), new InternedColumn(UniversityPool, Draw(UniversityPool.Length)),
            new InternedColumn(EmployerPool, Draw(EmployerPool.Length)), targets);
    }

    /// <summary>One-letter name parts and one-word values (1 relation): examples shorter than 15 tokens.</summary>
    public static ProfileDatabase Tiny(int n, int seed = 1)
    {
        var letters = Enumerable.Range(0, 26).Select(i => ((char)('A' + i)).ToString()).ToArray();
        var rng = new QaRandom((ulong)seed);
        var names = new string[n]; var first = new int[n]; var last = new int[n];
        for (int i = 0; i < n; i++)
        {
            first[i] = i % 26; last[i] = i / 26 % 26;
            names[i] = $"{letters[first[i]]} {letters[first[i]]} {letters[last[i]]}";
        }
        int[] Draw(int pool) { var a = new int[n]; for (int i = 0; i < n; i++) a[i] = rng.Next(pool); return a; }
        string[] words = ["x", "y", "z"];
        return new ProfileDatabase(names, new InternedColumn(letters, first), new InternedColumn(letters, first), new InternedColumn(letters, last),
            Draw(1000), new InternedColumn(words, Draw(3)), new InternedColumn(words, Draw(3)), new InternedColumn(words, Draw(3)), [Draw(n)]);
    }

    /// <summary>A text corpus covering every profile's questions, and a tokenizer trained on it (cached per size).</summary>
    public static QaTokenizer Tokenizer(ProfileDatabase db, int vocabSize = 600) =>
        QaTokenizer.Train(QaCorpus.Texts(db, seed: 3), vocabSize);
}
