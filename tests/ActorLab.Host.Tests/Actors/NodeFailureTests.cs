using System.Diagnostics;
using Akka.Actor;
using ActorLab.Actors.Control;
using ActorLab.Actors.Coordinator;
using ActorLab.Host.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace ActorLab.Host.Tests.Actors;

/// <summary>
/// What goes wrong around nodes: seeds that do not answer, a wrong journal, a journal that goes away mid-sweep, two
/// nodes on one address, SQLite where several coordinators could write, two clusters on one journal. Each gets one
/// clear message (and a non-zero exit where the command ends), never a hang.
/// </summary>
public class NodeFailureTests(ITestOutputHelper output)
{
    static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);

    static string Config(string dir, string text)
    {
        var file = Path.Combine(dir, "node.conf");
        File.WriteAllText(file, text);
        return file;
    }

    [Fact]
    public void A_node_pointed_at_seeds_that_do_not_answer_says_so_and_exits()
    {
        using var dir = new TempDir();
        var seed = $"127.0.0.1:{ConsoleNodeTests.FreePort()}";
        var sw = Stopwatch.StartNew();
        var (code, text) = ActorLabProcess.Run(Limit, "node", "--data-dir", dir.Path, "--roles", "trainer", "--port", "0", "--seed", seed,
            "--config", Config(dir.Path, "actorlab.node.join-timeout = 5s"));
        Assert.Equal(3, code);
        Assert.Contains($"cannot join the cluster: no seed answered at {seed} within 5s", text);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60));
    }

    [Fact]
    public void A_coordinator_role_node_that_joins_others_refuses_the_sqlite_journal()
    {
        using var dir = new TempDir();
        var (code, text) = ActorLabProcess.Run(Limit, "node", "--data-dir", dir.Path, "--port", "0", "--seed", "127.0.0.1:4999");
        Assert.Equal(2, code);
        Assert.Contains("cannot use the SQLite journal", text);
        Assert.Contains("hocon/cluster.conf", text);
        Assert.DoesNotContain("   at ", text);
    }

    [Fact]
    public void Two_nodes_claiming_the_same_address_the_second_is_refused()
    {
        using var dir = new TempDir();
        var port = ConsoleNodeTests.FreePort();
        using var first = new ActorLabProcess("node", "--data-dir", Path.Combine(dir.Path, "a"), "--port", port.ToString());
        first.WaitForLine(l => l.StartsWith("control it with", StringComparison.Ordinal), Limit);
        var (code, text) = ActorLabProcess.Run(Limit, "node", "--data-dir", Path.Combine(dir.Path, "b"), "--port", port.ToString());
        Assert.Equal(2, code);
        Assert.Contains($"cannot listen on 127.0.0.1:{port}", text);
        Assert.Contains("is another node using that address?", text);
        Assert.False(first.Exited);
    }

    [SkippableFact]
    public void A_wrong_journal_connection_string_or_a_journal_without_tables_is_one_clear_error()
    {
        using var dir = new TempDir();
        var cs = Path.Combine(dir.Path, "cs");
        File.WriteAllText(cs, $"Host=127.0.0.1;Port={ConsoleNodeTests.FreePort()};Username=u;Database=d;Timeout=3");
        var conf = Config(dir.Path, $"actorlab.journal {{ provider = postgresql, connection-string-file = \"{cs}\" }}");
        var (code, text) = ActorLabProcess.Run(Limit, "node", "--data-dir", dir.Path, "--port", "0", "--config", conf);
        Assert.Equal(2, code);
        Assert.Contains("cannot use the coordinator journal (PostgreSQL 127.0.0.1:", text);
        Assert.DoesNotContain("   at ", text);

        File.WriteAllText(cs, Postgres.NewDatabase());
        (code, text) = ActorLabProcess.Run(Limit, "node", "--data-dir", dir.Path, "--port", "0", "--config", conf);
        Assert.Equal(2, code);
        Assert.Contains("`actorlab db init` creates its tables", text);
        (code, text) = ActorLabProcess.Run(Limit, "db", "init", "--data-dir", dir.Path, "--config", conf);
        Assert.True(code == 0, text);
        Assert.Contains("journal ready: PostgreSQL", text);
    }

    const string Fast = """
        sweep {
          name = fast
          grid { layers = [1], param-budgets = [330000, 340000], relations = [2], n-profiles = [20], orders = [[1], [1, 2]] }
          vocab-size = 300
          batch-size = 4
          seq-len = 64
          max-steps = 300
          eval.steps = [100, 200, 300]
          checkpoint.every = 10
        }
        """;

    /// <summary>
    /// PostgreSQL stops mid-sweep and comes back: the coordinator cannot persist, stops, is started again with
    /// backoff and recovers; trainers go on and their reports wait in the node's outbox. Nothing acknowledged is
    /// lost: the sweep completes, every run once, every checkpoint recorded before the outage still there.
    /// </summary>
    [SkippableFact]
    public async Task A_journal_that_goes_away_mid_sweep_is_ridden_out_and_nothing_acknowledged_is_lost()
    {
        Postgres.Require();
        using var dir = new TempDir();
        using var pg = PostgresServer.Start(Path.Combine(dir.Path, "pg"));
        var journal = new TestJournal("postgresql", pg.Connection);
        await using var n = InProcessNode.Start(Path.Combine(dir.Path, "data"), journal, "actorlab.testing.stand-in-sweeps = [fast]",
            stepTime: TimeSpan.FromMilliseconds(20));
        Assert.True((await n.Ask<CommandReply>(new SubmitSweepFile("f.conf", Fast))).Ok);
        await n.WaitForRuns(r => r.Runs.Count(x => x.CheckpointStep >= 30) >= 2);
        var before = (await n.Runs()).Runs.ToDictionary(r => r.RunId, r => r.CheckpointStep);

        pg.Stop();
        var down = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(6));
        // the node is up, the coordinator is not: the gateway says so instead of hanging
        var reply = await n.Node.Gateway.Ask<object>(new GetStatus(), TimeSpan.FromSeconds(20));
        Assert.IsType<NoCoordinator>(reply);
        pg.Start();
        var status = await n.WaitFor(s => s.Sweeps.Any(x => x.State == "finished"), TimeSpan.FromMinutes(2));
        output.WriteLine($"sweep finished {down.Elapsed.TotalSeconds:F1} s after the journal went away for 6 s");
        Assert.Equal(4, status.Sweeps.Single().Completed);
        var after = (await n.Runs()).Runs;
        Assert.All(after, r => Assert.True(r.CheckpointStep >= before[r.RunId], $"{r.RunId} lost its checkpoint {before[r.RunId]}"));
        var completions = Postgres.Query(pg.Connection, "SELECT convert_from(payload, 'UTF8') FROM event_journal WHERE manifest = 'run-completed@2'");
        Assert.Equal(4, completions.Count);
        foreach (var runDir in Directory.GetDirectories(Path.Combine(dir.Path, "data", "runs", "fast")))
            ClusterTests.CheckNoStepTrainedTwice(new ActorLab.Model.Storage.RunFolder(runDir, null));
    }

    /// <summary>
    /// Two clusters by mistake on one PostgreSQL journal (two one-node clusters, both coordinator-role): both recover
    /// the journal and try to write; the journal's unique key (persistence id, sequence number) refuses the second
    /// writer's conflicting events, which then recovers what the first wrote. No sequence number is written twice and
    /// a fresh recovery of the journal is consistent: every run completed once.
    /// </summary>
    [SkippableFact]
    public async Task Two_coordinators_on_one_journal_never_both_write_the_same_events()
    {
        using var dir = new TempDir();
        var journal = TestJournal.Of("postgresql");
        // the same shared storage, as on a real deployment: whichever coordinator wins, a run's checkpoint is where its next lease looks
        var shared = $"actorlab.testing.stand-in-sweeps = [fast]\nactorlab.storage.root = \"{Path.Combine(dir.Path, "storage")}\"";
        await using var a = InProcessNode.Start(Path.Combine(dir.Path, "a"), journal, shared, stepTime: TimeSpan.FromMilliseconds(10));
        Assert.True((await a.Ask<CommandReply>(new SubmitSweepFile("f.conf", Fast))).Ok);
        await a.WaitForRuns(r => r.Runs.Any(x => x.CheckpointStep > 0));
        await using var b = InProcessNode.Start(Path.Combine(dir.Path, "b"), journal, shared, stepTime: TimeSpan.FromMilliseconds(10));
        await a.WaitFor(s => s.Sweeps.Single().State == "finished", TimeSpan.FromMinutes(2));
        await b.DisposeAsync();
        await a.DisposeAsync();

        var seqs = Postgres.Query(journal.Connection!, "SELECT sequence_nr FROM event_journal WHERE persistence_id = 'actorlab-coordinator'").Select(x => (long)x!).ToList();
        Assert.Equal(seqs.Count, seqs.Distinct().Count());
        Assert.Equal(seqs.Max(), seqs.Count); // 1..n, no gap, nothing twice

        await using var fresh = InProcessNode.Start(Path.Combine(dir.Path, "fresh"), journal, shared);
        var status = await fresh.WaitFor(s => s.Sweeps.Length == 1, TimeSpan.FromSeconds(30));
        Assert.Equal(4, status.Sweeps.Single().Completed);
        var completions = Postgres.Query(journal.Connection!, "SELECT convert_from(payload, 'UTF8') FROM event_journal WHERE manifest = 'run-completed@2'")
            .Select(p => System.Text.Json.JsonDocument.Parse((string)p!).RootElement.GetProperty("runId").GetString()).ToList();
        Assert.Equal(completions.Count, completions.Distinct().Count());
    }
}
