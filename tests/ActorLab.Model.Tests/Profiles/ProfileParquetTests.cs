using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Tests.Infrastructure;
using Parquet;
using Parquet.Schema;
using Parquet.Serialization;
using Parquet.Serialization.Attributes;
using static ActorLab.Model.Tests.Profiles.ProfileTestData;

namespace ActorLab.Model.Tests.Profiles;

public class ProfileParquetTests
{
    [Fact]
    public void Round_trip_keeps_every_field_and_the_metadata()
    {
        var db = Generate(2500, 17, seed: 9);
        var path = Path.Combine(TempDir(), "p.parquet");
        ProfileParquet.Write(db, path);
        var back = ProfileParquet.Read(path);
        AssertSameProfiles(db, back);
        foreach (var (k, v) in db.Metadata) Assert.Equal(v, back.Metadata[k]);
        Assert.Equal(Path.GetFullPath(path), back.Metadata[MetadataKeys.SourceFile]);
    }

    [Fact]
    public void Bipartite_round_trip_keeps_the_matchings()
    {
        var db = Generate(301, 6, seed: 2, bipartite: true);
        var path = Path.Combine(TempDir(), "b.parquet");
        ProfileParquet.Write(db, path);
        var back = ProfileParquet.Read(path);
        AssertSameProfiles(db, back);
        for (int x = 0; x < 301; x++) Assert.Equal(x, back.Related(5, back.Related(5, x))); // spouse
    }

    [Fact]
    public async Task Written_schema_is_the_hub_schema()
    {
        var path = Path.Combine(TempDir(), "s.parquet");
        ProfileParquet.Write(Generate(10, 4), path);
        var schema = await ParquetReader.ReadSchemaAsync(path);
        Assert.Equal(["name", "index", "birth_date", "birth_city", "university", "employer", "parent", "child", "best_friend", "worst_enemy"],
            schema.Fields.Select(f => f.Name));
        Assert.Equal(typeof(int), ((DataField)schema.Fields[1]).ClrType);
        var date = Assert.IsType<DateTimeDataField>(schema.Fields[2]);
        Assert.Equal(DateTimeFormat.Timestamp, date.DateTimeFormat);
        var rel = Assert.IsType<StructField>(schema.Fields[6]);
        Assert.Equal(["name", "index"], rel.Fields.Select(f => f.Name));
        Assert.Equal(typeof(ReadOnlyMemory<char>), ((DataField)rel.Fields[0]).ClrType); // Parquet.Net's UTF-8 string
        Assert.Equal(typeof(int), ((DataField)rel.Fields[1]).ClrType);
    }

    public sealed class RelationRow { [ParquetRequired] public string? name { get; set; } public int index { get; set; } }
    public sealed class Row
    {
        [ParquetRequired] public string? name { get; set; }
        public int index { get; set; }
        public DateTime birth_date { get; set; }
        [ParquetRequired] public string? birth_city { get; set; }
        public RelationRow? parent { get; set; }
        public RelationRow? child { get; set; }
        public RelationRow? best_friend { get; set; }
    }

    [Fact]
    public async Task Relation_names_in_the_file_equal_the_names_at_their_index()
    {
        var db = Generate(1000, 3, seed: 4);
        var path = Path.Combine(TempDir(), "r.parquet");
        ProfileParquet.Write(db, path);
        // read with Parquet.Net's class deserializer, independently of our reader
        var result = await ParquetSerializer.DeserializeAsync<Row>(path);
        Assert.Equal("4", result.CustomMetadata[MetadataKeys.Seed]);
        var rows = result.Data;
        Assert.Equal(1000, rows.Count);
        for (int i = 0; i < 1000; i++)
        {
            var row = rows[i];
            Assert.Equal(i, row.index);
            Assert.Equal(db.BirthDate(i), DateOnly.FromDateTime(row.birth_date));
            Assert.Equal(db.BirthCities[i], row.birth_city);
            foreach (var (rel, r) in new[] { (row.parent!, 0), (row.child!, 1), (row.best_friend!, 2) })
            {
                Assert.Equal(db.RelationTargets[r][i], rel.index);
                Assert.Equal(rows[rel.index].name, rel.name);
            }
        }
    }

    [Fact]
    public void Same_seed_gives_byte_identical_files_and_a_different_seed_does_not()
    {
        var dir = TempDir();
        string a = Path.Combine(dir, "a.parquet"), b = Path.Combine(dir, "b.parquet"), c = Path.Combine(dir, "c.parquet");
        ProfileParquet.Write(Generate(4000, 17, seed: 5), a);
        Thread.Sleep(1100); // a clock in the file would now differ
        ProfileParquet.Write(Generate(4000, 17, seed: 5), b);
        ProfileParquet.Write(Generate(4000, 17, seed: 6), c);
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
        Assert.NotEqual(File.ReadAllBytes(a), File.ReadAllBytes(c));
    }

    [Theory]
    [InlineData(DateTimeFormat.DateAndTimeMicros, true, 3)]
    [InlineData(DateTimeFormat.DateAndTime, false, 1)]
    [InlineData(DateTimeFormat.Impala, true, 2)]
    [InlineData(DateTimeFormat.Date, true, 4)]
    public void Reads_hub_schema_written_with_other_settings(DateTimeFormat dateFormat, bool int64Index, int rowGroups)
    {
        var db = Generate(997, 5, seed: 8);
        var path = Path.Combine(TempDir(), "hub.parquet");
        var order = Enumerable.Range(0, db.Count).ToArray();
        new Random(1).Shuffle(order); // rows in any order of index
        WriteLikePyArrow(db, path, order, dateFormat, int64Index, rowGroups);
        var back = ProfileParquet.Read(path);
        AssertSameProfiles(db, back);
        Assert.False(back.Metadata.ContainsKey(MetadataKeys.Seed));
    }

    [SkippableFact]
    public void Reference_list_database_round_trips()
    {
        var lists = ValueLists.FromDirectory(SharedData.RequireReferenceLists());
        var db = ProfileGenerator.Generate(new ProfileGeneratorConfig(3000, 17, 3, Bipartite: true), lists);
        var path = Path.Combine(TempDir(), "ref.parquet");
        ProfileParquet.Write(db, path);
        AssertSameProfiles(db, ProfileParquet.Read(path));
    }

    [Fact]
    public void Missing_file_is_named()
    {
        var e = Assert.Throws<UserInputException>(() => ProfileParquet.Read("/nonexistent/p.parquet"));
        Assert.Contains("/nonexistent/p.parquet", e.Message);
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public void Corrupt_and_truncated_files_are_rejected_with_their_name()
    {
        var dir = TempDir();
        var garbage = Path.Combine(dir, "garbage.parquet");
        File.WriteAllBytes(garbage, Enumerable.Range(0, 5000).Select(i => (byte)(i * 31)).ToArray());
        var e = Assert.Throws<UserInputException>(() => ProfileParquet.Read(garbage));
        Assert.Contains(garbage, e.Message);

        var good = Path.Combine(dir, "good.parquet");
        ProfileParquet.Write(Generate(500, 2), good);
        var bytes = File.ReadAllBytes(good);
        var truncated = Path.Combine(dir, "truncated.parquet");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        e = Assert.Throws<UserInputException>(() => ProfileParquet.Read(truncated));
        Assert.Contains(truncated, e.Message);

        // a damaged data page (the footer intact) must not load silently as other data
        var damaged = Path.Combine(dir, "damaged.parquet");
        var copy = (byte[])bytes.Clone();
        for (int i = 100; i < 400; i++) copy[i] = 0xFF;
        File.WriteAllBytes(damaged, copy);
        e = Assert.Throws<UserInputException>(() => ProfileParquet.Read(damaged));
        Assert.Contains(damaged, e.Message);
    }

    [Fact]
    public void Wrong_schemas_are_rejected_naming_the_column()
    {
        var dir = TempDir();
        // a valid parquet that is not a profiles file
        var other = Path.Combine(dir, "other.parquet");
        WriteColumns(other, new DataField<string>("title"), ["a", "b"]);
        var e = Assert.Throws<UserInputException>(() => ProfileParquet.Read(other));
        Assert.Contains(other, e.Message);
        Assert.Contains("'name'", e.Message);

        // index as a string column
        var db = Generate(50, 2);
        var badIndex = Path.Combine(dir, "bad-index.parquet");
        WriteLikePyArrow(db, badIndex, Enumerable.Range(0, 50).ToArray(), DateTimeFormat.DateAndTime, false, 1, indexAsString: true);
        e = Assert.Throws<UserInputException>(() => ProfileParquet.Read(badIndex));
        Assert.Contains("'index'", e.Message);

        // a relation gap: child without parent
        var gap = Path.Combine(dir, "gap.parquet");
        WriteLikePyArrow(db, gap, Enumerable.Range(0, 50).ToArray(), DateTimeFormat.DateAndTime, false, 1, skipFirstRelation: true);
        e = Assert.Throws<UserInputException>(() => ProfileParquet.Read(gap));
        Assert.Contains("'child'", e.Message);
        Assert.Contains("'parent'", e.Message);
    }

    [Fact]
    public void Nulls_duplicate_indexes_and_out_of_range_relations_are_rejected()
    {
        var db = Generate(40, 2);
        var dir = TempDir();
        var ids = Enumerable.Range(0, 40).ToArray();

        var nulls = Path.Combine(dir, "nulls.parquet");
        WriteLikePyArrow(db, nulls, ids, DateTimeFormat.DateAndTime, false, 1, nullCity: 7);
        Assert.Contains("null", Assert.Throws<UserInputException>(() => ProfileParquet.Read(nulls)).Message);

        var dup = Path.Combine(dir, "dup.parquet");
        WriteLikePyArrow(db, dup, ids.Select(i => i == 3 ? 4 : i).ToArray(), DateTimeFormat.DateAndTime, false, 1);
        Assert.Contains("index 4 appears twice", Assert.Throws<UserInputException>(() => ProfileParquet.Read(dup)).Message);

        var badName = Path.Combine(dir, "badname.parquet");
        WriteLikePyArrow(db, badName, ids, DateTimeFormat.DateAndTime, false, 1, renameFirst: "Cher");
        Assert.Contains("'Cher'", Assert.Throws<UserInputException>(() => ProfileParquet.Read(badName)).Message);
    }

    [Fact]
    public void Failed_write_leaves_no_partial_file()
    {
        var dir = TempDir();
        var e = Assert.Throws<UserInputException>(() => ProfileParquet.Write(Generate(20, 2), Path.Combine(dir, "missing", "p.parquet")));
        Assert.Contains("does not exist", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    internal static void AssertSameProfiles(ProfileDatabase expected, ProfileDatabase actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        Assert.Equal(expected.RelationCount, actual.RelationCount);
        Assert.Equal(expected.Names, actual.Names);
        Assert.Equal(expected.BirthDays, actual.BirthDays);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected.FirstNames[i], actual.FirstNames[i]);
            Assert.Equal(expected.MiddleNames[i], actual.MiddleNames[i]);
            Assert.Equal(expected.LastNames[i], actual.LastNames[i]);
            Assert.Equal(expected.BirthCities[i], actual.BirthCities[i]);
            Assert.Equal(expected.Universities[i], actual.Universities[i]);
            Assert.Equal(expected.Employers[i], actual.Employers[i]);
        }
        Assert.Same(actual.FirstNames.Values, actual.MiddleNames.Values);
        for (int r = 0; r < expected.RelationCount; r++)
            Assert.Equal(expected.RelationTargets[r], actual.RelationTargets[r]);
        Assert.Equal(expected.BirthCities.DistinctUsed(), actual.BirthCities.Values.Length); // interned, not one string per row
    }

    static void WriteColumns(string path, DataField field, string[] values)
    {
        using var fs = File.Create(path);
        var w = ParquetWriter.CreateAsync(new ParquetSchema(field), fs).GetAwaiter().GetResult();
        using (var rg = w.CreateRowGroup())
            rg.WriteAsync(field, values).GetAwaiter().GetResult();
        w.DisposeAsync().AsTask().Wait();
    }

    /// <summary>
    /// Writes the hub schema the way pyarrow/pandas do, not the way our writer does: every column and struct optional,
    /// a pandas index column, the chosen timestamp encoding and index width, several row groups, rows in
    /// <paramref name="order"/>.
    /// </summary>
    static void WriteLikePyArrow(ProfileDatabase db, string path, int[] order, DateTimeFormat dateFormat, bool int64Index, int rowGroups,
        bool indexAsString = false, bool skipFirstRelation = false, int nullCity = -1, string? renameFirst = null)
    {
        DataField Str(string name) => new DataField<string>(name, nullable: true);
        DataField Idx(string name) => indexAsString ? Str(name) : int64Index ? new DataField<long?>(name) : new DataField<int?>(name);
        var fields = new List<Field>
        {
            Str("name"), Idx("index"),
            dateFormat == DateTimeFormat.Date
                ? new DataField<DateOnly?>("birth_date")
                : new DateTimeDataField("birth_date", dateFormat, isAdjustedToUTC: false, unit: dateFormat == DateTimeFormat.Timestamp ? DateTimeTimeUnit.Micros : null, isNullable: true),
            Str("birth_city"), Str("university"), Str("employer"),
        };
        for (int r = skipFirstRelation ? 1 : 0; r < db.RelationCount; r++)
            fields.Add(new StructField(RelationNames.All[r], Str("name"), Idx("index")));
        fields.Add(new DataField<long?>("__index_level_0__"));
        var schema = new ParquetSchema(fields);

        using var fs = File.Create(path);
        var w = ParquetWriter.CreateAsync(schema, fs, new ParquetOptions { CompressionMethod = CompressionMethod.Gzip }).GetAwaiter().GetResult();
        w.CustomMetadata = new Dictionary<string, string> { ["pandas"] = "{}" };
        int per = (order.Length + rowGroups - 1) / rowGroups;
        for (int start = 0; start < order.Length; start += per)
        {
            var rows = order.Skip(start).Take(per).ToArray();
            using var rg = w.CreateRowGroup();
            var leaves = schema.GetDataFields();
            int leaf = 0;
            void Strings(string?[] v) => rg.WriteAsync(leaves[leaf++], v).GetAwaiter().GetResult();
            void Ints(int[] v)
            {
                var f = leaves[leaf++];
                if (indexAsString && f.Name == "index") rg.WriteAsync(f, v.Select(x => (string?)x.ToString()).ToArray()).GetAwaiter().GetResult();
                else if (int64Index) rg.WriteAsync(f, (ReadOnlyMemory<long?>)v.Select(x => (long?)x).ToArray()).GetAwaiter().GetResult();
                else rg.WriteAsync(f, (ReadOnlyMemory<int?>)v.Select(x => (int?)x).ToArray()).GetAwaiter().GetResult();
            }
            Strings(rows.Select(i => i == 0 && renameFirst != null ? renameFirst : db.Names[i]).ToArray());
            Ints(rows);
            var dateField = leaves[leaf++];
            if (dateFormat == DateTimeFormat.Date)
                rg.WriteAsync(dateField, (ReadOnlyMemory<DateOnly?>)rows.Select(i => (DateOnly?)db.BirthDate(i)).ToArray()).GetAwaiter().GetResult();
            else
                rg.WriteAsync(dateField, (ReadOnlyMemory<DateTime?>)rows.Select(i => (DateTime?)db.BirthDate(i).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc)).ToArray()).GetAwaiter().GetResult();
            Strings(rows.Select(i => i == nullCity ? null : db.BirthCities[i]).ToArray());
            Strings(rows.Select(i => db.Universities[i]).ToArray());
            Strings(rows.Select(i => db.Employers[i]).ToArray());
            for (int r = skipFirstRelation ? 1 : 0; r < db.RelationCount; r++)
            {
                Strings(rows.Select(i => db.Names[db.RelationTargets[r][i]]).ToArray());
                Ints(rows.Select(i => db.RelationTargets[r][i]).ToArray());
            }
            rg.WriteAsync(leaves[leaf++], (ReadOnlyMemory<long?>)rows.Select(i => (long?)i).ToArray()).GetAwaiter().GetResult();
        }
        w.DisposeAsync().AsTask().Wait();
    }
}
