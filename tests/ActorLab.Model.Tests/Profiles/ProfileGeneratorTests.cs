using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Tests.Infrastructure;
using static ActorLab.Model.Tests.Profiles.ProfileTestData;

namespace ActorLab.Model.Tests.Profiles;

public class ProfileGeneratorTests
{
    const int N = 20_000;
    static readonly Lazy<ProfileDatabase> Uniform = new(() => Generate(N, 17, seed: 7));

    [Fact]
    public void Names_are_unique_and_made_of_their_parts()
    {
        var db = Uniform.Value;
        Assert.Equal(N, db.Names.Distinct().Count());
        for (int i = 0; i < N; i++)
            Assert.Equal($"{db.FirstNames[i]} {db.MiddleNames[i]} {db.LastNames[i]}", db.Names[i]);
        // first and middle come from the same pool
        Assert.Same(db.FirstNames.Values, db.MiddleNames.Values);
    }

    [Fact]
    public void Name_parts_are_uniform_over_their_lists()
    {
        var db = Uniform.Value;
        // Surnames: ~473 values, ~42 draws each; bin first names (3007 values) into 100 bins by id.
        var (stat, bound) = ChiSquareUniform(Histogram(db.LastNames.Ids, db.LastNames.Values.Length));
        Assert.True(stat < bound, $"last names chi2 {stat:F1} >= {bound:F1}");
        int nf = db.FirstNames.Values.Length;
        foreach (var col in new[] { db.FirstNames, db.MiddleNames })
        {
            // 100 bins of (nearly) equal width; the last bin absorbs the remainder, so compare rates per value.
            var bins = Histogram(col.Ids.Where(id => id < nf / 100 * 100).Select(id => id / (nf / 100)), 100);
            (stat, bound) = ChiSquareUniform(bins);
            Assert.True(stat < bound, $"first/middle chi2 {stat:F1} >= {bound:F1}");
        }
    }

    [Fact]
    public void Attributes_are_uniform_over_their_pools()
    {
        var db = Uniform.Value;
        foreach (var (col, size) in new[] { (db.BirthCities, 223), (db.Universities, 100), (db.Employers, 73) })
        {
            Assert.Equal(size, col.Values.Length);
            var counts = Histogram(col.Ids, size);
            Assert.All(counts, c => Assert.True(c > 0));
            var (stat, bound) = ChiSquareUniform(counts);
            Assert.True(stat < bound, $"chi2 {stat:F1} >= {bound:F1} over {size} values");
        }
    }

    [Fact]
    public void Birth_dates_are_in_range_with_day_at_most_28_and_spread_over_the_years()
    {
        var db = Uniform.Value;
        var years = new int[200];
        for (int i = 0; i < N; i++)
        {
            var d = db.BirthDate(i);
            Assert.InRange(d, new DateOnly(1900, 1, 1), new DateOnly(2099, 12, 30));
            Assert.True(d.Day <= 28, $"{d} has day > 28");
            years[d.Year - 1900]++;
        }
        var (stat, bound) = ChiSquareUniform(years);
        Assert.True(stat < bound, $"years chi2 {stat:F1} >= {bound:F1}");
        // clamping piles days 29..31 onto 28: the 28th is about 4x as frequent as the 1st
        int day28 = Enumerable.Range(0, N).Count(i => db.BirthDate(i).Day == 28);
        int day1 = Enumerable.Range(0, N).Count(i => db.BirthDate(i).Day == 1);
        Assert.InRange(day28 / (double)day1, 3.0, 5.0);
    }

    [Fact]
    public void Uniform_relations_point_uniformly_over_profiles_with_consistent_names()
    {
        var db = Uniform.Value;
        Assert.Equal(17, db.RelationCount);
        for (int r = 0; r < db.RelationCount; r++)
        {
            var t = db.RelationTargets[r];
            Assert.All(t, x => Assert.InRange(x, 0, N - 1));
            var (stat, bound) = ChiSquareUniform(Histogram(t.Select(x => x * 50 / N), 50));
            Assert.True(stat < bound, $"{RelationNames.All[r]}: chi2 {stat:F1} >= {bound:F1}");
            // in-degree of a uniform relation is ~Poisson(1): about 1/e of profiles are nobody's r
            double unused = 1 - t.Distinct().Count() / (double)N;
            Assert.InRange(unused, 0.34, 0.40);
        }
        // relations are independent draws, not copies
        Assert.NotEqual(db.RelationTargets[0], db.RelationTargets[1]);
    }

    [Theory]
    [InlineData(2000)]
    [InlineData(2001)]
    public void Bipartite_relations_satisfy_their_involution_and_inverse_laws(int n)
    {
        var db = Generate(n, 17, seed: 3, bipartite: true);
        var t = db.RelationTargets;
        int R(string name) => RelationNames.All.ToList().IndexOf(name);
        for (int r = 0; r < 17; r++)
        {
            // every relation is a perfect matching: a permutation of the profiles
            Assert.Equal(n, t[r].Distinct().Count());
            switch (RelationPairings.Kind(r))
            {
                case RelationPairing.Involution:
                    for (int x = 0; x < n; x++) Assert.Equal(x, t[r][t[r][x]]);
                    int selfPairs = Enumerable.Range(0, n).Count(x => t[r][x] == x);
                    Assert.Equal(n % 2, selfPairs); // odd N: exactly one profile is paired with itself
                    break;
                case RelationPairing.Forward:
                    int inv = RelationPairings.Partner(r)!.Value;
                    for (int x = 0; x < n; x++)
                    {
                        Assert.Equal(x, t[inv][t[r][x]]);
                        Assert.Equal(x, t[r][t[inv][x]]);
                    }
                    break;
            }
        }
        for (int x = 0; x < n; x++)
        {
            Assert.Equal(x, t[R("parent")][t[R("child")][x]]);       // x.child.parent == x
            Assert.Equal(x, t[R("spouse")][t[R("spouse")][x]]);      // x.spouse.spouse == x
            Assert.Equal(x, t[R("protege")][t[R("mentor")][x]]);     // x.mentor.protege == x
            Assert.Equal(x, t[R("grandchild")][t[R("grandparent")][x]]);
        }
        Assert.Equal(RelationPairing.Permutation, RelationPairings.Kind(R("hero")));
        Assert.NotEqual(t[R("spouse")], t[R("sibling")]);
    }

    [Fact]
    public void Bipartite_with_a_cut_pair_still_makes_permutations()
    {
        var db = Generate(501, 1, seed: 5, bipartite: true);
        Assert.Equal(1, db.RelationCount);
        Assert.Equal(501, db.RelationTargets[0].Distinct().Count());
    }

    [Fact]
    public void Same_seed_same_database_and_different_seed_different()
    {
        var a = Generate(3000, 4, seed: 11);
        var b = Generate(3000, 4, seed: 11);
        var c = Generate(3000, 4, seed: 12);
        Assert.Equal(a.Names, b.Names);
        Assert.Equal(a.BirthDays, b.BirthDays);
        Assert.Equal(a.RelationTargets, b.RelationTargets);
        Assert.NotEqual(a.Names, c.Names);
        Assert.NotEqual(a.RelationTargets[0], c.RelationTargets[0]);
    }

    [Fact]
    public void Metadata_records_seed_version_relations_and_list_fingerprints()
    {
        var db = Generate(10, 3, seed: 42, bipartite: true);
        Assert.Equal("42", db.Metadata[MetadataKeys.Seed]);
        Assert.Equal(ProfileGenerator.Version, db.Metadata[MetadataKeys.GeneratorVersion]);
        Assert.Equal("3", db.Metadata[MetadataKeys.Relations]);
        Assert.Equal("true", db.Metadata[MetadataKeys.Bipartite]);
        Assert.Equal("profiles_dataset_10_bipartite_r3", db.Metadata[MetadataKeys.Dataset]);
        Assert.Equal(ValueLists.Fingerprint(ValueLists.Default.Surnames), db.Metadata[MetadataKeys.FingerprintPrefix + "surnames"]);
    }

    [Fact]
    public void Every_name_the_lists_allow_can_be_used()
    {
        // 2 x 2 x 1 = 4 names: N = 4 must find all of them by redrawing
        var lists = new ValueLists(["A", "B"], ["Z"], ["c"], ["u"], ["e"], "test");
        var db = ProfileGenerator.Generate(new ProfileGeneratorConfig(4, 2, 1), lists);
        Assert.Equal(["A A Z", "A B Z", "B A Z", "B B Z"], db.Names.Order());
    }

    [Theory]
    [InlineData(1, 4, "--n must be at least 2")]
    [InlineData(0, 4, "--n must be at least 2")]
    [InlineData(5, 4, "more than the name lists can make unique")]
    [InlineData(3, 0, "--relations must be between 1 and 17")]
    [InlineData(3, 18, "--relations must be between 1 and 17")]
    public void Bad_config_is_rejected_with_a_clear_message(int n, int relations, string message)
    {
        var lists = new ValueLists(["A", "B"], ["Z"], ["c"], ["u"], ["e"], "test");
        var e = Assert.Throws<UserInputException>(() => ProfileGenerator.Generate(new ProfileGeneratorConfig(n, relations, 1), lists));
        Assert.Contains(message, e.Message);
    }

    [SkippableFact]
    public void Reference_lists_generate_a_valid_database()
    {
        var lists = ValueLists.FromDirectory(SharedData.RequireReferenceLists());
        var db = ProfileGenerator.Generate(new ProfileGeneratorConfig(5000, 17, 1), lists);
        Assert.Equal(5000, db.Names.Distinct().Count());
        Assert.All(db.Names, n => Assert.Equal(3, n.Split(' ').Length));
        Assert.Equal(ValueLists.Fingerprint(lists.FirstNames), db.Metadata[MetadataKeys.FingerprintPrefix + "first_names"]);
        Assert.True(db.BirthCities.DistinctUsed() > 200);
    }
}
