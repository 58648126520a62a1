using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Tests.Qa;
using ActorLab.Model.Training;
using ActorLab.Model.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace ActorLab.Model.Tests.Training;

/// <summary>The trainer on the real Q&amp;A stream: eval files, held-out splits in checkpoints, exact resume, HF export.</summary>
public class TrainingSessionTests : IDisposable
{
    static readonly Lazy<(ProfileDatabase Db, QaTokenizer Tok)> Data = new(() =>
    {
        var db = TestProfiles.Create(300, relations: 4, seed: 3);
        return (db, TestProfiles.Tokenizer(db, vocabSize: 500));
    });

    readonly string dir = Directory.CreateTempSubdirectory("actorlab-session-").FullName;
    public void Dispose() => Directory.Delete(dir, true);

    static RunConfig Run(string optimizer = "schedulefree", long maxSteps = 6) => new()
    {
        RunName = "session-test",
        Profiles = "test",
        Tokenizer = "test",
        NProfiles = Data.Value.Db.Count,
        Relations = 4,
        NParams = 0,
        ParamBudget = 320000L + 12L * 2 * 32 * 32 + 1,
        Layers = 2,
        MinOrder = 1,
        MaxOrder = 2,
        Optimizer = optimizer,
        Lr = 3e-3,
        BatchSize = 4,
        SeqLen = 96,
        MaxSteps = maxSteps,
        Seed = 7,
    };

    static TrainerOptions Options(params long[] schedule) => new()
    {
        VocabSize = Data.Value.Tok.VocabSize,
        Threads = 1,
        WarmupSteps = 2,
        EvalQuestions = 40,
        Schedule = CheckpointSchedule.Explicit(schedule),
        Warn = _ => { },
    };

    static TrainingSession Open(string runDir, RunConfig run, TrainerOptions o) =>
        TrainingSession.Open(run, runDir, o, Data.Value.Db, Data.Value.Tok);

    static Dictionary<string, float[]> Weights(TrainerCore core) =>
        core.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter.data<float>().ToArray());

    [Fact]
    public void RunWritesEvalResultsForAllNineModesAndCheckpoints()
    {
        var runDir = Path.Combine(dir, "run");
        var reports = new List<EvalReport>();
        using (var s = Open(runDir, Run(), Options(3)))
        {
            Assert.Equal(9, s.EvalModes.Count);
            s.Run(onCheckpoint: (r, _) => reports.Add(r));
        }
        Assert.Equal(new long[] { 3, 6 }, reports.Select(r => r.Step));
        Assert.All(reports, r => Assert.Equal(9, r.Modes.Count));
        Assert.All(reports.SelectMany(r => r.Modes), m => Assert.True(m.Questions >= 40 && m.Loss > 0 && double.IsFinite(m.Loss)));

        var lines = File.ReadAllLines(Path.Combine(runDir, EvalResultsCsv.FileName));
        Assert.Equal("loss,global_step,mode,parameter_l2", lines[0]);
        Assert.Equal(18, lines.Length - 1);
        Assert.Contains(lines, l => l.Contains(",6,eval_complete_two_hop_questions,"));
        var full = File.ReadAllLines(Path.Combine(runDir, EvalResultsCsv.FullFileName));
        Assert.Equal("loss,global_step,mode,subject,parameter_l2", full[0]);
        Assert.Contains(full, l => l.Contains(",3,train_onehop,birth_date,"));

        // Per-question loss: the mean over subjects weighted by question counts is the mode's loss.
        var m0 = reports[1][EvalMode.TrainOnehop]!;
        Assert.Equal(m0.Loss, m0.Subjects.Values.Sum(s => s.LossSum) / m0.Subjects.Values.Sum(s => s.Questions), 9);

        var ckpt = Checkpoints.Read(Checkpoints.DirFor(runDir, 6));
        using (ckpt)
        {
            Assert.True(ckpt.Attachments.ContainsKey(TrainingSession.SplitsAttachment));
            Assert.Equal(6, ckpt.Meta.StreamPosition);
        }
        var run = RunConfig.Load(runDir);
        Assert.Equal(new LlamaMup(TrainerCore.PlanModel(run, Data.Value.Tok.VocabSize)).ParameterCount, run.NParams);
    }

    /// <summary>
    /// Curriculum: 1-hop only until train_onehop is below the threshold at an eval, then the 2-hop phase; the phase is
    /// checkpointed and a resumed run stays in it. (Threshold raised so the switch happens at the first eval.)
    /// </summary>
    [Fact]
    public void CurriculumSwitchesAtEvalAndSurvivesResume()
    {
        var run = Run(maxSteps: 4) with { Curriculum = true };
        using (var s = Open(Path.Combine(dir, "default"), run, Options(2)))
        {
            s.Run();
            Assert.False(s.InTwoHopPhase); // 1.0 nats/question is far from reached after 4 steps
        }
        var runDir = Path.Combine(dir, "curr");
        using (var s = Open(runDir, run, Options(2)))
        {
            s.CurriculumThreshold = 1e9;
            s.TrainStep();
            Assert.False(s.InTwoHopPhase); // no eval yet
            s.Run();
            Assert.True(s.InTwoHopPhase);
            Assert.Equal("twohop", s.Core.Extra["curriculum_phase"]);
            Assert.Equal("2", s.Core.Extra["curriculum_switch_step"]);
        }
        using (var s = Open(runDir, run with { MaxSteps = 5 }, Options(2)))
        {
            Assert.Equal(4, s.Core.Step);
            Assert.True(s.InTwoHopPhase);
        }
    }

    /// <summary>Straight 8 steps == 4 steps, close, reopen (stream seeks to batch 4, splits from the checkpoint), 4 steps.</summary>
    [Fact]
    public void SessionResumeIsBitwiseExactOnTheRealStream()
    {
        Dictionary<string, float[]> straight;
        using (var s = Open(Path.Combine(dir, "a"), Run(maxSteps: 8), Options(4)))
        {
            s.Run();
            straight = Weights(s.Core);
        }
        var b = Path.Combine(dir, "b");
        using (var s = Open(b, Run(maxSteps: 4), Options(4))) s.Run();
        using (var s = Open(b, Run(maxSteps: 8), Options(4)))
        {
            Assert.Equal(4, s.Core.Step);
            Assert.NotNull(s.Splits);
            s.Run();
            var resumed = Weights(s.Core);
            foreach (var (name, w) in straight) Assert.Equal(w, resumed[name]);
        }
    }

    /// <summary>
    /// The export, loaded into a plain Llama (readout scale 1, attention 1/sqrt(head_dim): what HF computes), gives the
    /// logits our model gives at its evaluation point.
    /// </summary>
    [Fact]
    public void HfExportReproducesEvalLogitsInPlainLlama()
    {
        var runDir = Path.Combine(dir, "run");
        using var s = Open(runDir, Run(maxSteps: 3), Options());
        s.Run();
        var ckpt = s.Core.SaveCheckpoint();
        var outDir = Path.Combine(dir, "hf");
        HfExport.Export(ckpt, outDir);

        var tensors = Safetensors.Read(Path.Combine(outDir, "model.safetensors"), out var meta);
        Assert.Equal("pt", meta["format"]);
        Assert.Contains("model.embed_tokens.weight", tensors.Keys);
        Assert.Contains("model.layers.1.self_attn.q_proj.weight", tensors.Keys);
        Assert.Contains("model.norm.weight", tensors.Keys);
        Assert.Contains("lm_head.weight", tensors.Keys);
        var cfgJson = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "config.json")))!;
        var cfg = s.Core.Model.Config;
        Assert.Equal("LlamaForCausalLM", cfgJson["architectures"]![0]!.GetValue<string>());
        Assert.Equal(cfg.Width, cfgJson["hidden_size"]!.GetValue<int>());
        Assert.Equal(cfg.Hidden, cfgJson["intermediate_size"]!.GetValue<int>());
        Assert.Equal(cfg.Heads, cfgJson["num_attention_heads"]!.GetValue<int>());
        Assert.False(cfgJson["tie_word_embeddings"]!.GetValue<bool>());

        var plainCfg = cfg with { BaseWidth = cfg.Width, AttnMult = Math.Sqrt(cfg.HeadDim) };
        using var plain = new LlamaMup(plainCfg);
        using (no_grad())
            foreach (var (name, p) in plain.named_parameters())
                p.copy_(tensors[name == "lm_head.weight" ? name : "model." + name]);
        foreach (var t in tensors.Values) t.Dispose();

        using var ids = tensor(s.Core.Model.Config.VocabSize > 50 ? new long[] { 0, 5, 17, 33, 2, 49 } : [0, 1, 2], [1, 6]);
        s.Core.Optimizer.Eval();
        using var _ = no_grad();
        using var ours = s.Core.Model.forward(ids);
        s.Core.Optimizer.Train();
        using var theirs = plain.forward(ids);
        Assert.True(ours.allclose(theirs, rtol: 1e-4, atol: 1e-5), $"max diff {(ours - theirs).abs().max().item<float>()}");
    }
}
