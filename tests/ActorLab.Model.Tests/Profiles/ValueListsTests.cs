using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Tests.Infrastructure;

namespace ActorLab.Model.Tests.Profiles;

public class ValueListsTests
{
    [Fact]
    public void Default_lists_have_the_reference_pool_sizes_and_distinct_values()
    {
        var lists = ValueLists.Default;
        Assert.Equal(223, lists.Cities.Count);
        Assert.Equal(100, lists.Universities.Count);
        Assert.Equal(73, lists.Employers.Count);
        foreach (var list in new[] { lists.FirstNames, lists.Surnames, lists.Cities, lists.Universities, lists.Employers })
        {
            Assert.Equal(list.Count, list.Distinct().Count());
            Assert.All(list, v => Assert.False(string.IsNullOrWhiteSpace(v)));
        }
        Assert.True(lists.FirstNames.Count > 1000, $"only {lists.FirstNames.Count} first names");
        Assert.True(lists.Surnames.Count > 400, $"only {lists.Surnames.Count} surnames");
        Assert.All(lists.FirstNames, v => Assert.DoesNotContain(' ', v));
        Assert.Equal(lists.FirstNames.Order(StringComparer.Ordinal), lists.FirstNames);
    }

    [Fact]
    public void Default_lists_are_the_same_on_every_build()
    {
        // Built twice from scratch (not the cached instance): a fixed seed makes the pools identical.
        var a = ValueLists.BuildDefault();
        Assert.Equal(ValueLists.Default.Fingerprints(), a.Fingerprints());
        Assert.Equal(ValueLists.Default.Cities, a.Cities);
    }

    [Fact]
    public void Directory_lists_strip_cr_skip_blanks_and_drop_duplicates()
    {
        var dir = WriteLists(first: "Anna\r\n\r\nBob\n  \nAnna\nCarl", surnames: "Smith\r\nJones\n");
        var lists = ValueLists.FromDirectory(dir);
        Assert.Equal(["Anna", "Bob", "Carl"], lists.FirstNames);
        Assert.Equal(["Smith", "Jones"], lists.Surnames);
        Assert.Equal(3L * 3 * 2, lists.NameCapacity);
    }

    [Fact]
    public void Fingerprint_changes_with_content_and_not_with_line_endings()
    {
        var a = ValueLists.FromDirectory(WriteLists(first: "Anna\nBob"));
        var b = ValueLists.FromDirectory(WriteLists(first: "Anna\r\nBob\r\n"));
        var c = ValueLists.FromDirectory(WriteLists(first: "Anna\nBoB"));
        Assert.Equal(a.Fingerprints(), b.Fingerprints());
        Assert.NotEqual(a.Fingerprints()[0], c.Fingerprints()[0]);
        Assert.Equal(a.Fingerprints()[1], c.Fingerprints()[1]);
    }

    [Theory]
    [InlineData(ValueLists.FirstNamesFile)]
    [InlineData(ValueLists.SurnamesFile)]
    [InlineData(ValueLists.CitiesFile)]
    [InlineData(ValueLists.UniversitiesFile)]
    [InlineData(ValueLists.EmployersFile)]
    public void Missing_list_file_is_named(string file)
    {
        var dir = WriteLists();
        File.Delete(Path.Combine(dir, file));
        var e = Assert.Throws<UserInputException>(() => ValueLists.FromDirectory(dir));
        Assert.Contains(file, e.Message);
        Assert.Contains("does not exist", e.Message);
    }

    [Theory]
    [InlineData(ValueLists.SurnamesFile)]
    [InlineData(ValueLists.EmployersFile)]
    public void Empty_list_file_is_named(string file)
    {
        var dir = WriteLists();
        File.WriteAllText(Path.Combine(dir, file), "\r\n\n   \n");
        var e = Assert.Throws<UserInputException>(() => ValueLists.FromDirectory(dir));
        Assert.Contains(file, e.Message);
        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public void Missing_lists_folder_and_first_name_with_space_are_rejected()
    {
        var e = Assert.Throws<UserInputException>(() => ValueLists.FromDirectory("/nonexistent/lists"));
        Assert.Contains("/nonexistent/lists", e.Message);
        var e2 = Assert.Throws<UserInputException>(() => ValueLists.FromDirectory(WriteLists(first: "Anna\nMary Ann")));
        Assert.Contains("Mary Ann", e2.Message);
    }

    [SkippableFact]
    public void Reference_lists_load_with_their_documented_sizes()
    {
        var dir = SharedData.RequireReferenceLists();
        var lists = ValueLists.FromDirectory(dir);
        Assert.Equal(5163, lists.FirstNames.Count);
        Assert.Equal(88799, lists.Surnames.Count);
        Assert.Equal(223, lists.Cities.Count);
        Assert.Equal(100, lists.Universities.Count);
        Assert.Equal(73, lists.Employers.Count);
        Assert.All(lists.FirstNames, v => Assert.DoesNotContain('\r', v));
    }

    internal static string WriteLists(string first = "Anna\nBob\nCarl", string surnames = "Smith\nJones",
        string cities = "Paris\nRome", string universities = "MIT\nETH", string employers = "Acme\nGlobex")
    {
        var dir = ProfileTestData.TempDir();
        File.WriteAllText(Path.Combine(dir, ValueLists.FirstNamesFile), first);
        File.WriteAllText(Path.Combine(dir, ValueLists.SurnamesFile), surnames);
        File.WriteAllText(Path.Combine(dir, ValueLists.CitiesFile), cities);
        File.WriteAllText(Path.Combine(dir, ValueLists.UniversitiesFile), universities);
        File.WriteAllText(Path.Combine(dir, ValueLists.EmployersFile), employers);
        return dir;
    }
}
