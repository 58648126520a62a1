using System.Security.Cryptography;
using System.Text;
using ActorLab.Model.Common;
using Bogus;
using Bogus.Bson;

namespace ActorLab.Model.Profiles;

/// <summary>
/// The value lists profiles are drawn from (SPEC 1): first names (first and middle), surnames, and the three
/// attribute pools. Either the built-in defaults (<see cref="Default"/>, from Bogus, no download) or a
/// `--lists-dir` folder (<see cref="FromDirectory"/>, e.g. the reference lists).
/// </summary>
public sealed record ValueLists(
    IReadOnlyList<string> FirstNames,
    IReadOnlyList<string> Surnames,
    IReadOnlyList<string> Cities,
    IReadOnlyList<string> Universities,
    IReadOnlyList<string> Employers,
    string Source)
{
    public const string FirstNamesFile = "first_names.txt";
    public const string SurnamesFile = "surnames.txt";
    public const string CitiesFile = "cities.txt";
    public const string UniversitiesFile = "universities.txt";
    public const string EmployersFile = "employers.txt";

    /// <summary>Default pool sizes: those of the reference lists, so default datasets have the same attribute entropies.</summary>
    public const int DefaultCities = 223, DefaultUniversities = 100, DefaultEmployers = 73;

    /// <summary>How many distinct full names the lists can make: first x middle x last.</summary>
    public long NameCapacity => (long)FirstNames.Count * FirstNames.Count * Surnames.Count;

    /// <summary>(list name, SHA-256 of its values joined by '\n') for every list, recorded in parquet metadata.</summary>
    public IReadOnlyList<(string List, string Sha256)> Fingerprints() =>
    [
        ("first_names", Fingerprint(FirstNames)),
        ("surnames", Fingerprint(Surnames)),
        ("cities", Fingerprint(Cities)),
        ("universities", Fingerprint(Universities)),
        ("employers", Fingerprint(Employers)),
    ];

    public static string Fingerprint(IReadOnlyList<string> values) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', values))));

    static readonly Lazy<ValueLists> LazyDefault = new(BuildDefault);

    /// <summary>
    /// Built-in lists. Names: Bogus' English first-name and surname lists (3007 x 3007 x 473 = 4.3e9 full names),
    /// trimmed, de-duplicated, sorted ordinally. Places: drawn from a Bogus faker with a fixed seed and locale,
    /// de-duplicated in draw order until the pool has the reference size. Bogus' version is pinned centrally, and
    /// the fingerprints in every file's metadata record exactly which values were used.
    /// </summary>
    public static ValueLists Default => LazyDefault.Value;

    internal static ValueLists BuildDefault()
    {
        static string[] Names(string key) =>
            ((BArray)Database.Get("name", key, "en", "en")).Cast<BValue>()
                .Select(v => v.StringValue.Trim())
                .Where(s => s.Length > 0 && !s.Any(char.IsWhiteSpace))
                .Distinct().Order(StringComparer.Ordinal).ToArray();

        // One faker per pool, each with its own fixed seed, so changing one pool's recipe never shifts another.
        static string[] Pool(int seed, int size, Func<Faker, string> draw)
        {
            var faker = new Faker("en") { Random = new Randomizer(seed) };
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var pool = new List<string>(size);
            for (int tries = 0; pool.Count < size; tries++)
            {
                if (tries > size * 1000) throw new InvalidOperationException($"Bogus could not make {size} distinct values");
                var v = draw(faker);
                if (seen.Add(v)) pool.Add(v);
            }
            return pool.ToArray();
        }

        var cities = Pool(1001, DefaultCities, f => $"{f.Address.City()}, {f.Address.State()}");
        var universities = Pool(1002, DefaultUniversities, f => f.Random.Int(0, 3) switch
        {
            0 => $"University of {f.Address.State()}",
            1 => $"{f.Name.LastName()} University",
            2 => $"{f.Address.State()} State University",
            _ => $"{f.Address.City()} Institute of Technology",
        });
        var employers = Pool(1003, DefaultEmployers, f => f.Company.CompanyName());
        return new ValueLists(Names("first_name"), Names("last_name"), cities, universities, employers, "built-in (Bogus 35.6.5)");
    }

    /// <summary>
    /// Reads the five list files of a `--lists-dir` folder: one value a line, `\r` stripped, surrounding white space
    /// trimmed, blank lines skipped, duplicates dropped (first occurrence kept, so draws stay uniform over distinct
    /// values). A missing or empty file, or a first name with a space (it would break "First Middle Last"
    /// parsing), is a <see cref="UserInputException"/> naming the file.
    /// </summary>
    public static ValueLists FromDirectory(string dir)
    {
        if (!Directory.Exists(dir))
            throw new UserInputException($"Lists folder '{dir}' does not exist (--lists-dir needs {FirstNamesFile}, {SurnamesFile}, {CitiesFile}, {UniversitiesFile}, {EmployersFile}).");
        var first = ReadList(Path.Combine(dir, FirstNamesFile));
        var bad = first.FirstOrDefault(s => s.Any(char.IsWhiteSpace));
        if (bad != null)
            throw new UserInputException($"List '{Path.Combine(dir, FirstNamesFile)}': first name '{bad}' contains white space; names are parsed as 'First Middle Last'.");
        return new ValueLists(
            first,
            ReadList(Path.Combine(dir, SurnamesFile)),
            ReadList(Path.Combine(dir, CitiesFile)),
            ReadList(Path.Combine(dir, UniversitiesFile)),
            ReadList(Path.Combine(dir, EmployersFile)),
            Path.GetFullPath(dir));
    }

    /// <summary>Largest list file read (the reference lists are well under a megabyte).</summary>
    public const long MaxListBytes = 64L << 20;

    public static string[] ReadList(string path)
    {
        PathChecks.InputFile("--lists-dir", path, "list file");
        if (new FileInfo(path).Length > MaxListBytes)
            throw new UserInputException($"List file '{path}' has {new FileInfo(path).Length:N0} bytes; a value list has at most {MaxListBytes:N0}.");
        string text;
        try { text = File.ReadAllText(path, Encoding.UTF8); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserInputException($"Cannot read list file '{path}': {e.Message}", e);
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var values = new List<string>();
        foreach (var raw in text.Split('\n'))
        {
            var v = raw.Replace("\r", "").Trim();
            if (v.Length > 0 && seen.Add(v)) values.Add(v);
        }
        if (values.Count == 0)
            throw new UserInputException($"List file '{path}' is empty (it needs one value a line).");
        return values.ToArray();
    }
}
