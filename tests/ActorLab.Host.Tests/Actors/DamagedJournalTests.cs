using System.Diagnostics;
using ActorLab.Actors.Control;
using ActorLab.Actors.Coordinator;
using ActorLab.Host.Tests.Infrastructure;
using ActorLab.Model.Common;
using Microsoft.Data.Sqlite;

namespace ActorLab.Host.Tests.Actors;

/// <summary>
/// A damaged journal (one event's payload corrupt, an unknown manifest, a truncated SQLite file) is refused at
/// start within seconds with an error naming it and what to run; `db check` lists the problems, `db repair` keeps
/// every readable event after a backup, and the node then starts and recovers the sweep.
/// </summary>
public class DamagedJournalTests
{
    const string Sweep = """
        sweep {
          name = dmg
          grid { layers = [1], param-budgets = [330000, 340000], relations = [2], n-profiles = [20], orders = [[1], [1, 2]] }
          vocab-size = 400
          batch-size = 4
          seq-len = 64
          max-steps = 20
          eval.steps = [10, 20]
          checkpoint.every = 5
        }
        """;

    static async Task<string> FinishedSweep(TempDir dir, TestJournal journal, string extra = "")
    {
        await using var n = InProcessNode.Start(dir.Path, journal, extra);
        Assert.True((await n.Ask<CommandReply>(new SubmitSweepFile("dmg.conf", Sweep))).Ok);
        await n.WaitFor(s => s.Sweeps.Any(x => x.State == "finished"), TimeSpan.FromSeconds(60));
        return Path.Combine(dir.Path, "journal.db");
    }

    static void Sql(string file, string sql)
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ConnectionString);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    static UserInputException RefusedAtStart(TempDir dir, TestJournal journal)
    {
        var sw = Stopwatch.StartNew();
        var e = Assert.Throws<UserInputException>(() => InProcessNode.Start(dir.Path, journal));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"refused only after {sw.Elapsed}");
        Assert.Contains("db repair", e.Message);
        return e;
    }

    [Fact]
    public async Task A_corrupt_event_and_an_unknown_manifest_are_refused_at_start_and_repaired_keeping_the_rest()
    {
        using var dir = new TempDir();
        var db = await FinishedSweep(dir, TestJournal.Of("sqlite"));
        Sql(db, "UPDATE event_journal SET payload = X'7B2262726F6B656E' WHERE sequence_nr = 7");
        Sql(db, "UPDATE event_journal SET manifest = 'alien-event@9' WHERE sequence_nr = 9");

        var refused = RefusedAtStart(dir, TestJournal.Of("sqlite"));
        Assert.Contains("event 7", refused.Message);
        Assert.Contains("and 1 more", refused.Message);

        var check = ActorLabCli.Run("db", "check", "--data-dir", dir.Path);
        Assert.Equal(1, check.Exit);
        Assert.Contains("event 7", check.Out);
        Assert.Contains("event 9 (alien-event@9): unknown ActorLab message manifest", check.Out);
        Assert.DoesNotContain("   at ", check.Out + check.Err);

        var repair = ActorLabCli.Run("db", "repair", "--data-dir", dir.Path);
        Assert.True(repair.Exit == 0, repair.Out + repair.Err);
        Assert.Contains("dropped 2", repair.Out);
        Assert.Single(Directory.GetFiles(dir.Path, "journal.db.damaged-*"));
        Assert.Equal(0, ActorLabCli.Run("db", "check", "--data-dir", dir.Path).Exit);

        // the node starts and recovers the sweep from what was kept
        await using var n = InProcessNode.Start(dir.Path, TestJournal.Of("sqlite"));
        var status = await n.WaitFor(s => s.Sweeps.Length == 1, TimeSpan.FromSeconds(30));
        Assert.Equal("dmg", status.Sweeps[0].Name);
    }

    /// <summary>
    /// At start a node checks what recovery reads (the newest snapshot and the events after it), bounded like the
    /// recovery: an event damaged before that snapshot does not stop it, and `db check` still reports it.
    /// </summary>
    [Fact]
    public async Task The_start_check_reads_what_recovery_reads_and_db_check_reads_everything()
    {
        using var dir = new TempDir();
        var db = await FinishedSweep(dir, TestJournal.Of("sqlite"), "actorlab.coordinator.snapshot-every = 3");
        Sql(db, "UPDATE event_journal SET payload = X'7B2262726F6B656E' WHERE sequence_nr = 2");
        await using (var n = InProcessNode.Start(dir.Path, TestJournal.Of("sqlite"), "actorlab.coordinator.snapshot-every = 3"))
            Assert.Equal("dmg", (await n.WaitFor(s => s.Sweeps.Length == 1, TimeSpan.FromSeconds(30))).Sweeps[0].Name);
        var check = ActorLabCli.Run("db", "check", "--data-dir", dir.Path);
        Assert.Equal(1, check.Exit);
        Assert.Contains("event 2", check.Out);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.7)]
    [InlineData(0.9)]
    public async Task A_truncated_journal_file_is_refused_and_its_readable_rows_salvaged(double keep)
    {
        using var dir = new TempDir();
        var db = await FinishedSweep(dir, TestJournal.Of("sqlite"));
        SqliteConnection.ClearAllPools();
        var events = Count(db, "SELECT count(*) FROM event_journal");
        var length = new FileInfo(db).Length;
        using (var f = new FileStream(db, FileMode.Open)) f.SetLength((long)(length * keep));

        var refused = RefusedAtStart(dir, TestJournal.Of("sqlite"));
        Assert.Contains("journal.db", refused.Message);

        var repair = ActorLabCli.Run("db", "repair", "--data-dir", dir.Path);
        Assert.True(repair.Exit == 0, repair.Out + repair.Err);
        Assert.Contains("backup:", repair.Out);
        Assert.Equal(0, ActorLabCli.Run("db", "check", "--data-dir", dir.Path).Exit);
        var salvaged = Count(db, "SELECT count(*) FROM event_journal");
        Assert.InRange(salvaged, 0, events);
        if (keep >= 0.9) Assert.True(salvaged > 0, "nothing salvaged from a file cut to 90 %");
        // the tag index is made again from the salvaged events: none left over from a lost one, none missing
        Assert.Equal(0, Count(db, "SELECT count(*) FROM tags WHERE ordering_id NOT IN (SELECT ordering FROM event_journal)"));
        Assert.Equal(Count(db, "SELECT count(*) FROM event_journal WHERE manifest LIKE 'run-%' OR manifest LIKE 'checkpoint-%'"),
            Count(db, "SELECT count(DISTINCT ordering_id) FROM tags WHERE tag LIKE 'run:dmg/%'"));

        // the coordinator recovers and writes again: the next event's ordering must not collide with a lost one's tag
        await using var n = InProcessNode.Start(dir.Path, TestJournal.Of("sqlite"));
        var reply = await n.Ask<CommandReply>(new SubmitSweepFile("dmg2.conf", Sweep.Replace("name = dmg", "name = dmg2")));
        Assert.True(reply.Ok, reply.Message);
        await n.WaitFor(s => s.Sweeps.Any(x => x.Name == "dmg2"), TimeSpan.FromSeconds(30));
    }

    /// <summary>
    /// A write the journal refuses (here a trigger raising SQLite's disk-full message) answers the command at once with
    /// the journal's reason, instead of the asker waiting out its timeout while the coordinator restarts; once the
    /// journal takes writes again, the restarted coordinator accepts the same command.
    /// </summary>
    [Fact]
    public async Task A_write_the_journal_refuses_answers_the_command_at_once_and_the_coordinator_comes_back()
    {
        using var dir = new TempDir();
        var db = await FinishedSweep(dir, TestJournal.Of("sqlite"));
        await using var n = InProcessNode.Start(dir.Path, TestJournal.Of("sqlite"));
        await n.Ask<StatusReply>(new GetStatus());
        Sql(db, "CREATE TRIGGER refuse_writes BEFORE INSERT ON event_journal BEGIN SELECT RAISE(ABORT, 'database or disk is full (test)'); END");

        var next = new SubmitSweepFile("dmg2.conf", Sweep.Replace("name = dmg", "name = dmg2"));
        var sw = Stopwatch.StartNew();
        var refused = await n.Ask<CommandReply>(next);
        Assert.False(refused.Ok);
        Assert.Contains("database or disk is full (test)", refused.Message);
        Assert.Contains("nothing of this command was recorded", refused.Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"answered only after {sw.Elapsed}");

        Sql(db, "DROP TRIGGER refuse_writes");
        var accepted = await n.Ask<CommandReply>(next, TimeSpan.FromSeconds(60));
        Assert.True(accepted.Ok, accepted.Message);
        var status = await n.WaitFor(s => s.Sweeps.Any(x => x.Name == "dmg2"), TimeSpan.FromSeconds(30));
        Assert.Contains(status.Sweeps, x => x.Name == "dmg" && x.State == "finished");
    }

    static long Count(string file, string sql)
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ConnectionString);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(cmd.ExecuteScalar());
    }

    [SkippableFact]
    public async Task A_corrupt_event_on_postgresql_is_refused_and_repaired_with_the_dropped_row_kept_aside()
    {
        using var dir = new TempDir();
        var journal = TestJournal.Of("postgresql");
        await FinishedSweep(dir, journal);
        Postgres.Query(journal.Connection!, "UPDATE event_journal SET payload = '\\x7b2262'::bytea WHERE sequence_nr = 5 RETURNING 1");

        var refused = RefusedAtStart(dir, journal);
        Assert.Contains("event 5", refused.Message);

        var env = new Dictionary<string, string> { ["ACTORLAB_JOURNAL_CONNECTION"] = journal.Connection! };
        var check = ActorLabCli.RunWith(env, "db", "check", "--data-dir", dir.Path, "--config", ClusterConf);
        Assert.Equal(1, check.Exit);
        Assert.Contains("event 5", check.Out);
        var repair = ActorLabCli.RunWith(env, "db", "repair", "--data-dir", dir.Path, "--config", ClusterConf);
        Assert.True(repair.Exit == 0, repair.Out + repair.Err);
        Assert.Single(Postgres.Query(journal.Connection!, "SELECT sequence_nr FROM actorlab_dropped_events"));
        await using var n = InProcessNode.Start(dir.Path, journal);
        await n.WaitFor(s => s.Sweeps.Length == 1, TimeSpan.FromSeconds(30));
    }

    static string ClusterConf => Path.Combine(AppContext.BaseDirectory, "hocon", "cluster.conf");
}
