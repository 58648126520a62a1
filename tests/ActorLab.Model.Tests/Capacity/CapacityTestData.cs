using ActorLab.Model.Capacity;
using ActorLab.Model.Profiles;

namespace ActorLab.Model.Tests.Capacity;

/// <summary>
/// A hand-made dataset with round entropies: N = 8 profiles, R = 2 relations (parent, child).
/// H = [birth_date 3, birth_city 2, university 1, employer 1, parent 2, child 2] bits (sum 11);
/// names: 2 first x 4 middle x 8 last = M = 64 (log2 M = 6), so name selection is 8*6 - 8*3 = 24 (optimal),
/// 48 (enumerate), 0 (independent); 8 distinct birth dates, so birth-date selection is log2 C(73048, 8).
/// </summary>
public static class CapacityTestData
{
    public const int N = 8;
    public static readonly double[] H = [3, 2, 1, 1, 2, 2];

    public static ProfileDatabase Database()
    {
        string[] firstPool = ["Ann", "Bob"];
        string[] middlePool = ["Cy", "Di", "Ed", "Fay"];
        string[] lastPool = ["Gray", "Hill", "Ives", "Jones", "King", "Lee", "Moss", "Nash"];
        var first = new int[N];
        var middle = new int[N];
        var last = new int[N];
        var names = new string[N];
        for (int i = 0; i < N; i++)
        {
            first[i] = i % 2;
            middle[i] = i % 4;
            last[i] = i;
            names[i] = $"{firstPool[first[i]]} {middlePool[middle[i]]} {lastPool[last[i]]}";
        }
        int[] days = [0, 1, 2, 3, 400, 5000, 60000, 73000];
        var cities = new InternedColumn(["A", "B", "C", "D", "unused"], [0, 1, 2, 3, 0, 1, 2, 3]);
        var universities = new InternedColumn(["U1", "U2"], [0, 1, 0, 1, 0, 1, 0, 1]);
        var employers = new InternedColumn(["E1", "E2", "E3"], [2, 2, 2, 2, 1, 1, 1, 1]);
        int[] parent = [0, 1, 2, 3, 0, 1, 2, 3];
        int[] child = [4, 5, 6, 7, 7, 6, 5, 4];
        return new ProfileDatabase(names,
            new InternedColumn(firstPool, first), new InternedColumn(middlePool, middle), new InternedColumn(lastPool, last),
            days, cities, universities, employers, [parent, child]);
    }

    /// <summary>log2 C(73048, 8) by the product formula (independent of the log-gamma route).</summary>
    public static double DateSelection8()
    {
        double sum = 0;
        for (int i = 1; i <= 8; i++) sum += Math.Log2((73048.0 - 8 + i) / i);
        return sum;
    }

    public static double NameSelection(SelectionScheme s) => s switch
    {
        SelectionScheme.Optimal => 24,
        SelectionScheme.Enumerate => 48,
        _ => 0,
    };

    public static double DateSelection(SelectionScheme s) => s == SelectionScheme.Independent ? 0 : DateSelection8();

    public static DatasetEntropy Entropy(SelectionScheme s) => EntropyCalculator.Compute(Database(), s);

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "actorlab-capacity-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
