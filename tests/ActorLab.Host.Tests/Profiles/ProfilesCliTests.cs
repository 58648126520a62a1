using System.Text.Json;
using ActorLab.Host.Tests.Infrastructure;
using ActorLab.Model.Profiles;

namespace ActorLab.Host.Tests.Profiles;

[Collection(CliCollection.Name)]
public class ProfilesCliTests
{
    [Fact]
    public void Generate_writes_a_loadable_file_and_prints_one_summary_line()
    {
        var dir = CliRunner.TempDir();
        var path = Path.Combine(dir, "p.parquet");
        var r = CliRunner.Run("profiles", "generate", "--n", "300", "--relations", "4", "--seed", "3", "--out", path);
        Assert.True(r.ExitCode == 0, r.ToString());
        var line = Assert.Single(r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("300 profiles", line);
        Assert.Contains(" s", line);
        var db = ProfileParquet.Read(path);
        Assert.Equal(300, db.Count);
        Assert.Equal(4, db.RelationCount);
        Assert.Equal("3", db.Metadata[MetadataKeys.Seed]);
        Assert.Equal([Path.GetFileName(path)], Directory.GetFiles(dir).Select(Path.GetFileName));
    }

    [Fact]
    public void Generate_is_byte_identical_for_a_seed_and_bipartite_is_recorded()
    {
        var dir = CliRunner.TempDir();
        string a = Path.Combine(dir, "a.parquet"), b = Path.Combine(dir, "b.parquet"), c = Path.Combine(dir, "c.parquet");
        Assert.Equal(0, CliRunner.Run("profiles", "generate", "--n", "101", "--seed", "9", "--bipartite", "--out", a).ExitCode);
        Assert.Equal(0, CliRunner.Run("profiles", "generate", "--n", "101", "--seed", "9", "--bipartite", "--out", b).ExitCode);
        Assert.Equal(0, CliRunner.Run("profiles", "generate", "--n", "101", "--seed", "9", "--out", c).ExitCode);
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
        var db = ProfileParquet.Read(a);
        Assert.Equal("true", db.Metadata[MetadataKeys.Bipartite]);
        for (int x = 0; x < 101; x++) Assert.Equal(x, db.Related(5, db.Related(5, x)));
        Assert.NotEqual(File.ReadAllBytes(a), File.ReadAllBytes(c));
    }

    [Fact]
    public void Generate_with_lists_dir_uses_those_lists()
    {
        var lists = WriteLists();
        var path = Path.Combine(CliRunner.TempDir(), "l.parquet");
        var r = CliRunner.Run("profiles", "generate", "--n", "8", "--relations", "2", "--lists-dir", lists, "--out", path);
        Assert.True(r.ExitCode == 0, r.ToString());
        var db = ProfileParquet.Read(path);
        Assert.All(db.Names, n => Assert.Matches("^(Ann|Bo) (Ann|Bo) (Lee|Kim)$", n));
        Assert.All(Enumerable.Range(0, 8), i => Assert.Contains(db.BirthCities[i], new[] { "Oslo", "Rome" }));
    }

    [Fact]
    public void Stats_prints_counts_as_text_and_json()
    {
        var path = Path.Combine(CliRunner.TempDir(), "s.parquet");
        Assert.Equal(0, CliRunner.Run("profiles", "generate", "--n", "500", "--relations", "3", "--out", path).ExitCode);
        var text = CliRunner.Run("profiles", "stats", path);
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains("profiles            500", text.Stdout);
        Assert.Contains("relations           3", text.Stdout);

        var json = CliRunner.Run("profiles", "stats", path, "--json");
        Assert.True(json.ExitCode == 0, json.ToString());
        using var doc = JsonDocument.Parse(json.Stdout);
        var root = doc.RootElement;
        var db = ProfileParquet.Read(path);
        Assert.Equal(500, root.GetProperty("profiles").GetInt32());
        Assert.Equal(3, root.GetProperty("relations").GetInt32());
        Assert.Equal(db.BirthCities.DistinctUsed(), root.GetProperty("distinct_birth_cities").GetInt32());
        Assert.Equal(db.LastNames.DistinctUsed(), root.GetProperty("distinct_last_names").GetInt32());
        Assert.Equal(db.RelationTargets[1].Distinct().Count(), root.GetProperty("distinct_relation_targets").GetProperty("child").GetInt32());
        var min = DateOnly.Parse(root.GetProperty("birth_date_min").GetString()!);
        Assert.Equal(Enumerable.Range(0, 500).Min(db.BirthDate), min);
    }

    [Fact]
    public void Export_jsonl_and_csv_have_the_parquet_fields()
    {
        var dir = CliRunner.TempDir();
        var path = Path.Combine(dir, "e.parquet");
        Assert.Equal(0, CliRunner.Run("profiles", "generate", "--n", "50", "--relations", "2", "--out", path).ExitCode);
        var db = ProfileParquet.Read(path);

        var jsonl = Path.Combine(dir, "e.jsonl");
        var r = CliRunner.Run("profiles", "export", path, "--format", "jsonl", "--out", jsonl);
        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = File.ReadAllLines(jsonl);
        Assert.Equal(50, lines.Length);
        for (int i = 0; i < 50; i++)
        {
            using var doc = JsonDocument.Parse(lines[i]);
            var o = doc.RootElement;
            Assert.Equal(["name", "index", "birth_date", "birth_city", "university", "employer", "parent", "child"],
                o.EnumerateObject().Select(p => p.Name));
            Assert.Equal(db.Names[i], o.GetProperty("name").GetString());
            Assert.Equal(i, o.GetProperty("index").GetInt32());
            Assert.Equal(db.BirthDateText(i), o.GetProperty("birth_date").GetString());
            Assert.Matches(@"^\d{4}-\d{2}-\d{2}$", o.GetProperty("birth_date").GetString());
            int t = o.GetProperty("child").GetProperty("index").GetInt32();
            Assert.Equal(db.Related(1, i), t);
            Assert.Equal(db.Names[t], o.GetProperty("child").GetProperty("name").GetString());
        }

        var csv = Path.Combine(dir, "e.csv");
        r = CliRunner.Run("profiles", "export", path, "--format", "csv", "--out", csv);
        Assert.True(r.ExitCode == 0, r.ToString());
        var rows = File.ReadAllLines(csv);
        Assert.Equal(51, rows.Length);
        Assert.Equal("name,index,birth_date,birth_city,university,employer,parent.name,parent.index,child.name,child.index", rows[0]);
        Assert.StartsWith($"{db.Names[0]},0,{db.BirthDateText(0)},", rows[1]);
    }

    // ---------------------------------------------------------------- bad input: exit 2, one line, no partial file

    [Theory]
    [InlineData("1", "17", "--n must be at least 2")]
    [InlineData("-5", "17", "--n must be at least 2")]
    [InlineData("10", "0", "--relations must be between 1 and 17")]
    [InlineData("10", "18", "--relations must be between 1 and 17")]
    public void Generate_rejects_bad_sizes(string n, string relations, string message)
    {
        var dir = CliRunner.TempDir();
        var r = CliRunner.Run("profiles", "generate", "--n", n, "--relations", relations, "--out", Path.Combine(dir, "x.parquet"));
        CliRunner.AssertUserError(r, message);
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    [Fact]
    public void Generate_rejects_more_profiles_than_the_lists_can_name()
    {
        var dir = CliRunner.TempDir();
        // 2 x 2 x 2 = 8 names
        var r = CliRunner.Run("profiles", "generate", "--n", "9", "--lists-dir", WriteLists(), "--out", Path.Combine(dir, "x.parquet"));
        CliRunner.AssertUserError(r, "more than the name lists can make unique");
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    [Theory]
    [InlineData("surnames.txt", null)]
    [InlineData("cities.txt", "")]
    [InlineData("first_names.txt", "\r\n\r\n")]
    public void Generate_rejects_missing_or_empty_lists(string file, string? content)
    {
        var lists = WriteLists();
        if (content is null) File.Delete(Path.Combine(lists, file));
        else File.WriteAllText(Path.Combine(lists, file), content);
        var dir = CliRunner.TempDir();
        var r = CliRunner.Run("profiles", "generate", "--n", "4", "--lists-dir", lists, "--out", Path.Combine(dir, "x.parquet"));
        CliRunner.AssertUserError(r, file);
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    [Fact]
    public void Generate_rejects_a_missing_output_folder()
    {
        var dir = CliRunner.TempDir();
        var r = CliRunner.Run("profiles", "generate", "--n", "10", "--out", Path.Combine(dir, "no", "such", "x.parquet"));
        CliRunner.AssertUserError(r, Path.Combine(dir, "no", "such"));
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    [SkippableFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Generate_rejects_a_read_only_output_folder()
    {
        var dir = CliRunner.TempDir();
        var ro = Path.Combine(dir, "ro");
        Directory.CreateDirectory(ro);
        File.SetUnixFileMode(ro, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        bool immutable = false;
        try
        {
            // root ignores permission bits (as in CI): there, make the folder immutable (chattr +i), which binds root too
            if (Writable(ro)) immutable = Chattr("+i", ro);
            Skip.If(Writable(ro), "the folder stays writable (running as root where chattr +i is not available)");
            var r = CliRunner.Run("profiles", "generate", "--n", "10", "--out", Path.Combine(ro, "x.parquet"));
            CliRunner.AssertUserError(r, "permission denied");
            Assert.Empty(Directory.GetFileSystemEntries(ro));
        }
        finally
        {
            if (immutable) Chattr("-i", ro);
            File.SetUnixFileMode(ro, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    static bool Writable(string dir)
    {
        var probe = Path.Combine(dir, "probe");
        try { File.WriteAllText(probe, ""); File.Delete(probe); return true; }
        catch (UnauthorizedAccessException) { return false; }
        catch (IOException) { return false; }
    }

    static bool Chattr(string flag, string path)
    {
        try
        {
            using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("chattr", [flag, path])
                { RedirectStandardError = true, UseShellExecute = false })!;
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; } // no chattr on this system

    }

    [Fact]
    public void Stats_and_export_reject_missing_corrupt_and_wrong_schema_files()
    {
        var dir = CliRunner.TempDir();
        var missing = Path.Combine(dir, "missing.parquet");
        CliRunner.AssertUserError(CliRunner.Run("profiles", "stats", missing), missing);

        var corrupt = Path.Combine(dir, "corrupt.parquet");
        File.WriteAllText(corrupt, "PAR1 this is not parquet at all PAR1");
        CliRunner.AssertUserError(CliRunner.Run("profiles", "stats", corrupt, "--json"), corrupt);

        var good = Path.Combine(dir, "good.parquet");
        Assert.Equal(0, CliRunner.Run("profiles", "generate", "--n", "20", "--relations", "1", "--out", good).ExitCode);
        var truncated = Path.Combine(dir, "truncated.parquet");
        var bytes = File.ReadAllBytes(good);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length - 10)]);
        var outFile = Path.Combine(dir, "out.jsonl");
        CliRunner.AssertUserError(CliRunner.Run("profiles", "export", truncated, "--format", "jsonl", "--out", outFile), truncated);
        Assert.False(File.Exists(outFile));
        CliRunner.AssertUserError(CliRunner.Run("profiles", "export", good, "--format", "csv", "--out", Path.Combine(dir, "nope", "o.csv")), "does not exist");
        Assert.Equal(["corrupt.parquet", "good.parquet", "truncated.parquet"], Directory.GetFileSystemEntries(dir).Select(Path.GetFileName).Order());
    }

    static string WriteLists()
    {
        var dir = CliRunner.TempDir("actorlab-cli-lists");
        File.WriteAllText(Path.Combine(dir, ValueLists.FirstNamesFile), "Ann\r\nBo\r\n");
        File.WriteAllText(Path.Combine(dir, ValueLists.SurnamesFile), "Lee\n\nKim\n");
        File.WriteAllText(Path.Combine(dir, ValueLists.CitiesFile), "Oslo\nRome");
        File.WriteAllText(Path.Combine(dir, ValueLists.UniversitiesFile), "MIT");
        File.WriteAllText(Path.Combine(dir, ValueLists.EmployersFile), "Acme");
        return dir;
    }
}
