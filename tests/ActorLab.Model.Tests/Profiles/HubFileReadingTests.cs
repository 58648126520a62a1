using ActorLab.Model.Profiles;
using ParquetSharp;
using ParquetSharp.Schema;
using static ActorLab.Model.Tests.Profiles.ProfileTestData;

namespace ActorLab.Model.Tests.Profiles;

/// <summary>
/// Reads a profiles file written by Apache Arrow's C++ Parquet writer (through ParquetSharp), the writer pyarrow,
/// pandas and `datasets` use for the hub files: every column and struct optional, timestamp(ms) for timestamp[s],
/// several row groups, a pandas-like metadata entry.
/// </summary>
public class HubFileReadingTests
{
    [Fact]
    public void Reads_a_file_written_by_arrow_cpp()
    {
        var db = Generate(1234, 3, seed: 21);
        var path = Path.Combine(TempDir(), "profiles_dataset_1234_uniform_r3.parquet");
        WriteWithArrowCpp(db, path, rowGroupRows: 500);
        var back = ProfileParquet.Read(path);
        ProfileParquetTests.AssertSameProfiles(db, back);
        Assert.Equal("{}", back.Metadata["pandas"]);
    }

    [Fact]
    public void Our_files_are_readable_by_arrow_cpp()
    {
        var db = Generate(700, 2, seed: 22);
        var path = Path.Combine(TempDir(), "ours.parquet");
        ProfileParquet.Write(db, path);
        using var file = new ParquetFileReader(path);
        var meta = file.FileMetaData;
        Assert.Equal(700, meta.NumRows);
        Assert.Equal("22", meta.KeyValueMetadata[MetadataKeys.Seed]);
        var schema = meta.Schema;
        Assert.Equal(["name", "index", "birth_date", "birth_city", "university", "employer", "parent.name", "parent.index", "child.name", "child.index"],
            Enumerable.Range(0, schema.NumColumns).Select(c => schema.Column(c).Path.ToDotString()));
        using var ts = schema.Column(2).LogicalType;
        var timestamp = Assert.IsType<TimestampLogicalType>(ts);
        Assert.Equal(TimeUnit.Millis, timestamp.TimeUnit);
        using var rg = file.RowGroup(0);
        string[] names;
        using (var r = rg.Column(0).LogicalReader<string>()) names = r.ReadAll(700);
        DateTime[] dates;
        using (var r = rg.Column(2).LogicalReader<DateTime>()) dates = r.ReadAll(700);
        Nested<int>?[] child;
        using (var r = rg.Column(9).LogicalReader<Nested<int>?>()) child = r.ReadAll(700);
        Nested<string>?[] childNames;
        using (var r = rg.Column(8).LogicalReader<Nested<string>?>()) childNames = r.ReadAll(700);
        for (int i = 0; i < 700; i++)
        {
            Assert.Equal(db.Names[i], names[i]);
            Assert.Equal(db.BirthDate(i), DateOnly.FromDateTime(dates[i]));
            Assert.Equal(db.RelationTargets[1][i], child[i]!.Value.Value);
            Assert.Equal(db.Names[db.RelationTargets[1][i]], childNames[i]!.Value.Value);
        }
        file.Close();
    }

    static void WriteWithArrowCpp(ProfileDatabase db, string path, int rowGroupRows)
    {
        Node Str(string name) => new PrimitiveNode(name, Repetition.Optional, LogicalType.String(), PhysicalType.ByteArray);
        Node Int(string name) => new PrimitiveNode(name, Repetition.Optional, LogicalType.Int(32, isSigned: true), PhysicalType.Int32);
        var nodes = new List<Node>
        {
            Str("name"), Int("index"),
            new PrimitiveNode("birth_date", Repetition.Optional, LogicalType.Timestamp(isAdjustedToUtc: false, TimeUnit.Millis), PhysicalType.Int64),
            Str("birth_city"), Str("university"), Str("employer"),
        };
        for (int r = 0; r < db.RelationCount; r++)
            nodes.Add(new GroupNode(RelationNames.All[r], Repetition.Optional, [Str("name"), Int("index")]));
        using var schema = new GroupNode("schema", Repetition.Required, nodes.ToArray());
        using var props = new WriterPropertiesBuilder().Compression(Compression.Snappy).Build();
        using var file = new ParquetFileWriter(path, schema, props, new Dictionary<string, string> { ["pandas"] = "{}" });
        for (int start = 0; start < db.Count; start += rowGroupRows)
        {
            var rows = Enumerable.Range(start, Math.Min(rowGroupRows, db.Count - start)).ToArray();
            using var rg = file.AppendRowGroup();
            using (var w = rg.NextColumn().LogicalWriter<string?>()) w.WriteBatch(rows.Select(i => (string?)db.Names[i]).ToArray());
            using (var w = rg.NextColumn().LogicalWriter<int?>()) w.WriteBatch(rows.Select(i => (int?)i).ToArray());
            using (var w = rg.NextColumn().LogicalWriter<DateTime?>())
                w.WriteBatch(rows.Select(i => (DateTime?)db.BirthDate(i).ToDateTime(TimeOnly.MinValue)).ToArray());
            using (var w = rg.NextColumn().LogicalWriter<string?>()) w.WriteBatch(rows.Select(i => (string?)db.BirthCities[i]).ToArray());
            using (var w = rg.NextColumn().LogicalWriter<string?>()) w.WriteBatch(rows.Select(i => (string?)db.Universities[i]).ToArray());
            using (var w = rg.NextColumn().LogicalWriter<string?>()) w.WriteBatch(rows.Select(i => (string?)db.Employers[i]).ToArray());
            for (int r = 0; r < db.RelationCount; r++)
            {
                var t = db.RelationTargets[r];
                using (var w = rg.NextColumn().LogicalWriter<Nested<string?>?>())
                    w.WriteBatch(rows.Select(i => (Nested<string?>?)new Nested<string?>(db.Names[t[i]])).ToArray());
                using (var w = rg.NextColumn().LogicalWriter<Nested<int?>?>())
                    w.WriteBatch(rows.Select(i => (Nested<int?>?)new Nested<int?>(t[i])).ToArray());
            }
        }
        file.Close();
    }
}
