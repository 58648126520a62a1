using System.Diagnostics;
using System.Text.Json;
using ActorLab.Actors.Control;
using ActorLab.Actors.Training;
using ActorLab.Host.Tests.Infrastructure;
using ActorLab.Model.Qa;
using ActorLab.Model.Storage;
using ActorLab.Model.Training;
using TorchSharp;
using Xunit.Abstractions;

namespace ActorLab.Host.Tests.Actors;

/// <summary>
/// Data parallel across real `actorlab node` processes (one slot each, so no node can hold a data-parallel = 2 run):
/// the ranks reduce through the nodes' data planes. The real model ends bit for bit as the same two ranks in one
/// process do (which <see cref="DataParallelTests"/> shows equal one rank at twice the batch); kill -9 of a rank's
/// node aborts the other rank at once, and the run resumes on other nodes from its last checkpoint.
/// </summary>
public class CrossNodeDataParallelTests(ITestOutputHelper output)
{
    const int Steps = 8;
    static readonly TimeSpan Long = TimeSpan.FromMinutes(4);

    static string RealSweep(string name, bool crossNode) => $$"""
        sweep {
          name = {{name}}
          grid { layers = [1], param-budgets = [340000], relations = [2], n-profiles = [30], orders = [[1]] }
          vocab-size = 300
          batch-size = 4
          seq-len = 64
          max-steps = {{Steps}}
          optimizer.warmup-steps = 2
          convergence.enabled = false
          eval { steps = [{{Steps}}], questions = 10 }
          checkpoint.every = {{Steps}}
          data-parallel = 2
          allow-cross-node = {{(crossNode ? "on" : "off")}}
        }
        """;

    const string Long2 = """
        sweep {
          name = ring
          grid { layers = [1], param-budgets = [330000], relations = [2], n-profiles = [20], orders = [[1]] }
          vocab-size = 300
          batch-size = 4
          seq-len = 64
          max-steps = 600
          eval.steps = [600]
          checkpoint.every = 20
          data-parallel = 2
          allow-cross-node = on
        }
        """;

    static string FinalCheckpoint(string storage, string sweep)
    {
        var runDir = Directory.GetDirectories(Path.Combine(storage, "runs", sweep)).Single();
        return Checkpoints.ListWithEpochs(runDir).Single(c => c.Step == (long)Steps).Dir;
    }

    /// <summary>The run-leased events of the journal: (run, epoch, nodes of the lease).</summary>
    static List<(string RunId, long Epoch, int Nodes)> Leases(string connection) =>
        Postgres.Query(connection, "SELECT convert_from(payload, 'UTF8') FROM event_journal WHERE manifest = 'run-leased@2' ORDER BY ordering")
            .Select(p => JsonDocument.Parse((string)p!).RootElement)
            .Select(e => (e.GetProperty("runId").GetString()!, e.GetProperty("epoch").GetInt64(),
                1 + (e.TryGetProperty("others", out var o) && o.ValueKind == JsonValueKind.Array
                    ? o.EnumerateArray().Select(x => x.GetProperty("nodeId").GetString()).Distinct().Count() : 0)))
            .ToList();

    [SkippableFact]
    public async Task Two_ranks_on_two_node_processes_end_bit_for_bit_as_two_ranks_in_one_node()
    {
        // the same run, its two ranks in one process (two slots) ...
        torch.set_num_threads(1);
        using var one = new TempDir();
        var config = ActorLab.Actors.Config.ActorLabConfig.Build(one.Path);
        var storage = ActorLab.Actors.Config.StorageSettings.From(config).Storage;
        await using (var n = InProcessNode.Start(one.Path, TestJournal.Of("sqlite"), backend: new PipelineBackend(storage, 1)))
        {
            Assert.True((await n.Ask<CommandReply>(new SubmitSweepFile("within", RealSweep("within", crossNode: false)))).Ok);
            var s = await n.WaitFor(x => x.Sweeps.Any(w => w.State == "finished"), Long);
            Assert.Equal(1, s.Sweeps.Single().Completed);
        }

        // ... and on two node processes of one slot each
        var connection = Postgres.NewDatabase();
        using var h = new ClusterHarness(connection, [], TimeSpan.FromMilliseconds(20));
        h.Define(new("a", "127.0.0.1", ClusterHarness.FreePort(), "coordinator,trainer"));
        h.Define(new("b", "127.0.0.2", ClusterHarness.FreePort(), "trainer"));
        h.UseSeeds("a");
        Assert.Equal(0, h.InitJournal().Exit);
        h.Start("a");
        h.Start("b");
        h.WaitFor(s => s.GetProperty("nodes").EnumerateArray().Count(x => x.GetProperty("slots").GetInt32() == 1) == 2, Long, "status");
        var file = Path.Combine(h.Root, "across.conf");
        File.WriteAllText(file, RealSweep("across", crossNode: true));
        var submitted = h.Console("submit", file);
        Assert.True(submitted.Exit == 0, submitted.Out + submitted.Err);
        var status = h.WaitFor(s => s.GetProperty("sweeps").EnumerateArray().Any(x => x.GetProperty("state").GetString() is "finished" or "failed"), Long, "status");
        var sweep = status.GetProperty("sweeps").EnumerateArray().Single();
        Assert.True(sweep.GetProperty("completed").GetInt32() == 1, $"{sweep}\n{File.ReadAllText(h.Log("a"))[^4000..]}");
        // it really was one lease over both nodes, trained once
        var leases = Leases(connection);
        Assert.Single(leases);
        Assert.Equal(2, leases[0].Nodes);
        foreach (var node in new[] { "a", "b" })
            Assert.Contains(File.ReadLines(h.Log(node)), l => l.Contains("event=started") && l.Contains("/2 slot=0"));

        var vocab = QaTokenizer.Load(Directory.GetDirectories(Path.Combine(one.Path, "tokenizers")).Single()).VocabSize;
        using var within = TrainerCore.Open(FinalCheckpoint(one.Path, "within"), new TrainerOptions { VocabSize = vocab });
        using var across = TrainerCore.Open(FinalCheckpoint(h.Storage, "across"), new TrainerOptions { VocabSize = vocab });
        Assert.Equal(Steps, across.Step);
        using var fresh = new ActorLab.Model.Transformer.LlamaMup(within.Model.Config, within.Run.Seed);
        var pw = within.Model.parameters().ToArray();
        var pa = across.Model.parameters().ToArray();
        var p0 = fresh.parameters().ToArray();
        Assert.Equal(pw.Length, pa.Length);
        double moved = 0;
        for (var i = 0; i < pw.Length; i++)
        {
            Assert.True(pw[i].equal(pa[i]).all().item<bool>(), $"parameter {i}: across nodes differs from within one node by {(pw[i] - pa[i]).abs().max().item<float>()}");
            moved = Math.Max(moved, (pw[i] - p0[i]).abs().max().item<float>());
        }
        Assert.True(moved > 1e-4, $"training moved the weights by only {moved}");
    }

    [SkippableFact]
    public void Kill9_of_a_ranks_node_aborts_the_other_rank_at_once_and_the_run_resumes_on_other_nodes()
    {
        var connection = Postgres.NewDatabase();
        // a join to a dead node's listener is refused until that node is downed and the lease lost (or this timeout)
        using var h = new ClusterHarness(connection, ["ring"], TimeSpan.FromMilliseconds(20), extra: "actorlab.data-plane.connect-timeout = 30s");
        h.Define(new("a", "127.0.0.1", ClusterHarness.FreePort(), "coordinator,trainer"));
        h.Define(new("b", "127.0.0.2", ClusterHarness.FreePort(), "trainer"));
        h.Define(new("c", "127.0.0.3", ClusterHarness.FreePort(), "trainer"));
        h.UseSeeds("a");
        Assert.Equal(0, h.InitJournal().Exit);
        foreach (var n in new[] { "a", "b", "c" }) h.Start(n);
        h.WaitFor(s => s.GetProperty("nodes").EnumerateArray().Count(x => x.GetProperty("slots").GetInt32() == 1) == 3, Long, "status");
        var file = Path.Combine(h.Root, "ring.conf");
        File.WriteAllText(file, Long2);
        Assert.Equal(0, h.Console("submit", file).Exit);

        // the run trains on two of the three nodes and has a checkpoint
        var runs = h.WaitFor(r => ClusterHarness.Runs(r).Any(x => x.GetProperty("state").GetString() == "running" && x.GetProperty("checkpoint_step").GetInt64() >= 40),
            Long, "runs");
        var run = ClusterHarness.Runs(runs).Single();
        var epoch = run.GetProperty("epoch").GetInt64();
        var nodes = run.GetProperty("node").GetString()!.Split('+');
        Assert.Equal(2, nodes.Length);
        // kill a trainer-only rank node (the coordinator stays where it is)
        var victim = new[] { "b", "c" }.First(n => nodes.Any(x => x.StartsWith(h.Node(n).Contact + "#", StringComparison.Ordinal)));
        var survivor = new[] { "a", "b", "c" }.First(n => n != victim && nodes.Any(x => x.StartsWith(h.Node(n).Contact + "#", StringComparison.Ordinal)));
        h.Kill9(victim);
        var killed = Stopwatch.StartNew();

        // the surviving rank's trainer ends its part of that epoch at once (its ring connection closed), not at a deadline
        var ended = $"run={run.GetProperty("run_id").GetString()} epoch={epoch} ";
        while (!File.ReadLines(h.Log(survivor)).Any(l => l.Contains(ended) && l.Contains("event=ended")))
        {
            Assert.True(killed.Elapsed < TimeSpan.FromSeconds(60), $"rank on {survivor} still in epoch {epoch} 60 s after kill -9 of {victim}");
            Thread.Sleep(100);
        }
        var abortedAfter = killed.Elapsed;
        var line = File.ReadLines(h.Log(survivor)).First(l => l.Contains(ended) && l.Contains("event=ended"));
        output.WriteLine($"the rank on {survivor} ended epoch {epoch} {abortedAfter.TotalSeconds:F1} s after kill -9 of {victim}: {line}");
        Assert.Contains("failed", line);
        // within the step deadline's floor by far: the connection closed
        Assert.True(abortedAfter < TimeSpan.FromSeconds(20), $"the other rank took {abortedAfter.TotalSeconds:F1} s");

        // the run is leased again on the two live nodes, from its checkpoint, and completes
        var status = h.WaitFor(s => s.GetProperty("sweeps").EnumerateArray().All(x => x.GetProperty("state").GetString() == "finished"), Long, "status");
        Assert.Equal(1, status.GetProperty("sweeps")[0].GetProperty("completed").GetInt32());
        var leases = Leases(connection);
        var later = leases.Where(l => l.Epoch > epoch).ToList();
        Assert.NotEmpty(later);
        Assert.All(later, l => Assert.Equal(2, l.Nodes));
        var folder = new RunFolder(Path.Combine(h.Storage, "runs", run.GetProperty("run_id").GetString()!), null);
        ClusterTests.CheckNoStepTrainedTwice(folder);
        var starts = folder.ProgressFiles().Select(f => File.ReadLines(f.Path).Skip(1).Select(l => l.Split(',')).First(p => p[1] == "start")[2]).ToList();
        Assert.Contains(starts, s => long.Parse(s, System.Globalization.CultureInfo.InvariantCulture) >= 40);
    }
}
