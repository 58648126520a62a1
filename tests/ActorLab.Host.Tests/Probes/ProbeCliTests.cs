using ActorLab.Host.Tests.Infrastructure;
using ActorLab.Host.Tests.Qa;
using ActorLab.Model.Probes;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Training;
using Akka.Actor;

namespace ActorLab.Host.Tests.Probes;

/// <summary>A tiny 2-hop run with one checkpoint (untrained: these tests check the plumbing, not the science).</summary>
public sealed class ProbeRunFixture : IDisposable
{
    public ProbeRunFixture()
    {
        Dir = Directory.CreateTempSubdirectory("probe-cli").FullName;
        var profiles = Path.Combine(Dir, "profiles.parquet");
        var db = ProfileGenerator.Generate(new ProfileGeneratorConfig(40, 2, Seed: 1), ValueLists.Default);
        ProfileParquet.Write(db, profiles);
        var tokDir = Path.Combine(Dir, "tok");
        var tok = QaTokenizer.Train(QaCorpus.Texts(db, 1), 400);
        tok.Save(tokDir);
        // Laid out as a node lays out runs (DATA/runs/SWEEP/RUN), so the --run tests can point a node at it.
        DataDir = Path.Combine(Dir, "data");
        RunDir = Path.Combine(DataDir, "runs", "sw", "probe-run");
        var run = new RunConfig
        {
            RunName = "probe-cli-test", Profiles = profiles, Tokenizer = tokDir, NProfiles = db.Count, Relations = db.RelationCount,
            NParams = 0, ParamBudget = 320000L + 12L * 2 * 32 * 32 + 1, Layers = 2, MinOrder = 1, MaxOrder = 2,
            BatchSize = 2, SeqLen = 64, MaxSteps = 10, Seed = 3,
        };
        using var core = TrainerCore.Create(run, RunDir, new TrainerOptions { VocabSize = tok.VocabSize, Threads = 1, Warn = _ => { } });
        using (var ms = new MemoryStream())
        {
            HeldOutSplits.Build(db, run.Seed).WriteTo(ms);
            core.Attachments[ProbeCheckpoint.SplitsAttachment] = ms.ToArray();
        }
        Checkpoint = core.SaveCheckpoint().Dir;
    }

    public string Dir { get; }
    public string DataDir { get; }
    public string RunDir { get; }
    public string Checkpoint { get; }
    public void Dispose() => Directory.Delete(Dir, true);
}

public class ProbeCliTests(ProbeRunFixture fx) : IClassFixture<ProbeRunFixture>
{
    [Fact]
    public void ProbeSweepWithProbeActorsWritesCsvWeightsAndHeatmaps()
    {
        var outDir = Path.Combine(fx.Dir, "out-actors");
        var r = ActorLabCli.Run("probe", "--checkpoint", fx.RunDir, "--layers", "0,2", "--positions", "name,relation,all",
            "--samples", "90", "--max-iter", "20", "--parallel", "2", "--threads", "1", "--out", outDir);
        Assert.True(r.Exit == 0, r.Err + r.Out);
        var rows = ProbeResults.Read(Path.Combine(outDir, "probes.csv"));
        Assert.Equal(12, rows.Count); // 2 layers x 3 positions x 2 targets (answer, first-hop: 2-hop default)
        Assert.All(rows, row => Assert.Equal(2, row.Hops));
        Assert.Equal(90, rows[0].NTrain + rows[0].NEval);
        Assert.InRange(rows[0].NEval, 18, 40); // whole people (default --split person) until a fifth is reached
        Assert.All(rows.Where(x => x.Target == "answer"), x => Assert.False(double.IsNaN(x.ModelLoss)));
        Assert.All(rows.Where(x => x.Target == "first-hop"), x => Assert.True(double.IsNaN(x.ModelLoss)));
        Assert.All(rows, x => Assert.True(double.IsFinite(x.ProbeLoss) && double.IsFinite(x.BaselineLoss)));
        foreach (var f in new[] { "heatmap_answer.png", "heatmap_first-hop.png", "weights/L2_relation_first-hop.safetensors", "weights/L0_all_answer.safetensors" })
            Assert.True(File.Exists(Path.Combine(outDir, f)), f);
        Assert.Contains("[12/12]", r.Out);
    }

    [Fact]
    public void OneHopProbesOnTheDefaultOutputFolder()
    {
        var r = ActorLabCli.Run("probe", "--checkpoint", fx.Checkpoint, "--hops", "1", "--layers", "1-2", "--positions", "attribute,last",
            "--samples", "60", "--max-iter", "20", "--threads", "1");
        Assert.True(r.Exit == 0, r.Err + r.Out);
        var csv = Path.Combine(fx.RunDir, "probes", "step_0_hops1_train_onehop", "probes.csv");
        var rows = ProbeResults.Read(csv);
        Assert.Equal([(1, "attribute"), (1, "last"), (2, "attribute"), (2, "last")], rows.Select(x => (x.Layer, x.Position)));
        Assert.All(rows, x => Assert.Equal("answer", x.Target));
    }

    [Fact]
    public void DefaultPositionsIncludeTheLastPromptToken()
    {
        var outDir = Path.Combine(fx.Dir, "out-defaults");
        var r = ActorLabCli.Run("probe", "--checkpoint", fx.RunDir, "--layers", "1", "--target", "answer",
            "--samples", "40", "--max-iter", "5", "--threads", "1", "--out", outDir);
        Assert.True(r.Exit == 0, r.Err + r.Out);
        var rows = ProbeResults.Read(Path.Combine(outDir, "probes.csv"));
        Assert.Equal(["name", "relation", "attribute", "last", "all"], rows.Select(x => x.Position));
    }

    [Fact]
    public void ReferenceProbesReadPackedSequencesForTheBridgeEntity()
    {
        var r = ActorLabCli.Run("probe", "--checkpoint", fx.RunDir, "--reference", "--layers", "0,2",
            "--samples", "40", "--max-iter", "20", "--threads", "1");
        Assert.True(r.Exit == 0, r.Err + r.Out);
        // Its own default folder: reference numbers never overwrite the present probes'.
        var csv = Path.Combine(fx.RunDir, "probes", "step_0_hops2_train_twohop_reference", "probes.csv");
        var rows = ProbeResults.Read(csv);
        Assert.Equal([(0, "name"), (0, "relation"), (0, "attribute"), (0, "all"), (2, "name"), (2, "relation"), (2, "attribute"), (2, "all")],
            rows.Select(x => (x.Layer, x.Position)));
        Assert.All(rows, x => Assert.Equal("first-hop", x.Target));
        Assert.All(rows, x => Assert.Equal((38, 2), (x.NTrain, x.NEval))); // int(0.95 * 40) train, the rest eval
        Assert.All(rows, x => Assert.True(double.IsFinite(x.ModelLoss) && double.IsFinite(x.ProbeLoss)));
        var (probe, _, meta) = ProbeTrainer.LoadWeights(Path.Combine(fx.RunDir, "probes", "step_0_hops2_train_twohop_reference", "weights", "L2_name_first-hop.safetensors"));
        using (probe) Assert.Equal(2 * 32, probe.Dim); // two name tokens side by side
        Assert.Equal("random 95/5", meta["split"]);
    }

    [Theory]
    [InlineData("refhops", "--hops 1 does not go with --reference", "--reference", "--hops", "1")]
    [InlineData("refsplit", "--split does not go with --reference", "--reference", "--split", "person")]
    [InlineData("reffraction", "--eval-fraction does not go with --reference", "--reference", "--eval-fraction", "0.2")]
    [InlineData("reftarget", "--target answer does not go with --reference", "--reference", "--target", "answer")]
    [InlineData("reflast", "--positions last does not go with --reference", "--reference", "--positions", "last")]
    [InlineData("refrun", "--reference goes with --checkpoint", "NO-CHECKPOINT", "--reference", "--run", "x", "--contact", "127.0.0.1:1")]
    [InlineData("refsamples", "--samples must be at least 20 with --reference", "--reference", "--samples", "15")]
    [InlineData("nothing", "give --checkpoint DIR, or --run RUN", "NO-CHECKPOINT")]
    [InlineData("both", "either --checkpoint or --run", "--run", "x")]
    [InlineData("nocontact", "--run needs --contact", "NO-CHECKPOINT", "--run", "x")]
    [InlineData("contactalone", "--contact goes with --run", "--contact", "127.0.0.1:1")]
    [InlineData("badcontact", "--contact must be HOST:PORT", "NO-CHECKPOINT", "--run", "x", "--contact", "nohost")]
    [InlineData("missing", "does not exist", "NO-CHECKPOINT", "--checkpoint", "/nonexistent/run")]
    [InlineData("range", "layer 5 is out of range", "--layers", "0-5")]
    [InlineData("layers", "is not a layer or a range", "--layers", "zero")]
    [InlineData("hops", "--hops must be 1 or 2", "--hops", "3")]
    [InlineData("positions", "--positions 'subject' is not one of", "--positions", "name,subject")]
    [InlineData("target", "--target 'second-hop' is not one of", "--target", "second-hop")]
    [InlineData("samples", "--samples must be at least 10", "--samples", "5")]
    [InlineData("parallel", "--parallel must be >= 1", "--parallel", "0")]
    [InlineData("mode", "not an eval mode", "--mode", "eval_everything")]
    [InlineData("relation1hop", "position 'relation' is not available for 1-hop", "--hops", "1", "--positions", "relation")]
    [InlineData("firsthop1hop", "target 'first-hop' is not available for 1-hop", "--hops", "1", "--target", "first-hop")]
    public void BadInputExitsTwoWithOneClearLine(string name, string message, params string[] flags)
    {
        _ = name;
        var args = new List<string> { "probe" };
        if (flags.Contains("NO-CHECKPOINT")) flags = flags.Where(f => f != "NO-CHECKPOINT").ToArray();
        else args.AddRange(["--checkpoint", fx.RunDir]);
        args.AddRange(flags);
        args.AddRange(["--max-iter", "5", "--threads", "1"]);
        if (!flags.Contains("--samples")) args.AddRange(["--samples", "30"]);
        var r = ActorLabCli.Run(args.ToArray());
        Assert.Equal(2, r.Exit);
        Assert.StartsWith("error: ", r.Err);
        Assert.Contains(message, r.Err);
        Assert.DoesNotContain("   at ", r.Err); // no stack trace
    }

    [Fact]
    public void AFolderThatIsNoCheckpointIsNamed()
    {
        var r = ActorLabCli.Run("probe", "--checkpoint", fx.Dir);
        Assert.Equal(2, r.Exit);
        Assert.Contains("is neither a checkpoint", r.Err);
    }
}

/// <summary>
/// `console probe RUN` and `probe --run RUN --contact`: a real node (in this process) trains a tiny real sweep; the CLI
/// (a child process, through ClusterClient) queues the probe sweep of its completed run as a job, which a slot of
/// the node runs into the run's probes/ folder.
/// </summary>
public class ProbeJobTests
{
    const string Sweep = """
        sweep {
          name = probed
          grid { layers = [2], param-budgets = [340000], relations = [2], n-profiles = [40], orders = [[1, 2]] }
          vocab-size = 400
          batch-size = 4
          seq-len = 128
          max-steps = 30
          convergence.enabled = false
          eval { steps = [30], questions = 20 }
          checkpoint.every = 30
        }
        """;

    [Fact]
    public async Task A_completed_run_is_probed_as_a_job_and_other_runs_are_refused()
    {
        using var dir = new TempDir();
        var config = ActorLab.Actors.Config.ActorLabConfig.Build(dir.Path);
        var storage = ActorLab.Actors.Config.StorageSettings.From(config).Storage;
        var backend = new ActorLab.Actors.Training.PipelineBackend(storage, 1, null, ActorLab.Host.Cli.ProbeCommands.RunJob);
        await using var n = InProcessNode.Start(dir.Path, TestJournal.Of("sqlite"), backend: backend);
        var contact = $"127.0.0.1:{n.Node.Address.Port}";
        Assert.True((await n.Ask<ActorLab.Actors.Control.CommandReply>(new ActorLab.Actors.Control.SubmitSweepFile("p.conf", Sweep))).Ok);
        await n.WaitFor(s => s.Sweeps.Any(x => x.State == "finished"), TimeSpan.FromMinutes(2));
        var run = (await n.Runs()).Runs.Single().RunId;

        var r = ActorLabCli.Run("console", "--contact", contact, "probe", run.Split('/')[1], "--layers", "1", "--samples", "40");
        Assert.True(r.Exit == 0, r.Err + r.Out);
        Assert.Contains("queued", r.Out);
        await n.WaitFor(s => s.QueuedJobs == 0 && s.RunningJobs == 0, TimeSpan.FromMinutes(2));
        var csv = Directory.GetFiles(Path.Combine(storage.RunDir(run), "probes"), "probes.csv", SearchOption.AllDirectories).Single();
        var rows = ProbeResults.Read(csv);
        Assert.All(rows, x => Assert.Equal(1, x.Layer));
        Assert.Contains(rows, x => x.Position == "relation");

        r = ActorLabCli.Run("probe", "--run", "no-such-run", "--contact", contact);
        Assert.Equal(2, r.Exit);
        Assert.Contains("unknown run 'no-such-run'", r.Err);
    }

    [Fact]
    public void NamesANodeThatDoesNotAnswer()
    {
        var r = ActorLabCli.Run("probe", "--run", "probe-run", "--contact", "127.0.0.1:1");
        Assert.Equal(2, r.Exit);
        Assert.Contains("no ActorLab node answers at 127.0.0.1:1", r.Err);
    }
}
