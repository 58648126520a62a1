using ActorLab.Model.Profiles;

namespace ActorLab.Model.Tests.Profiles;

/// <summary>Shared helpers for the profiles tests: temp folders and small databases.</summary>
public static class ProfileTestData
{
    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "actorlab-profiles-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static ProfileDatabase Generate(int n, int relations = 17, int seed = 1, bool bipartite = false) =>
        ProfileGenerator.Generate(new ProfileGeneratorConfig(n, relations, seed, bipartite), ValueLists.Default);

    /// <summary>
    /// Pearson chi-square statistic of observed counts against equal expected counts, and a bound it exceeds with
    /// probability far below 1e-6 for a uniform source (df + 7 sqrt(2 df) + 10, a generous normal-tail bound).
    /// </summary>
    public static (double Stat, double Bound) ChiSquareUniform(IReadOnlyList<int> counts)
    {
        double total = counts.Sum(c => (double)c);
        double expected = total / counts.Count;
        double stat = counts.Sum(c => (c - expected) * (c - expected) / expected);
        int df = counts.Count - 1;
        return (stat, df + 7 * Math.Sqrt(2.0 * df) + 10);
    }

    public static int[] Histogram(IEnumerable<int> ids, int bins)
    {
        var counts = new int[bins];
        foreach (var id in ids) counts[id]++;
        return counts;
    }
}
