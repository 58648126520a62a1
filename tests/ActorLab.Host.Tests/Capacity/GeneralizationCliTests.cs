using ActorLab.Host.Tests.Infrastructure;
using ActorLab.Host.Tests.Probes;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Training;

namespace ActorLab.Host.Tests.Capacity;

/// <summary>`actorlab generalization RUN` on a tiny 2-hop run with one (untrained) checkpoint: the plumbing and its errors.</summary>
public class GeneralizationCliTests(ProbeRunFixture fx) : IClassFixture<ProbeRunFixture>
{
    [Fact]
    public void WritesOneRowPerTupleBesideItsHopsAndAPlot()
    {
        var r = ActorLabCli.Run("generalization", fx.RunDir, "--tuples", "5", "--threads", "1");
        Assert.True(r.Exit == 0, r.Err + r.Out);
        var dir = Path.Combine(fx.RunDir, "generalization", "step_0");
        var lines = File.ReadAllLines(Path.Combine(dir, "generalization.csv"));
        Assert.Equal("step,mode,first_person,relation,attribute,second_person,two_hop_loss,first_hop_loss,second_hop_loss", lines[0]);
        var modes = lines.Skip(1).Select(l => l.Split(',')[1]).Distinct().ToList();
        Assert.Contains("train_twohop", modes);
        Assert.Contains("eval_complete_two_hop_questions", modes);
        Assert.All(modes, m => Assert.NotEqual("train_onehop", m));
        Assert.All(lines.Skip(1), l => Assert.All(l.Split(',')[6..], v => Assert.True(double.Parse(v, System.Globalization.CultureInfo.InvariantCulture) > 0, l)));
        Assert.True(new FileInfo(Path.Combine(dir, "generalization.png")).Length > 1000);
        Assert.Contains("eval_complete_two_hop_questions", r.Out); // the per-mode summary
    }

    [Fact]
    public void ChosenModesOnlyIntoTheGivenFolder()
    {
        var outDir = Path.Combine(fx.Dir, "gen-out");
        var r = ActorLabCli.Run("generalization", fx.Checkpoint, "--modes", "eval_relations", "--tuples", "3", "--threads", "1", "--out", outDir);
        Assert.True(r.Exit == 0, r.Err + r.Out);
        var rows = File.ReadAllLines(Path.Combine(outDir, "generalization.csv")).Skip(1).ToList();
        Assert.InRange(rows.Count, 1, 3);
        Assert.All(rows, l => Assert.Equal("eval_relations", l.Split(',')[1]));
    }

    [Fact]
    public void AOneHopRunIsRefusedByName()
    {
        var runDir = Path.Combine(fx.Dir, "one-hop-run");
        var db = ProfileParquet.Read(Path.Combine(fx.Dir, "profiles.parquet"));
        var tok = QaTokenizer.Load(Path.Combine(fx.Dir, "tok"));
        var run = new RunConfig
        {
            RunName = "one-hop", Profiles = Path.Combine(fx.Dir, "profiles.parquet"), Tokenizer = Path.Combine(fx.Dir, "tok"), NProfiles = db.Count,
            Relations = db.RelationCount, NParams = 0, ParamBudget = 320000L + 12L * 1 * 16 * 16 + 1, Layers = 1, MinOrder = 1, MaxOrder = 1,
            BatchSize = 2, SeqLen = 64, MaxSteps = 10, Seed = 3,
        };
        using (var core = TrainerCore.Create(run, runDir, new TrainerOptions { VocabSize = tok.VocabSize, Threads = 1, Warn = _ => { } }))
            core.SaveCheckpoint();
        var r = ActorLabCli.Run("generalization", runDir, "--threads", "1");
        Assert.Equal(2, r.Exit);
        Assert.Contains("was trained on 1-hop questions only", r.Err);
        Assert.Contains("one-hop-run", r.Err);
        Assert.False(Directory.Exists(Path.Combine(runDir, "generalization")));
    }

    [Theory]
    [InlineData("missing", "run folder '/nonexistent/run' does not exist", "/nonexistent/run")]
    [InlineData("tuples", "--tuples must be >= 1", "RUN", "--tuples", "0")]
    [InlineData("modes", "--modes 'eval_everything' is not an eval mode", "RUN", "--modes", "eval_everything")]
    [InlineData("onehop", "--modes train_onehop is not a 2-hop mode", "RUN", "--modes", "train_onehop")]
    [InlineData("batch", "--batch-size must be >= 1", "RUN", "--batch-size", "0")]
    [InlineData("notarun", "is neither a checkpoint", "DIR")]
    public void BadInputExitsTwoWithOneClearLine(string name, string message, params string[] args)
    {
        _ = name;
        var r = ActorLabCli.Run(["generalization", .. args.Select(a => a switch { "RUN" => fx.RunDir, "DIR" => fx.Dir, _ => a }), "--threads", "1"]);
        Assert.Equal(2, r.Exit);
        Assert.StartsWith("error: ", r.Err);
        Assert.Contains(message, r.Err);
        Assert.DoesNotContain("   at ", r.Err);
    }
}
