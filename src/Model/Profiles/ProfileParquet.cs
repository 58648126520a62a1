using ActorLab.Model.Common;
using Parquet;
using Parquet.Schema;

namespace ActorLab.Model.Profiles;

/// <summary>
/// Profiles database <-> Parquet in the HF hub schema (SPEC 1): name string, index int32, birth_date timestamp,
/// birth_city/university/employer string, and per relation a struct&lt;name string, index int32&gt; column named after
/// it; the footer holds <see cref="MetadataKeys"/> key-value metadata.
/// Our writer: required columns (struct groups are optional, as Parquet.Net makes them), birth_date as TIMESTAMP(MILLIS, not UTC-adjusted) (Parquet has no seconds unit;
/// pyarrow stores its timestamp[s] the same way), one row group per <see cref="RowGroupRows"/> rows, Snappy.
/// Output is a pure function of the database (no clocks, no random ids), so the same seed and lists give
/// byte-identical files. The reader also takes files from other writers (pandas/pyarrow, `datasets`): optional
/// columns (nulls rejected), int64 index, timestamp in any unit, INT96 or date, several row groups, rows in any
/// order of index; the relation name columns are not read (a relation is its index; names are looked up). Columns
/// are read on up to 4 threads, each with its own reader.
/// </summary>
public static class ProfileParquet
{
    public const int RowGroupRows = 1 << 20;

    public const string Name = "name", Index = "index";

    // ------------------------------------------------------------------ write

    public static void Write(ProfileDatabase db, string path)
    {
        var schema = SchemaFor(db.RelationCount);
        AtomicFile.Write(path, stream => WriteAsync(db, schema, stream).GetAwaiter().GetResult());
    }

    static ParquetSchema SchemaFor(int relations)
    {
        var fields = new List<Field>
        {
            new DataField<string>(Name, nullable: false),
            new DataField<int>(Index, nullable: false),
            new DateTimeDataField(AttributeNames.BirthDate, DateTimeFormat.Timestamp, isAdjustedToUTC: false, unit: DateTimeTimeUnit.Millis, isNullable: false),
            new DataField<string>(AttributeNames.BirthCity, nullable: false),
            new DataField<string>(AttributeNames.University, nullable: false),
            new DataField<string>(AttributeNames.Employer, nullable: false),
        };
        for (int r = 0; r < relations; r++)
            fields.Add(new StructField(RelationNames.All[r], new DataField<string>(Name, nullable: false), new DataField<int>(Index, nullable: false)));
        return new ParquetSchema(fields);
    }

    static async Task WriteAsync(ProfileDatabase db, ParquetSchema schema, Stream stream)
    {
        await using var writer = await ParquetWriter.CreateAsync(schema, stream, new ParquetOptions
        {
            CompressionMethod = CompressionMethod.Snappy,
            // names are (nearly) unique: a sample tells so without hashing whole columns; pools still get dictionaries
            DictionaryEncodingSampleSize = 4096,
        });
        writer.CustomMetadata = db.Metadata.Where(kv => kv.Key != MetadataKeys.SourceFile)
            .OrderBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(kv => kv.Key, kv => kv.Value);
        var top = schema.Fields;
        for (int start = 0; start < db.Count; start += RowGroupRows)
        {
            int count = Math.Min(RowGroupRows, db.Count - start);
            using var rg = writer.CreateRowGroup();
            await rg.WriteAsync((DataField)top[0], new ArraySegment<string>(db.Names, start, count));
            await rg.WriteAsync((DataField)top[1], (ReadOnlyMemory<int>)Enumerable.Range(start, count).ToArray());
            var dates = new DateTime[count];
            for (int i = 0; i < count; i++)
                dates[i] = db.BirthDate(start + i).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
            await rg.WriteAsync((DataField)top[2], (ReadOnlyMemory<DateTime>)dates);
            await rg.WriteAsync((DataField)top[3], Slice(db.BirthCities, start, count));
            await rg.WriteAsync((DataField)top[4], Slice(db.Universities, start, count));
            await rg.WriteAsync((DataField)top[5], Slice(db.Employers, start, count));
            for (int r = 0; r < db.RelationCount; r++)
            {
                var st = (StructField)top[6 + r];
                var targets = new int[count];
                Array.Copy(db.RelationTargets[r], start, targets, 0, count);
                var names = new string[count];
                for (int i = 0; i < count; i++) names[i] = db.Names[targets[i]];
                await rg.WriteAsync((DataField)st.Fields[0], names);
                // Parquet.Net makes struct groups optional, so the leaves need definition levels: write as int?.
                var boxed = new int?[count];
                for (int i = 0; i < count; i++) boxed[i] = targets[i];
                await rg.WriteAsync((DataField)st.Fields[1], (ReadOnlyMemory<int?>)boxed);
            }
            rg.CompleteValidate();
        }
    }

    static string[] Slice(InternedColumn column, int start, int count)
    {
        var s = new string[count];
        for (int i = 0; i < count; i++) s[i] = column[start + i];
        return s;
    }

    // ------------------------------------------------------------------ read

    /// <summary>
    /// Loads a profiles parquet (ours or the hub's) into an interned <see cref="ProfileDatabase"/>. A missing file,
    /// a file that is not parquet, or a schema that is not SPEC 1's is a <see cref="UserInputException"/> naming the
    /// file and the problem. Relations are the leading run of SPEC 1 relation columns (r1..r17).
    /// </summary>
    public static ProfileDatabase Read(string path)
    {
        PathChecks.InputFile("--profiles", path, "profiles file");
        CheckFrame(path);
        try
        {
            return ReadAsync(path).GetAwaiter().GetResult();
        }
        catch (UserInputException) { throw; }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new UserInputException($"Profiles file '{path}' is not a readable parquet file: {e.Message}", e);
        }
    }

    /// <summary>
    /// The frame of a parquet file, checked before the parquet reader allocates anything from it: "PAR1" at both ends
    /// and a footer length that fits in the file (a footer claiming 2 GiB is refused, not allocated). The messages
    /// say what is wrong without echoing the file's bytes.
    /// </summary>
    static void CheckFrame(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long length = fs.Length;
        if (length < 12) throw Bad(path, $"it has {length} bytes, too few for a parquet file.");
        Span<byte> head = stackalloc byte[4], tail = stackalloc byte[8];
        fs.ReadExactly(head);
        fs.Seek(-8, SeekOrigin.End);
        fs.ReadExactly(tail);
        if (!head.SequenceEqual("PAR1"u8) || !tail[4..].SequenceEqual("PAR1"u8))
            throw Bad(path, "it is not a parquet file (no PAR1 marker at its start and end).");
        long footer = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(tail);
        if (footer < 1 || footer > length - 12)
            throw Bad(path, $"its footer claims {footer:N0} bytes but the file has {length:N0}; the file is truncated or damaged.");
    }

    static UserInputException Bad(string path, string problem) => new($"Profiles file '{path}': {problem}");

    static async Task<ProfileDatabase> ReadAsync(string path)
    {
        await using var reader = await ParquetReader.CreateAsync(path);
        var top = reader.Schema.Fields.ToDictionary(f => f.Name, StringComparer.Ordinal);

        DataField Leaf(string name, params Type[] types)
        {
            if (!top.TryGetValue(name, out var f))
                throw Bad(path, $"column '{name}' is missing (expected the profiles schema of SPEC 1: name, index, birth_date, birth_city, university, employer, relations).");
            if (f is not DataField d || d.IsArray || !types.Contains(d.ClrType))
                throw Bad(path, $"column '{name}' has type {Describe(f)}, expected {string.Join(" or ", types.Select(TypeName).Distinct())}.");
            return d;
        }

        // Parquet.Net reports UTF-8 string columns as ReadOnlyMemory<char>; they are read as string.
        var str = new[] { typeof(string), typeof(ReadOnlyMemory<char>) };
        var nameField = Leaf(Name, str);
        var indexField = Leaf(Index, typeof(int), typeof(long));
        var dateField = Leaf(AttributeNames.BirthDate, typeof(DateTime), typeof(DateOnly));
        var cityField = Leaf(AttributeNames.BirthCity, str);
        var uniField = Leaf(AttributeNames.University, str);
        var empField = Leaf(AttributeNames.Employer, str);

        var relationIndex = new List<DataField>();
        foreach (var relName in RelationNames.All)
        {
            if (!top.TryGetValue(relName, out var f)) break;
            var idx = f is StructField st ? st.Fields.OfType<DataField>().FirstOrDefault(x => x.Name == Index) : null;
            var nm = f is StructField st2 ? st2.Fields.OfType<DataField>().FirstOrDefault(x => x.Name == Name) : null;
            if (idx is null || nm is null || idx.IsArray || (idx.ClrType != typeof(int) && idx.ClrType != typeof(long)) || !str.Contains(nm.ClrType))
                throw Bad(path, $"relation column '{relName}' has type {Describe(f)}, expected struct<name: string, index: int32>.");
            relationIndex.Add(idx);
        }
        var extra = RelationNames.All.Skip(relationIndex.Count).FirstOrDefault(top.ContainsKey);
        if (extra != null)
            throw Bad(path, $"relation '{extra}' is present but '{RelationNames.All[relationIndex.Count]}' is missing; a dataset with R relations has the first R of SPEC 1.");
        if (relationIndex.Count == 0)
            throw Bad(path, $"no relation columns (expected at least '{RelationNames.All[0]}', then the next relations of SPEC 1 in order).");

        long total = reader.RowGroups.Sum(g => g.RowCount);
        if (total < 1) throw Bad(path, "it has no rows.");
        if (total > Array.MaxLength) throw Bad(path, $"{total} rows is more than this reader supports.");
        double needs = ProfileDatabase.EstimatedBytes(total, relationIndex.Count);
        long has = ProfileDatabase.AvailableBytes;
        if (needs > has)
            throw Bad(path, $"it claims {total:N0} rows, which would need about {needs / (1L << 30):N1} GiB to read; this machine has {has / (double)(1L << 30):N1} GiB.");
        int n = (int)total;

        // Raw columns in file order; rows are placed at their index afterwards.
        var names = new string[n];
        var index = new long[n];
        var days = new int[n];
        var cities = new string[n];
        var unis = new string[n];
        var emps = new string[n];
        var rel = relationIndex.Select(_ => new long[n]).ToArray();

        // Columns are independent: read them on a few threads, each with its own reader (a reader is one stream).
        var starts = new int[reader.RowGroupCount];
        for (int g = 1; g < starts.Length; g++) starts[g] = starts[g - 1] + checked((int)reader.RowGroups[g - 1].RowCount);
        var jobs = new List<Func<ParquetRowGroupReader, int, int, Task>>
        {
            (rg, at, rows) => ReadStrings(rg, nameField, names.AsMemory(at, rows), path),
            (rg, at, rows) => ReadIntegers(rg, indexField, index.AsMemory(at, rows), path),
            (rg, at, rows) => ReadDays(rg, dateField, days.AsMemory(at, rows), path),
            (rg, at, rows) => ReadStrings(rg, cityField, cities.AsMemory(at, rows), path),
            (rg, at, rows) => ReadStrings(rg, uniField, unis.AsMemory(at, rows), path),
            (rg, at, rows) => ReadStrings(rg, empField, emps.AsMemory(at, rows), path),
        };
        for (int r = 0; r < rel.Length; r++)
        {
            var (field, into) = (relationIndex[r], rel[r]);
            jobs.Add((rg, at, rows) => ReadIntegers(rg, field, into.AsMemory(at, rows), path, inStruct: true));
        }
        int workers = Math.Clamp(Environment.ProcessorCount, 1, 4);
        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            await using var own = w == 0 ? null : await ParquetReader.CreateAsync(path);
            var rd = own ?? reader;
            for (int g = 0; g < starts.Length; g++)
            {
                using var rg = rd.OpenRowGroupReader(g);
                int rows = checked((int)rg.RowCount);
                for (int j = w; j < jobs.Count; j += workers)
                    await jobs[j](rg, starts[g], rows);
            }
        })));

        // index must be a permutation of 0..N-1: row i goes to position index[i].
        var pos = new int[n];
        var seen = new bool[n];
        for (int i = 0; i < n; i++)
        {
            long x = index[i];
            if (x < 0 || x >= n) throw Bad(path, $"row {i} has index {x}, outside 0..{n - 1}.");
            if (seen[x]) throw Bad(path, $"index {x} appears twice.");
            seen[x] = true;
            pos[i] = (int)x;
        }
        T[] Place<T>(T[] raw)
        {
            bool identity = true;
            for (int i = 0; i < n && identity; i++) identity = pos[i] == i;
            if (identity) return raw;
            var placed = new T[n];
            for (int i = 0; i < n; i++) placed[pos[i]] = raw[i];
            return placed;
        }

        names = Place(names);
        var first = new Interner(n); var middle = new Interner(n); var last = new Interner(n);
        // first and middle share one pool (SPEC 1: both drawn from the first-name list)
        var firstIds = new int[n]; var middleIds = new int[n]; var lastIds = new int[n];
        for (int i = 0; i < n; i++)
        {
            var full = names[i];
            int a = full.IndexOf(' ');
            int b = a < 0 ? -1 : full.IndexOf(' ', a + 1);
            if (a <= 0 || b <= a + 1 || b == full.Length - 1)
                throw Bad(path, $"name '{full}' at index {i} is not 'First Middle Last'.");
            firstIds[i] = first.Id(full[..a]);
            middleIds[i] = first.Id(full[(a + 1)..b]);
            lastIds[i] = last.Id(full[(b + 1)..]);
        }
        var targets = new int[rel.Length][];
        for (int r = 0; r < rel.Length; r++)
        {
            var placed = Place(rel[r]);
            var t = targets[r] = new int[n];
            for (int i = 0; i < n; i++)
            {
                long x = placed[i];
                if (x < 0 || x >= n) throw Bad(path, $"relation '{RelationNames.All[r]}' of index {i} points to {x}, outside 0..{n - 1}.");
                t[i] = (int)x;
            }
        }

        var metadata = new Dictionary<string, string>(reader.CustomMetadata ?? new Dictionary<string, string>())
        {
            [MetadataKeys.SourceFile] = Path.GetFullPath(path),
        };
        var firstPool = first.Values();
        return new ProfileDatabase(
            names,
            new InternedColumn(firstPool, firstIds),
            new InternedColumn(firstPool, middleIds),
            new InternedColumn(last.Values(), lastIds),
            Place(days),
            Intern(Place(cities)),
            Intern(Place(unis)),
            Intern(Place(emps)),
            targets,
            metadata);
    }

    static string Describe(Field f) => f switch
    {
        StructField s => $"struct<{string.Join(", ", s.Fields.Select(x => $"{x.Name}: {Describe(x)}"))}>",
        DataField { IsArray: true } d => $"list<{TypeName(d.ClrType)}>",
        DataField d => TypeName(d.ClrType),
        _ => f.SchemaType.ToString(),
    };

    static string TypeName(Type t) =>
        t == typeof(string) || t == typeof(ReadOnlyMemory<char>) ? "string"
        : t == typeof(ReadOnlyMemory<byte>) || t == typeof(byte[]) ? "binary"
        : t == typeof(int) ? "int32" : t == typeof(long) ? "int64"
        : t == typeof(DateTime) ? "timestamp" : t == typeof(DateOnly) ? "date" : t.Name.ToLowerInvariant();

    static InternedColumn Intern(string[] values)
    {
        var interner = new Interner(256);
        var ids = new int[values.Length];
        for (int i = 0; i < values.Length; i++) ids[i] = interner.Id(values[i]);
        return new InternedColumn(interner.Values(), ids);
    }

    sealed class Interner(int capacity)
    {
        readonly Dictionary<string, int> ids = new(Math.Min(capacity, 1 << 16), StringComparer.Ordinal);
        readonly List<string> values = [];
        public int Id(string v)
        {
            if (!ids.TryGetValue(v, out var id)) { id = values.Count; ids.Add(v, id); values.Add(v); }
            return id;
        }
        public string[] Values() => values.ToArray();
    }

    static async Task ReadStrings(ParquetRowGroupReader rg, DataField f, Memory<string> into, string path)
    {
#pragma warning disable CS8620 // nulls are checked right below
        await rg.ReadAsync(f, into);
#pragma warning restore CS8620
        var span = into.Span;
        for (int i = 0; i < span.Length; i++)
            if (span[i] is null) throw Bad(path, $"column '{f.Path}' has a null value.");
    }

    /// <summary>A leaf inside a struct has definition levels even when required (the group may be null).</summary>
    static async Task ReadIntegers(ParquetRowGroupReader rg, DataField f, Memory<long> into, string path, bool inStruct = false)
    {
        int rows = into.Length;
        bool nullable = f.IsNullable || inStruct;
        if (f.ClrType == typeof(long))
        {
            if (!nullable) { await rg.ReadAsync(f, into); return; }
            var buf = new long?[rows];
            await rg.ReadAsync<long>(f, buf.AsMemory());
            for (int i = 0; i < rows; i++) into.Span[i] = buf[i] ?? throw Bad(path, $"column '{f.Path}' has a null value.");
        }
        else if (!nullable)
        {
            var buf = new int[rows];
            await rg.ReadAsync(f, buf.AsMemory());
            for (int i = 0; i < rows; i++) into.Span[i] = buf[i];
        }
        else
        {
            var buf = new int?[rows];
            await rg.ReadAsync<int>(f, buf.AsMemory());
            for (int i = 0; i < rows; i++) into.Span[i] = buf[i] ?? throw Bad(path, $"column '{f.Path}' has a null value.");
        }
    }

    static async Task ReadDays(ParquetRowGroupReader rg, DataField f, Memory<int> into, string path)
    {
        int rows = into.Length;
        int epoch = ProfileDatabase.Epoch.DayNumber;
        if (f.ClrType == typeof(DateOnly))
        {
            var buf = new DateOnly?[rows];
            if (f.IsNullable) await rg.ReadAsync<DateOnly>(f, buf.AsMemory());
            else { var nn = new DateOnly[rows]; await rg.ReadAsync(f, nn.AsMemory()); for (int i = 0; i < rows; i++) buf[i] = nn[i]; }
            for (int i = 0; i < rows; i++)
                into.Span[i] = (buf[i] ?? throw Bad(path, $"column '{f.Path}' has a null value.")).DayNumber - epoch;
            return;
        }
        var dt = new DateTime?[rows];
        if (f.IsNullable) await rg.ReadAsync<DateTime>(f, dt.AsMemory());
        else { var nn = new DateTime[rows]; await rg.ReadAsync(f, nn.AsMemory()); for (int i = 0; i < rows; i++) dt[i] = nn[i]; }
        for (int i = 0; i < rows; i++)
            into.Span[i] = DateOnly.FromDateTime(dt[i] ?? throw Bad(path, $"column '{f.Path}' has a null value.")).DayNumber - epoch;
    }
}
