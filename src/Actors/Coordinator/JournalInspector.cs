using System.Data.Common;
using ActorLab.Actors.Config;
using ActorLab.Actors.Serialization;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace ActorLab.Actors.Coordinator;

/// <summary>One thing wrong in the journal: an event or snapshot (by sequence number) and why it cannot be used.</summary>
public sealed record JournalProblem(string Kind, long SequenceNr, string? Manifest, string Reason)
{
    public override string ToString() => $"{Kind} {SequenceNr} ({Manifest ?? "no manifest"}): {Reason}";
}

/// <summary>What `db check` found: counts, every problem, or one fatal reason the journal cannot be read at all.</summary>
public sealed record JournalReport(string Journal, int Events, int Snapshots, IReadOnlyList<JournalProblem> Problems, string? Fatal)
{
    /// <summary>The server did not answer (not damage: the node's own journal check says so in its words).</summary>
    public string? Unreachable { get; init; }

    public bool Healthy => Fatal is null && Problems.Count == 0;

    /// <summary>One line for a refusal at start: the first problem, how many, and what to run.</summary>
    public string Summary() => Fatal ?? (Problems.Count == 0
        ? $"{Journal}: {Events} events, {Snapshots} snapshots, all readable"
        : $"{Journal}: {Problems[0]}{(Problems.Count > 1 ? $" (and {Problems.Count - 1} more)" : "")}");
}

/// <summary>
/// Reads the coordinator's journal and snapshots straight from their tables, outside any actor system, and checks
/// each: the file or server answers (SQLite's own integrity check), every event's payload is readable under its
/// manifest and applies to the state of the ones before it, every snapshot is readable and builds a state.
/// Repair keeps every event that is readable and applies, drops the rest (and damaged snapshots: the events
/// behind them are kept, so recovery replays them) after a backup, and says what it dropped.
/// </summary>
public static class JournalInspector
{
    sealed record Row(long SequenceNr, string? Manifest, byte[] Payload, int? SerializerId);

    const int SerializerId = 7301;

    static (string Events, string Snapshots) Tables(JournalSettings j) => j.IsSqlite ? ("event_journal", "snapshot") : ("event_journal", "snapshot_store");

    static DbConnection Open(JournalSettings j)
    {
        DbConnection c = j.IsSqlite
            ? new SqliteConnection(new SqliteConnectionStringBuilder(j.ConnectionString) { Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ConnectionString)
            : new NpgsqlConnection(new NpgsqlConnectionStringBuilder(j.ConnectionString) { Pooling = false, Timeout = 10 }.ConnectionString);
        c.Open();
        return c;
    }

    /// <param name="recoveryOnly">Only what a coordinator's recovery reads (the newest snapshot and the events after it):
    /// the check a node makes at start, bounded like the recovery itself; `db check` reads everything.</param>
    public static JournalReport Check(JournalSettings j, bool recoveryOnly = false)
    {
        if (j.IsSqlite && !File.Exists(new SqliteConnectionStringBuilder(j.ConnectionString).DataSource))
            return new JournalReport(j.Description, 0, 0, [], null); // a new journal: nothing to check yet
        try
        {
            using var c = Open(j);
            if (j.IsSqlite && Scalar(c, "PRAGMA quick_check") is var ok && ok != "ok")
                return Damaged(j, $"the file is damaged (SQLite: {ok})");
            var (events, snapshots) = Tables(j);
            if (!TableExists(c, j, events)) return new JournalReport(j.Description, 0, 0, [], null);
            var (problems, nEvents, nSnapshots) = Inspect(c, events, snapshots, recoveryOnly);
            return new JournalReport(j.Description, nEvents, nSnapshots, problems, null);
        }
        catch (SqliteException e)
        {
            return Damaged(j, $"the file cannot be read (SQLite: {e.Message})");
        }
        catch (NpgsqlException e)
        {
            return new JournalReport(j.Description, 0, 0, [], null) { Unreachable = $"{j.Description}: {e.Message}" };
        }
    }

    static JournalReport Damaged(JournalSettings j, string why) =>
        new(j.Description, 0, 0, [], $"{j.Description}: {why}. `actorlab db repair` salvages every readable event into a new file (the damaged one is kept beside it).");

    static (List<JournalProblem>, int, int) Inspect(DbConnection c, string events, string snapshots, bool recoveryOnly)
    {
        var json = ActorLabSerializer.Standalone;
        var problems = new List<JournalProblem>();
        var state = SweepState.Empty;
        long after = 0;
        // snapshots first: recovery starts from the newest one and replays only the events after it
        var snaps = Rows(c, $"SELECT sequence_nr, manifest, payload, serializer_id FROM {snapshots} WHERE persistence_id = @p " +
                            (recoveryOnly ? "ORDER BY sequence_nr DESC LIMIT 1" : "ORDER BY sequence_nr"));
        foreach (var r in snaps)
        {
            if (Reason(r, json, out var payload) is { } why) { problems.Add(new JournalProblem("snapshot", r.SequenceNr, r.Manifest, why)); continue; }
            try
            {
                var built = ((CoordinatorSnapshot)payload!).ToState();
                if (recoveryOnly) (state, after) = (built, r.SequenceNr);
            }
            catch (Exception ex)
            {
                problems.Add(new JournalProblem("snapshot", r.SequenceNr, r.Manifest, $"does not build a state ({ex.GetType().Name}: {ex.Message})"));
            }
        }
        var rows = Rows(c, $"SELECT sequence_nr, manifest, payload, serializer_id FROM {events} WHERE persistence_id = @p AND sequence_nr > @after ORDER BY sequence_nr", after);
        foreach (var r in rows)
        {
            if (Reason(r, json, out var payload) is { } why) { problems.Add(new JournalProblem("event", r.SequenceNr, r.Manifest, why)); continue; }
            if (payload is not ISweepEvent e) { problems.Add(new JournalProblem("event", r.SequenceNr, r.Manifest, "not a coordinator event")); continue; }
            try { state = state.Apply(e); }
            catch (Exception ex) when (ex is ArgumentException or KeyNotFoundException or InvalidOperationException or NullReferenceException)
            {
                problems.Add(new JournalProblem("event", r.SequenceNr, r.Manifest, $"does not apply to the events before it ({ex.GetType().Name}: {ex.Message})"));
            }
        }
        return (problems, rows.Count, snaps.Count);
    }

    static string? Reason(Row r, System.Text.Json.JsonSerializerOptions json, out object? payload)
    {
        payload = null;
        if (r.SerializerId is { } id && id != SerializerId) return $"written by serializer {id}, not ActorLab's ({SerializerId})";
        if (string.IsNullOrEmpty(r.Manifest)) return "no manifest";
        try
        {
            payload = ActorLabSerializer.Read(r.Payload, r.Manifest, json);
            return null;
        }
        catch (System.Runtime.Serialization.SerializationException e)
        {
            return e.Message.Length > 300 ? e.Message[..300] + "..." : e.Message;
        }
    }

    /// <summary>
    /// Drops what <see cref="Check"/> found (and, for a damaged SQLite file, salvages every readable row into a new
    /// file); returns what was dropped. SQLite: the file is copied aside first. PostgreSQL: dropped rows are kept in
    /// actorlab_dropped_events / actorlab_dropped_snapshots.
    /// </summary>
    public static (JournalReport Before, string? Backup, IReadOnlyList<JournalProblem> Dropped) Repair(JournalSettings j)
    {
        var before = Check(j);
        if (before.Healthy) return (before, null, []);
        string? backup = null;
        if (j.IsSqlite)
        {
            var file = new SqliteConnectionStringBuilder(j.ConnectionString).DataSource;
            backup = $"{file}.damaged-{DateTime.UtcNow:yyyyMMddHHmmss}";
            File.Copy(file, backup);
            if (before.Fatal != null)
            {
                var salvaged = Salvage(file, backup);
                return (before, backup, salvaged);
            }
        }
        else if (before.Fatal != null) throw new Model.Common.UserInputException(before.Fatal);
        Drop(j, before.Problems);
        return (before, backup, before.Problems);
    }

    static void Drop(JournalSettings j, IReadOnlyList<JournalProblem> problems)
    {
        using var c = Open(j);
        var tagged = TableExists(c, j, "tags");
        using var tx = c.BeginTransaction();
        var (events, snapshots) = Tables(j);
        foreach (var p in problems)
        {
            var table = p.Kind == "event" ? events : snapshots;
            if (!j.IsSqlite)
            {
                var keep = p.Kind == "event" ? "actorlab_dropped_events" : "actorlab_dropped_snapshots";
                Exec(c, tx, $"CREATE TABLE IF NOT EXISTS {keep} AS SELECT * FROM {table} WITH NO DATA");
                Exec(c, tx, $"INSERT INTO {keep} SELECT * FROM {table} WHERE persistence_id = @p AND sequence_nr = @s", p.SequenceNr);
            }
            Exec(c, tx, $"DELETE FROM {table} WHERE persistence_id = @p AND sequence_nr = @s", p.SequenceNr);
        }
        // a dropped event's tag row goes with it (the run's history no longer lists it)
        if (tagged)
            Exec(c, tx, $"DELETE FROM tags WHERE persistence_id = @p AND NOT EXISTS (SELECT 1 FROM {events} e WHERE e.ordering = tags.ordering_id)");
        tx.Commit();
    }

    /// <summary>Copies every row SQLite can still read from the damaged copy into a fresh journal file that replaces it.</summary>
    static IReadOnlyList<JournalProblem> Salvage(string file, string damaged)
    {
        var fresh = file + ".salvage";
        if (File.Exists(fresh)) File.Delete(fresh);
        var lost = new List<JournalProblem>();
        var readable = damaged + ".readable";
        File.Copy(damaged, readable, overwrite: true);
        FitHeaderToFile(readable);
        try
        {
            lost.AddRange(CopyRows(readable, fresh, file));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            File.Delete(readable);
        }
        File.Move(fresh, file, overwrite: true);
        // the salvaged file may still hold events that do not read or apply: drop those too
        var settings = new JournalSettings("sqlite", new SqliteConnectionStringBuilder { DataSource = file }.ConnectionString, true, $"SQLite {file}");
        var after = Check(settings);
        if (after.Fatal != null) throw new Model.Common.UserInputException(after.Fatal);
        Drop(settings, after.Problems);
        lost.AddRange(after.Problems);
        return lost;
    }

    /// <summary>
    /// A truncated file's header still claims its old page count, and SQLite then refuses every page ("malformed"):
    /// cut the file to whole pages and make the header say how many there are, so the pages that remain can be read.
    /// </summary>
    static void FitHeaderToFile(string path)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        var header = new byte[100];
        if (f.Read(header, 0, 100) < 100 || !System.Text.Encoding.ASCII.GetString(header, 0, 15).StartsWith("SQLite format 3", StringComparison.Ordinal))
            throw new Model.Common.UserInputException($"{path}: not an SQLite file any more (its header is gone); move it aside and submit the sweeps again (their run folders are reused).");
        int pageSize = (header[16] << 8) | header[17];
        if (pageSize == 1) pageSize = 65536;
        var pages = f.Length / pageSize;
        f.SetLength(pages * pageSize);
        f.Position = 28;
        f.Write([(byte)(pages >> 24), (byte)(pages >> 16), (byte)(pages >> 8), (byte)pages]);
    }

    static List<JournalProblem> CopyRows(string source, string fresh, string file)
    {
        var lost = new List<JournalProblem>();
        using (var src = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = source, Pooling = false }.ConnectionString))
        using (var dst = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = fresh, Pooling = false }.ConnectionString))
        {
            src.Open();
            dst.Open();
            // schema entries whose pages were cut off (an index) are skipped instead of failing the whole schema
            using (var w = src.CreateCommand()) { w.CommandText = "PRAGMA writable_schema = ON"; w.ExecuteNonQuery(); }
            // the schema as Akka.Persistence.Sql made it, then row by row: a damaged page loses its rows, not the file
            var schema = new List<string>();
            try
            {
                using var cmd = src.CreateCommand();
                cmd.CommandText = "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'";
                using var r = cmd.ExecuteReader();
                while (r.Read()) schema.Add(r.GetString(0));
            }
            catch (SqliteException e)
            {
                throw new Model.Common.UserInputException($"{file}: not even its schema can be read ({e.Message}); move it aside and submit the sweeps again (their run folders are reused).");
            }
            foreach (var sql in schema) { using var cmd = dst.CreateCommand(); cmd.CommandText = sql; cmd.ExecuteNonQuery(); }
            CopyAll(src, dst, "snapshot");
            // events row by row: a damaged page loses its rows, not the file
            var max = LastOrdering(src);
            for (long o = 1; o <= max; o++)
            {
                try
                {
                    using var read = src.CreateCommand();
                    read.CommandText = "SELECT ordering, timestamp, is_deleted, persistence_id, sequence_nr, payload, manifest, serializer_id FROM event_journal WHERE ordering = @o";
                    read.Parameters.AddWithValue("@o", o);
                    using var r = read.ExecuteReader();
                    if (!r.Read()) continue;
                    using var write = dst.CreateCommand();
                    write.CommandText = "INSERT INTO event_journal VALUES (@a, @b, @c, @d, @e, @f, @g, @h)";
                    foreach (var (name, i) in new[] { "@a", "@b", "@c", "@d", "@e", "@f", "@g", "@h" }.Select((n, i) => (n, i)))
                        write.Parameters.AddWithValue(name, r.IsDBNull(i) ? DBNull.Value : r.GetValue(i));
                    write.ExecuteNonQuery();
                }
                catch (SqliteException e)
                {
                    lost.Add(new JournalProblem("row", o, null, $"unreadable ({e.Message})"));
                }
            }
            // the tag rows are an index of the events: made again from the salvaged ones, never copied, since a copied
            // tag of a lost event would collide with the new event that reuses its ordering
            if (TableExists(dst, sqlite: true, "tags")) Retag(dst);
        }
        return lost;
    }

    /// <summary>
    /// The highest ordering any readable part of a damaged file still knows: max() can fail where a plain scan still
    /// reads every row, and sqlite_sequence lives on a page of its own.
    /// </summary>
    static long LastOrdering(SqliteConnection src)
    {
        long max = 0;
        foreach (var sql in new[] { "SELECT max(ordering) FROM event_journal", "SELECT seq FROM sqlite_sequence WHERE name = 'event_journal'" })
        {
            try { max = Math.Max(max, Convert.ToInt64(ScalarObj(src, sql) ?? 0L)); }
            catch (SqliteException) { /* that page is gone */ }
        }
        try
        {
            using var cmd = src.CreateCommand();
            cmd.CommandText = "SELECT ordering FROM event_journal";
            using var r = cmd.ExecuteReader();
            while (r.Read()) max = Math.Max(max, r.GetInt64(0));
        }
        catch (SqliteException) { /* the scan stops at the first damaged page: what it read counts */ }
        return max;
    }

    /// <summary>Writes the tag rows the coordinator would have written for every readable event in the file.</summary>
    static void Retag(SqliteConnection c)
    {
        using var tx = c.BeginTransaction();
        Exec(c, tx, "DELETE FROM tags");
        var json = ActorLabSerializer.Standalone;
        var tags = new List<(long Ordering, string Tag, long SequenceNr, string PersistenceId)>();
        using (var read = c.CreateCommand())
        {
            read.Transaction = tx;
            read.CommandText = "SELECT ordering, persistence_id, sequence_nr, manifest, payload, serializer_id FROM event_journal";
            using var r = read.ExecuteReader();
            while (r.Read())
            {
                var row = new Row(r.GetInt64(2), r.IsDBNull(3) ? null : r.GetString(3), r.IsDBNull(4) ? [] : (byte[])r.GetValue(4), r.IsDBNull(5) ? null : Convert.ToInt32(r.GetValue(5)));
                // an unreadable event gets no tag: the check after the salvage drops it
                if (Reason(row, json, out var payload) is null && payload is ISweepEvent e && SweepCoordinator.Describe(e).Id is { } id)
                    tags.Add((r.GetInt64(0), RunEventTags.Of(id), row.SequenceNr, r.GetString(1)));
            }
        }
        foreach (var t in tags)
        {
            using var write = c.CreateCommand();
            write.Transaction = tx;
            write.CommandText = "INSERT INTO tags (ordering_id, tag, sequence_nr, persistence_id) VALUES (@o, @t, @s, @p)";
            write.Parameters.AddWithValue("@o", t.Ordering);
            write.Parameters.AddWithValue("@t", t.Tag);
            write.Parameters.AddWithValue("@s", t.SequenceNr);
            write.Parameters.AddWithValue("@p", t.PersistenceId);
            write.ExecuteNonQuery();
        }
        tx.Commit();
    }

    static void CopyAll(SqliteConnection src, SqliteConnection dst, string table)
    {
        try
        {
            using var read = src.CreateCommand();
            read.CommandText = $"SELECT * FROM {table}";
            using var r = read.ExecuteReader();
            while (r.Read())
            {
                using var write = dst.CreateCommand();
                var names = Enumerable.Range(0, r.FieldCount).Select(i => $"@c{i}").ToList();
                write.CommandText = $"INSERT INTO {table} VALUES ({string.Join(", ", names)})";
                for (var i = 0; i < r.FieldCount; i++) write.Parameters.AddWithValue(names[i], r.IsDBNull(i) ? DBNull.Value : r.GetValue(i));
                write.ExecuteNonQuery();
            }
        }
        catch (SqliteException) { /* a damaged snapshot table: recovery replays the events instead */ }
    }

    static List<Row> Rows(DbConnection c, string sql, long after = 0)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        Param(cmd, "@p", SweepCoordinator.JournalId);
        if (sql.Contains("@after")) Param(cmd, "@after", after);
        using var r = cmd.ExecuteReader();
        var rows = new List<Row>();
        while (r.Read())
            rows.Add(new Row(r.GetInt64(0), r.IsDBNull(1) ? null : r.GetString(1), r.IsDBNull(2) ? [] : (byte[])r.GetValue(2), r.IsDBNull(3) ? null : Convert.ToInt32(r.GetValue(3))));
        return rows;
    }

    static void Exec(DbConnection c, DbTransaction tx, string sql, long? seq = null)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        if (sql.Contains("@p")) Param(cmd, "@p", SweepCoordinator.JournalId);
        if (seq is { } s) Param(cmd, "@s", s);
        cmd.ExecuteNonQuery();
    }

    static void Param(DbCommand cmd, string name, object value)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = name;
        p.Value = value;
        cmd.Parameters.Add(p);
    }

    static string? Scalar(DbConnection c, string sql) => ScalarObj(c, sql)?.ToString();

    static object? ScalarObj(DbConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        var v = cmd.ExecuteScalar();
        return v is DBNull ? null : v;
    }

    static bool TableExists(DbConnection c, JournalSettings j, string table) => TableExists(c, j.IsSqlite, table);

    static bool TableExists(DbConnection c, bool sqlite, string table) =>
        Convert.ToInt64(ScalarObj(c, sqlite
            ? $"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'"
            : $"SELECT count(*) FROM information_schema.tables WHERE table_name = '{table}'")) > 0;
}
