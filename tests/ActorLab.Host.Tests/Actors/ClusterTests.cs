using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using ActorLab.Host.Tests.Infrastructure;
using ActorLab.Model.Storage;
using Xunit.Abstractions;

namespace ActorLab.Host.Tests.Actors;

/// <summary>
/// Real `actorlab node` processes on 127.0.0.1-3 with one PostgreSQL journal and a shared storage folder: the
/// console reaches the cluster through ClusterClient whichever node hosts the coordinator, and a sweep survives
/// kill -9 of the coordinator's node and then of a trainer node, every run completed exactly once.
/// </summary>
public class ClusterTests(ITestOutputHelper output)
{
    const string Fast = """
        sweep {
          name = fast
          grid { layers = [1], param-budgets = [330000, 340000, 350000], relations = [2], n-profiles = [20], orders = [[1], [1, 2]], seeds = [0, 1] }
          vocab-size = 300
          batch-size = 4
          seq-len = 64
          max-steps = 400
          eval.steps = [100, 200, 300, 400]
          checkpoint.every = 20
        }
        """;

    const string Real = """
        sweep {
          name = real
          grid { layers = [1], param-budgets = [340000], relations = [2], n-profiles = [40], orders = [[1, 2]] }
          vocab-size = 400
          batch-size = 4
          seq-len = 128
          max-steps = 60
          convergence.enabled = false
          eval { steps = [30, 60], questions = 20 }
          checkpoint.every = 10
        }
        """;

    /// <summary>Submitted after the coordinator's node rejoined, so the trainer node surely holds a lease when it is killed.</summary>
    const string Late = """
        sweep {
          name = late
          grid { layers = [1], param-budgets = [330000], relations = [2], n-profiles = [20], orders = [[1]], seeds = [0, 1, 2, 3, 4, 5] }
          vocab-size = 300
          batch-size = 4
          seq-len = 64
          max-steps = 1500
          eval.steps = [1500]
          checkpoint.every = 50
        }
        """;

    static readonly TimeSpan Long = TimeSpan.FromMinutes(4);

    static ClusterHarness ThreeNodes(string connection, string? netns = null, string? userOfC = null)
    {
        var h = new ClusterHarness(connection, ["fast", "late"], TimeSpan.FromMilliseconds(20), netns);
        h.Define(new("a", "127.0.0.1", ClusterHarness.FreePort(), "coordinator,trainer"));
        h.Define(new("b", "127.0.0.2", ClusterHarness.FreePort(), "coordinator,trainer"));
        h.Define(new("c", "127.0.0.3", ClusterHarness.FreePort(), "trainer", User: userOfC));
        h.UseSeeds("a", "b");
        return h;
    }

    static string CoordinatorAt(JsonElement status) => status.GetProperty("coordinator_address").GetString()!;

    [SkippableFact]
    public void A_sweep_survives_kill9_of_the_coordinators_node_and_of_a_trainer_node()
    {
        var connection = Postgres.NewDatabase();
        using var h = ThreeNodes(connection);
        var init = h.InitJournal();
        Assert.True(init.Exit == 0, init.Err);
        Assert.Contains("journal ready: PostgreSQL", init.Out);
        foreach (var n in new[] { "a", "b", "c" }) h.Start(n);
        var status = h.WaitFor(s => s.GetProperty("nodes").EnumerateArray().Count(n => n.GetProperty("slots").GetInt32() == 1) == 3, Long, "status");
        Assert.Contains(h.Node("a").Contact, CoordinatorAt(status));
        Assert.Equal(3, status.GetProperty("members").GetArrayLength());

        var fast = Path.Combine(h.Root, "fast.conf");
        File.WriteAllText(fast, Fast);
        var real = Path.Combine(h.Root, "real.conf");
        File.WriteAllText(real, Real);
        Assert.Equal(0, h.Console("submit", real).Exit);
        Assert.Equal(0, h.Console("submit", fast).Exit);

        // 1. kill -9 the node that hosts the coordinator, mid-sweep; the console answers again within 15 s
        h.WaitFor(r => ClusterHarness.Runs(r).Count(x => x.GetProperty("state").GetString() == "completed") >= 2, Long, "runs");
        h.Kill9("a");
        var killed = Stopwatch.StartNew();
        status = h.WaitFor(s => !CoordinatorAt(s).Contains(h.Node("a").Contact), Long, "status");
        var answered = killed.Elapsed;
        output.WriteLine($"console answered {answered.TotalSeconds:F1} s after kill -9 of the coordinator's node; coordinator now at {CoordinatorAt(status)}");
        Assert.Contains(h.Node("b").Contact, CoordinatorAt(status));
        Assert.True(answered < TimeSpan.FromSeconds(15), $"the console answered only after {answered.TotalSeconds:F1} s");

        // like its supervisor would, start the killed node again: it rejoins as a new incarnation
        h.Start("a");
        h.WaitFor(s => s.GetProperty("nodes").EnumerateArray().Count(n => n.GetProperty("state").GetString() == "up" && n.GetProperty("slots").GetInt32() == 1) == 3,
            Long, "status");

        // 2. kill -9 a trainer node while it holds a lease: the run moves to another node under a new epoch
        var late = Path.Combine(h.Root, "late.conf");
        File.WriteAllText(late, Late);
        Assert.Equal(0, h.Console("submit", late).Exit);
        var onC = h.WaitFor(r => ClusterHarness.Runs(r).Any(x => x.GetProperty("state").GetString() == "running" && (x.GetProperty("node").GetString() ?? "").StartsWith(h.Node("c").Contact)), Long, "runs");
        var lost = ClusterHarness.Runs(onC).First(x => x.GetProperty("state").GetString() == "running" && (x.GetProperty("node").GetString() ?? "").StartsWith(h.Node("c").Contact));
        var lostId = lost.GetProperty("run_id").GetString()!;
        var lostEpoch = lost.GetProperty("epoch").GetInt64();
        h.Kill9("c");
        var cKilled = Stopwatch.StartNew();
        h.WaitFor(r => ClusterHarness.Runs(r).Any(x => x.GetProperty("run_id").GetString() == lostId &&
                                                       (x.GetProperty("state").GetString() == "completed" || x.GetProperty("epoch").ValueKind == JsonValueKind.Number && x.GetProperty("epoch").GetInt64() > lostEpoch)),
            Long, "runs");
        output.WriteLine($"run {lostId} leased again {cKilled.Elapsed.TotalSeconds:F1} s after kill -9 of its node");

        // 3. the sweeps complete: every run completed exactly once, nothing trained twice past a recorded checkpoint
        status = h.WaitFor(s => s.GetProperty("sweeps").EnumerateArray().All(x => x.GetProperty("state").GetString() == "finished"), Long, "status");
        var runs = ClusterHarness.Runs(h.WaitFor(_ => true, Long, "runs", "--limit", "1000")).ToList();
        Assert.Equal(19, runs.Count);
        Assert.All(runs, r => Assert.Equal("completed", r.GetProperty("state").GetString()));
        var completions = Postgres.Query(connection, "SELECT convert_from(payload, 'UTF8') FROM event_journal WHERE manifest = 'run-completed@2'")
            .Select(p => JsonDocument.Parse((string)p!).RootElement.GetProperty("runId").GetString()).ToList();
        Assert.Equal(19, completions.Count);
        Assert.Equal(19, completions.Distinct().Count());
        foreach (var run in runs)
        {
            var folder = new RunFolder(Path.Combine(h.Storage, "runs", run.GetProperty("run_id").GetString()!), null);
            CheckNoStepTrainedTwice(folder);
        }
        // the final capacity tables are complete
        var realTable = Directory.GetFiles(Path.Combine(h.Storage, "sweeps", "real"), "capacity_final_*.csv");
        Assert.NotEmpty(realTable);
        // the real run's final capacity: one row per hop level it has (1, 2 and 2.1)
        Assert.Equal(3, File.ReadAllLines(realTable[0]).Skip(1).Count(l => l.Contains("mup_n40_") || l.StartsWith("42080,40,")));
        Assert.Equal(12, File.ReadAllLines(Path.Combine(h.Storage, "sweeps", "fast", "capacity_final_standin.csv")).Length - 1);
        Assert.Equal(6, File.ReadAllLines(Path.Combine(h.Storage, "sweeps", "late", "capacity_final_standin.csv")).Length - 1);

        // the coordinators wrote one after the other: the old one's last event before the new one's first, no write refused
        var a = CoordinatorEventTimes(h.Log("a"), h.Node("a").Contact);
        var b = CoordinatorEventTimes(h.Log("b"), h.Node("b").Contact);
        Assert.NotEmpty(a);
        Assert.NotEmpty(b);
        Assert.True(a.Max() < b.Min(), $"coordinator on a wrote until {a.Max():O}, on b from {b.Min():O}");
        foreach (var n in new[] { "a", "b", "c" }) Assert.DoesNotContain("event=persist-failed", File.ReadAllText(h.Log(n)));
    }

    /// <summary>
    /// A partition, inside a network namespace of its own (private loopback; nftables drops everything the trainer
    /// on 127.0.0.3, running as user nobody, sends and everything sent to it): the cut-off node's run is requeued under a new epoch elsewhere, the node
    /// downs itself and exits, nothing its old epoch wrote is used, and after healing it is started again and rejoins.
    /// </summary>
    [SkippableFact]
    public void A_partitioned_trainer_loses_its_lease_and_rejoins_after_healing()
    {
        using var ns = NetworkNamespace.Create();
        var connection = ns.StartPostgres();
        using var h = ThreeNodes(connection, ns.Name, userOfC: "nobody");
        Assert.Equal(0, h.InitJournal().Exit);
        foreach (var n in new[] { "a", "b", "c" }) h.Start(n);
        h.WaitFor(s => s.GetProperty("nodes").EnumerateArray().Count(n => n.GetProperty("slots").GetInt32() == 1) == 3, Long, "status");
        var file = Path.Combine(h.Root, "long.conf");
        File.WriteAllText(file, """
            sweep {
              name = fast
              grid { layers = [1], param-budgets = [330000], relations = [2, 3], n-profiles = [20], orders = [[1], [1, 2]] }
              vocab-size = 300
              batch-size = 4
              seq-len = 64
              max-steps = 1500
              eval.steps = [1500]
              checkpoint.every = 20
            }
            """);
        Assert.Equal(0, h.Console("submit", file).Exit);
        var c = h.Node("c").Contact;
        bool OnC(JsonElement x) => x.GetProperty("state").GetString() == "running" && (x.GetProperty("node").GetString() ?? "").StartsWith(c)
                                   && x.GetProperty("checkpoint_step").GetInt64() > 0;
        var before = ClusterHarness.Runs(h.WaitFor(r => ClusterHarness.Runs(r).Any(OnC), Long, "runs")).First(OnC);
        var runId = before.GetProperty("run_id").GetString()!;
        var epoch = before.GetProperty("epoch").GetInt64();

        ns.Cut(uid: 65534, port: h.Node("c").Port);
        var cut = Stopwatch.StartNew();
        var moved = ClusterHarness.Runs(h.WaitFor(r => ClusterHarness.Runs(r).Any(x => x.GetProperty("run_id").GetString() == runId &&
            x.GetProperty("epoch").ValueKind == JsonValueKind.Number && x.GetProperty("epoch").GetInt64() > epoch), Long, "runs"))
            .Single(x => x.GetProperty("run_id").GetString() == runId);
        output.WriteLine($"run {runId} moved from epoch {epoch} on c to epoch {moved.GetProperty("epoch").GetInt64()} on {moved.GetProperty("node").GetString()} {cut.Elapsed.TotalSeconds:F1} s after the cut");
        Assert.False(moved.GetProperty("node").GetString()!.StartsWith(c));
        // the cut-off side is the minority: it downs itself and its process exits
        var exitBy = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (!h.Process("c").Exited && DateTime.UtcNow < exitBy) Thread.Sleep(200);
        Assert.True(h.Process("c").Exited, "the partitioned node did not exit");
        output.WriteLine($"c exited {cut.Elapsed.TotalSeconds:F1} s after the cut");

        ns.Heal();
        h.Start("c");
        h.WaitFor(s => s.GetProperty("members").EnumerateArray().Count(m => m.GetProperty("state").GetString() == "up") == 3
                       && s.GetProperty("nodes").EnumerateArray().Count(n => n.GetProperty("state").GetString() == "up" && n.GetProperty("slots").GetInt32() == 1) == 3,
            Long, "status");
        h.WaitFor(s => s.GetProperty("sweeps")[0].GetProperty("state").GetString() == "finished", Long, "status");

        // the old epoch's reports stopped counting at the cut: its last recorded checkpoint is where the new epoch started,
        // and the run's results are the completing epoch's
        var events = Postgres.QueryOn(connection, ns, "SELECT manifest || ' ' || convert_from(payload, 'UTF8') FROM event_journal ORDER BY ordering")
            .Select(e => (string)e!).Where(e => e.Contains($"\"runId\":\"{runId}\"")).ToList();
        long Step(string e) => JsonDocument.Parse(e[(e.IndexOf(' ') + 1)..]).RootElement.GetProperty("step").GetInt64();
        long Epoch(string e) => JsonDocument.Parse(e[(e.IndexOf(' ') + 1)..]).RootElement.GetProperty("epoch").GetInt64();
        var oldCheckpoints = events.Where(e => e.StartsWith("checkpoint-recorded@2") && Epoch(e) == epoch).Select(Step).ToList();
        var restarted = events.First(e => e.StartsWith("run-started@2") && Epoch(e) > epoch);
        Assert.Equal(oldCheckpoints.Max(), Step(restarted));
        var completed = events.Single(e => e.StartsWith("run-completed@2"));
        Assert.NotEqual(epoch, Epoch(completed));
        var folder = new RunFolder(Path.Combine(h.Storage, "runs", runId), Epoch(completed));
        Assert.Equal(File.ReadAllText(folder.EvalResults), File.ReadAllText(folder.PublishedEvalResults));
        CheckNoStepTrainedTwice(folder);
    }

    /// <summary>Each lease starts at a checkpoint an earlier lease wrote and trains every step after it once.</summary>
    internal static void CheckNoStepTrainedTwice(RunFolder folder)
    {
        var written = new HashSet<long> { 0 };
        foreach (var (epoch, file) in folder.ProgressFiles())
        {
            var rows = File.ReadAllLines(file).Skip(1).Select(l => l.Split(','))
                .Select(p => (Kind: p[1], Step: long.Parse(p[2], CultureInfo.InvariantCulture))).ToList();
            var start = rows.First(r => r.Kind == "start").Step;
            Assert.True(written.Contains(start), $"{folder.Dir} epoch {epoch} started at {start}, not at a checkpoint written before");
            var steps = rows.Where(r => r.Kind == "step").Select(r => r.Step).ToList();
            if (steps.Count > 0) Assert.Equal(start + 1, steps.Min());
            Assert.Equal(steps.Count, steps.Distinct().Count());
            foreach (var c in rows.Where(r => r.Kind == "checkpoint")) written.Add(c.Step);
        }
    }

    /// <summary>When the coordinator on this node logged the events it persisted.</summary>
    static List<DateTimeOffset> CoordinatorEventTimes(string log, string contact) =>
        File.ReadLines(log)
            .Where(l => l.Contains($"@{contact}/user/coordinator-singleton/coordinator/coordinator]") && Regex.IsMatch(l, @" event=(run|job|sweep|dataset|checkpoint)-"))
            .Select(l => DateTimeOffset.Parse(l[..l.IndexOf(' ')], CultureInfo.InvariantCulture)).ToList();
}
