using ActorLab.Host.Tests.Infrastructure;
using ActorLab.Host.Tests.Qa;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Training;

namespace ActorLab.Host.Tests.Training;

/// <summary>A small profiles file and tokenizer for the train/eval/export commands.</summary>
public sealed class TrainCliFixture : IDisposable
{
    public TrainCliFixture()
    {
        Dir = Directory.CreateTempSubdirectory("train-cli").FullName;
        Profiles = Path.Combine(Dir, "profiles.parquet");
        var db = ProfileGenerator.Generate(new ProfileGeneratorConfig(200, 2, Seed: 3), ValueLists.Default);
        ProfileParquet.Write(db, Profiles);
        Tokenizer = Path.Combine(Dir, "tok");
        Directory.CreateDirectory(Tokenizer);
        QaTokenizer.Train(QaCorpus.Texts(db, 0), 500).Save(Tokenizer);
    }

    public string Dir { get; }
    public string Profiles { get; }
    public string Tokenizer { get; }
    public void Dispose() => Directory.Delete(Dir, true);
}

public class TrainCliTests(TrainCliFixture fx) : IClassFixture<TrainCliFixture>
{
    /// <summary>train with small defaults; a flag in <paramref name="extra"/> replaces the default of the same name.</summary>
    string[] TrainArgs(string outDir, params string[] extra)
    {
        var defaults = new (string, string)[]
        {
            ("--profiles", fx.Profiles), ("--tokenizer", fx.Tokenizer), ("--num-params", "400000"), ("--layers", "1"),
            ("--batch-size", "2"), ("--seq-len", "96"), ("--warmup-steps", "2"), ("--eval-questions", "20"), ("--threads", "1"),
            ("--checkpoint-steps", "2"), ("--out", outDir),
        };
        var given = extra.Where(a => a.StartsWith("--")).ToHashSet();
        return ["train", .. defaults.Where(d => !given.Contains(d.Item1)).SelectMany(d => new[] { d.Item1, d.Item2 }), .. extra];
    }

    [Fact]
    public void TrainEvalExportEndToEndAndResume()
    {
        var outDir = Path.Combine(fx.Dir, "runs-e2e");
        var r = ActorLabCli.Run(TrainArgs(outDir, "--max-steps", "3"));
        Assert.True(r.Exit == 0, r.Err);
        Assert.Contains("new run mup_n200_p", r.Out);
        Assert.Contains("eval_complete_two_hop_questions", r.Out);
        var runDir = Directory.GetDirectories(outDir).Single();
        Assert.Matches(@"mup_n200_p\d+_omin1_omax2_wd0\.1_l1_lr0\.001_beta10\.99_sf_r2$", runDir);
        Assert.Equal(new long[] { 2, 3 }, Checkpoints.List(runDir).Select(c => c.Step));
        var run = RunConfig.Load(runDir);
        Assert.Contains($"_p{run.NParams}_", runDir);

        // Same command again without --resume: refused, the run is untouched.
        var again = ActorLabCli.Run(TrainArgs(outDir, "--max-steps", "3"));
        Assert.Equal(2, again.Exit);
        Assert.Contains("--resume", again.Err);

        var resumed = ActorLabCli.Run(TrainArgs(outDir, "--max-steps", "4", "--resume"));
        Assert.True(resumed.Exit == 0, resumed.Err);
        Assert.Contains("resumed", resumed.Out);
        Assert.Contains("at step 3", resumed.Out);
        Assert.Contains(4L, Checkpoints.List(runDir).Select(c => c.Step));

        var ckpt = Checkpoints.DirFor(runDir, 4);
        var ev = ActorLabCli.Run("eval", "--checkpoint", ckpt, "--subjectwise", "--eval-questions", "20", "--threads", "1");
        Assert.True(ev.Exit == 0, ev.Err);
        var full = File.ReadAllLines(Path.Combine(runDir, "eval_results_full.csv"));
        Assert.Equal("loss,global_step,mode,subject,parameter_l2", full[0]);
        Assert.Contains(full, l => l.Contains(",4,train_onehop,parent,"));
        var results = File.ReadAllLines(Path.Combine(runDir, "eval_results.csv"));
        Assert.Single(results, l => l.Contains(",4,train_onehop,")); // re-evaluation replaces, never duplicates

        var hf = Path.Combine(fx.Dir, "hf");
        var ex = ActorLabCli.Run("export", "--checkpoint", ckpt, "--out", hf);
        Assert.True(ex.Exit == 0, ex.Err);
        Assert.True(File.Exists(Path.Combine(hf, "model.safetensors")));
        Assert.Contains("LlamaForCausalLM", File.ReadAllText(Path.Combine(hf, "config.json")));
        Assert.True(File.Exists(Path.Combine(hf, "tokenizer.json")));
    }

    [Fact]
    public void Eval_results_reevaluates_every_runs_checkpoints_subjectwise_and_resumes()
    {
        var outDir = Path.Combine(fx.Dir, "runs-reeval");
        var r = ActorLabCli.Run(TrainArgs(outDir, "--max-steps", "4"));
        Assert.True(r.Exit == 0, r.Err);
        var runDir = Directory.GetDirectories(outDir).Single();
        Assert.True(Checkpoints.List(runDir).Count >= 2);

        string[] Reeval() => ["eval", "--results", outDir, "--subjectwise", "--checkpoints", "2", "--eval-questions", "5", "--threads", "1"];
        var first = ActorLabCli.Run(Reeval());
        Assert.True(first.Exit == 0, first.Err);
        Assert.Contains("2 checkpoint(s) re-evaluated, 0 already done", first.Out);
        var hist = File.ReadAllLines(Path.Combine(runDir, EvalResultsCsv.HistogramFileName));
        Assert.Equal("global_step,mode,subject,loss_from,loss_to,questions", hist[0]);
        Assert.Contains(hist, l => l.StartsWith("4,train_twohop,"));
        var again = ActorLabCli.Run(Reeval());
        Assert.True(again.Exit == 0, again.Err);
        Assert.Contains("0 checkpoint(s) re-evaluated, 2 already done", again.Out);

        var noSubjectwise = ActorLabCli.Run("eval", "--results", outDir, "--threads", "1");
        Assert.Equal(2, noSubjectwise.Exit);
        Assert.Contains("--subjectwise", noSubjectwise.Err);
        var both = ActorLabCli.Run("eval", "--results", outDir, "--subjectwise", "--checkpoint", Checkpoints.List(runDir)[0].Dir);
        Assert.Equal(2, both.Exit);
        Assert.Contains("not both", both.Err);
        var neither = ActorLabCli.Run("eval", "--subjectwise");
        Assert.Equal(2, neither.Exit);
        Assert.Contains("--checkpoint", neither.Err);
        var badK = ActorLabCli.Run("eval", "--results", outDir, "--subjectwise", "--checkpoints", "0");
        Assert.Equal(2, badK.Exit);
        Assert.Contains("--checkpoints", badK.Err);
    }

    /// <summary>`eval` takes a run folder like `probe`: its newest valid checkpoint.</summary>
    [Fact]
    public void Eval_of_a_run_folder_evaluates_its_newest_valid_checkpoint()
    {
        var outDir = Path.Combine(fx.Dir, "eval-run-folder");
        Assert.Equal(0, ActorLabCli.Run(TrainArgs(outDir, "--max-steps", "4")).Exit);
        var runDir = Directory.GetDirectories(outDir).Single();
        var newest = Checkpoints.List(runDir).MaxBy(c => c.Step);
        var ev = ActorLabCli.Run("eval", "--checkpoint", runDir, "--eval-questions", "5", "--threads", "1");
        Assert.True(ev.Exit == 0, ev.Err);
        Assert.Contains(Path.GetFileName(newest.Dir), ev.Out);
        var none = ActorLabCli.Run("eval", "--checkpoint", outDir, "--threads", "1");
        Assert.Equal(2, none.Exit);
        Assert.Contains("neither a checkpoint", none.Err);
    }

    /// <summary>Re-evaluation spread over slots (runs at once, one thread each) writes exactly what one slot writes.</summary>
    [Fact]
    public void Eval_results_over_two_slots_equals_one_slot()
    {
        var one = Path.Combine(fx.Dir, "reeval-one");
        foreach (var lr in new[] { "0.001", "0.002", "0.003" })
            Assert.Equal(0, ActorLabCli.Run(TrainArgs(one, "--max-steps", "4", "--lr", lr)).Exit);
        var two = Path.Combine(fx.Dir, "reeval-two");
        foreach (var f in Directory.GetFiles(one, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(two, Path.GetRelativePath(one, f));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(f, to);
        }
        string[] Reeval(string dir, string slots) => ["eval", "--results", dir, "--subjectwise", "--checkpoints", "2", "--eval-questions", "5", "--threads", "1", "--slots", slots];
        var a = ActorLabCli.Run(Reeval(one, "1"));
        Assert.True(a.Exit == 0, a.Err);
        var b = ActorLabCli.Run(Reeval(two, "2"));
        Assert.True(b.Exit == 0, b.Err);
        Assert.Equal(3, Directory.GetDirectories(two).Length);
        foreach (var run in Directory.GetDirectories(one))
            foreach (var file in new[] { "eval_results_full.csv", EvalResultsCsv.HistogramFileName })
                Assert.Equal(File.ReadAllText(Path.Combine(run, file)), File.ReadAllText(Path.Combine(two, Path.GetFileName(run), file)));
        Assert.Contains("--slots", ActorLabCli.Run(Reeval(one, "0")).Err);
    }

    [Theory]
    [InlineData("--optimizer", "sgd", "--optimizer")]
    [InlineData("--lr", "abc", "abc")]
    [InlineData("--lr", "-1", "--lr")]
    [InlineData("--beta1", "1.5", "--beta1")]
    [InlineData("--orders", "3", "--orders")]
    [InlineData("--device", "cuda:0", "CUDA")]
    [InlineData("--device", "tpu", "--device")]
    [InlineData("--amp", "bf16", "--amp")]
    [InlineData("--checkpoint-steps", "log:x", "'x' is not a whole number")]
    [InlineData("--batch-size", "0", "--batch-size")]
    [InlineData("--progress-every", "0", "--progress-every")]
    [InlineData("--bogus-flag", "1", "--bogus-flag")]
    public void BadTrainFlagsExitTwoNamingTheCulprit(string flag, string value, string expected)
    {
        var r = ActorLabCli.Run(TrainArgs(Path.Combine(fx.Dir, "runs-bad"), "--max-steps", "1", flag, value));
        Assert.Equal(2, r.Exit);
        Assert.StartsWith("error:", r.Err);
        Assert.Contains(expected, r.Err);
        Assert.DoesNotContain("   at ", r.Err); // no stack trace
    }

    /// <summary>--progress-every sets the interval of the redirected progress lines (bench/gpu reads step rates off them).</summary>
    [Fact]
    public void ProgressEveryPrintsAStepLineAtThatInterval()
    {
        var r = ActorLabCli.Run(TrainArgs(Path.Combine(fx.Dir, "runs-progress"), "--max-steps", "4", "--orders", "1", "--progress-every", "0.000001"));
        Assert.True(r.Exit == 0, r.Err);
        var steps = r.Err.Split('\n').Where(l => l.StartsWith("step ")).Select(l => l.Split(' ')[1]).ToArray();
        Assert.Equal(new[] { "1/4", "2/4", "3/4", "4/4" }, steps);
        var quiet = ActorLabCli.Run(TrainArgs(Path.Combine(fx.Dir, "runs-progress-default"), "--max-steps", "4", "--orders", "1"));
        Assert.True(quiet.Exit == 0, quiet.Err);
        Assert.Equal(2, quiet.Err.Split('\n').Count(l => l.StartsWith("step "))); // the first step and the last, 10 s apart at most
    }

    [Fact]
    public void MissingRequiredFlagAndMissingFilesExitTwo()
    {
        var missing = ActorLabCli.Run("train", "--profiles", fx.Profiles, "--tokenizer", fx.Tokenizer, "--layers", "1", "--max-steps", "1", "--out", fx.Dir);
        Assert.Equal(2, missing.Exit);
        Assert.Contains("--num-params", missing.Err);

        var noProfiles = ActorLabCli.Run(TrainArgs(Path.Combine(fx.Dir, "runs-np"), "--max-steps", "1", "--profiles", Path.Combine(fx.Dir, "nope.parquet")));
        Assert.Equal(2, noProfiles.Exit);
        Assert.Contains("nope.parquet", noProfiles.Err);

        var noCkpt = ActorLabCli.Run("eval", "--checkpoint", Path.Combine(fx.Dir, "no-such-checkpoint"));
        Assert.Equal(2, noCkpt.Exit);
        Assert.Contains("no-such-checkpoint", noCkpt.Err);

        var noCkptExport = ActorLabCli.Run("export", "--checkpoint", Path.Combine(fx.Dir, "no-such-checkpoint"), "--out", Path.Combine(fx.Dir, "x"));
        Assert.Equal(2, noCkptExport.Exit);
    }
}
