using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Common;
using ActorLab.Model.Storage;
using ActorLab.Model.Tests.Qa;
using ActorLab.Model.Training;
using ActorLab.Model.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace ActorLab.Model.Tests.Training;

/// <summary>The run session on the real Q&amp;A stream: eval files, held-out splits in checkpoints, exact resume, fenced epochs, HF export.</summary>
// torch.manual_seed and TrainerCore seed the process-wide generator: not alongside other tests that do
[Collection(ActorLab.Model.Tests.Training.TorchGlobalRng.Name)]
public class RunSessionTests : IDisposable
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
        WarmupSteps = 2,
        EvalQuestions = 40,
        EvalSchedule = CheckpointSchedule.Explicit([]),
    };

    static RunConfig Every(RunConfig run, params long[] schedule) => run with { EvalSchedule = CheckpointSchedule.Explicit(schedule) };

    static readonly TrainerOptions Options = new() { VocabSize = Data.Value.Tok.VocabSize, Threads = 1, Warn = _ => { } };

    static readonly Lazy<LoadedDataset> Loaded = new(() => new LoadedDataset(Data.Value.Db, Data.Value.Tok, new QaTokenCache(Data.Value.Db, Data.Value.Tok)));

    static RunSession Open(string runDir, RunConfig run, long? epoch = null, CheckpointRef? recorded = null, Action<string>? warn = null) =>
        RunSession.Open(run, new RunFolder(runDir, epoch), Loaded.Value, warn is null ? Options : Options with { Warn = warn }, recorded: recorded);

    sealed class Recorder : IRunObserver
    {
        public readonly List<EvalReport> Reports = [];
        public readonly List<CheckpointRef> Checkpoints = [];
        public void Evaluated(EvalReport report) => Reports.Add(report);
        public void Checkpointed(CheckpointRef checkpoint, string dir, double trainLoss) => Checkpoints.Add(checkpoint);
    }

    static RunOutcome Train(RunSession s, Recorder? r = null)
    {
        using var feed = s.OpenPrefetcher();
        return s.Run(feed, r);
    }

    static Dictionary<string, float[]> Weights(TrainerCore core) =>
        core.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter.data<float>().ToArray());

    [Fact]
    public void RunWritesEvalResultsForAllNineModesAndCheckpoints()
    {
        var runDir = Path.Combine(dir, "run");
        var recorder = new Recorder();
        string heldOut;
        using (var s = Open(runDir, Every(Run(), 3)))
        {
            heldOut = Subjects.Name(s.Splits!.SecondAttributes[0]);
            Assert.Equal(9, s.EvalModes.Count);
            var outcome = Train(s, recorder);
            Assert.Equal((RunEnd.Completed, 6L, "step cap"), (outcome.End, outcome.Step, outcome.Reason));
            Assert.Equal(FileHash.Sha256(Path.Combine(runDir, EvalResultsCsv.FileName)), outcome.ResultsSha256);
        }
        var reports = recorder.Reports;
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
        // subject-wise: every mode asks every subject, train_twohop the held-out second attribute too
        Assert.Equal(2 * 9 * Subjects.Count(4), full.Length - 1);
        Assert.Contains(full, l => l.Contains($",6,train_twohop,{heldOut},"));

        // Per-question loss: the mean over subjects weighted by question counts is the mode's loss.
        var m0 = reports[1][EvalMode.TrainOnehop]!;
        Assert.Equal(m0.Loss, m0.Subjects.Values.Sum(s => s.LossSum) / m0.Subjects.Values.Sum(s => s.Questions), 9);

        var ckpt = Checkpoints.Read(Checkpoints.DirFor(runDir, 6));
        using (ckpt)
        {
            Assert.True(ckpt.Attachments.ContainsKey(RunSession.SplitsAttachment));
            Assert.Equal(6, ckpt.Meta.StreamPosition);
        }
        var run = RunConfig.Load(runDir);
        Assert.Equal(new LlamaMup(TrainerCore.PlanModel(run, Data.Value.Tok.VocabSize)).ParameterCount, run.NParams);
    }

    [Fact]
    public void Subjectwise_eval_asks_every_subject_of_every_mode_at_least_the_eval_question_count()
    {
        using var s = Open(Path.Combine(dir, "subjectwise"), Run());
        var splits = s.Splits!;
        int subjects = Subjects.Count(4), heldOut = splits.SecondAttributes[0];
        var report = s.EvaluateSubjectwise();
        Assert.Equal(s.EvalModes, report.Modes.Select(m => m.Mode));
        foreach (var m in report.Modes)
        {
            Assert.Equal(Enumerable.Range(0, subjects), m.Subjects.Keys.Order());
            // >= 40 per subject, not 40 per mode split over the subjects
            Assert.All(m.Subjects.Values, x => Assert.True(x.Questions >= 40 && double.IsFinite(x.Loss) && x.Loss > 0));
            Assert.Equal(m.Subjects.Values.Sum(x => x.Questions), m.Questions);
        }

        // train_twohop asking the held-out second attribute: (p, r) of training tuples with the subject replaced, as
        // the reference does; such a question is a second_attribute tuple.
        var stream = new QaStream(Data.Value.Db, Data.Value.Tok, splits,
            new QaStreamOptions([1, 2], SeqLen: 96, BatchSize: 4, Seed: 7, Mode: EvalMode.TrainTwohop, Subject: heldOut), Loaded.Value.Cache);
        stream.Next();
        Assert.NotEmpty(stream.LastQuestions);
        Assert.All(stream.LastQuestions, g =>
        {
            Assert.Equal(heldOut, g.Question.Subject);
            Assert.Equal(HeldOutSplits.TupleClass.SecondAttributes, splits.ClassOf(g.Question.Profile, g.Question.Relation, heldOut));
        });
        var bad = Assert.Throws<UserInputException>(() => new QaStream(Data.Value.Db, Data.Value.Tok, splits,
            new QaStreamOptions([1, 2], SeqLen: 96, BatchSize: 4, Mode: EvalMode.TrainTwohop, Subject: subjects), Loaded.Value.Cache));
        Assert.Contains($"subject {subjects}", bad.Message);
    }

    [Fact]
    public void Reevaluation_picks_evenly_spaced_checkpoints_writes_subjectwise_rows_and_histograms_and_resumes()
    {
        // np.linspace(0, n-1, k, dtype=int), as the reference's get_checkpoint_paths
        Assert.Equal([0, 3, 6, 9], Reevaluation.Pick(Enumerable.Range(0, 10).ToArray(), 4));
        Assert.Equal([0, 4, 9], Reevaluation.Pick(Enumerable.Range(0, 10).ToArray(), 3));
        Assert.Equal([0, 1], Reevaluation.Pick([0, 1], 5));
        Assert.Contains("--checkpoints", Assert.Throws<UserInputException>(() => Reevaluation.Pick([1], 0)).Message);

        var results = Path.Combine(dir, "results");
        var runDir = Path.Combine(results, "run");
        string heldOut;
        using (var s = Open(runDir, Every(Run(maxSteps: 6), 2, 4, 6)))
        {
            heldOut = Subjects.Name(s.Splits!.SecondAttributes[0]);
            Train(s);
        }
        Assert.Equal([2L, 4, 6], Reevaluation.CheckpointsOf(runDir).Select(c => c.Step));
        var log = new List<string>();
        var first = Reevaluation.Run(results, 2, Options, evalQuestions: 30, (_, _) => Loaded.Value, log.Add);
        Assert.Equal((runDir, 2, 0, (string?)null), (first.Single().RunDir, first.Single().Evaluated, first.Single().AlreadyDone, first.Single().Error));

        int subjects = Subjects.Count(4);
        var full = File.ReadAllLines(Path.Combine(runDir, EvalResultsCsv.FullFileName));
        foreach (var step in new[] { 2, 6 })
            Assert.Equal(9 * subjects, full.Count(l => l.Split(',')[1] == $"{step}"));
        // histograms: per (step, mode, subject) the counts add up to the questions asked, >= 30 each
        var hist = File.ReadAllLines(Path.Combine(runDir, EvalResultsCsv.HistogramFileName));
        Assert.Equal("global_step,mode,subject,loss_from,loss_to,questions", hist[0]);
        var groups = hist.Skip(1).Select(l => l.Split(',')).GroupBy(c => (c[0], c[1], c[2])).ToArray();
        Assert.Equal(2 * 9 * subjects, groups.Length);
        Assert.Equal(["2", "6"], groups.Select(g => g.Key.Item1).Distinct().Order());
        Assert.All(groups, g => Assert.True(g.Sum(c => long.Parse(c[5])) >= 30));
        Assert.Contains(groups, g => g.Key.Item2 == "train_twohop" && g.Key.Item3 == heldOut);

        // done checkpoints are skipped; one whose histograms are missing (interrupted) is evaluated again
        var again = Reevaluation.Run(results, 2, Options, evalQuestions: 30, (_, _) => Loaded.Value, log.Add).Single();
        Assert.Equal((0, 2), (again.Evaluated, again.AlreadyDone));
        File.WriteAllLines(Path.Combine(runDir, EvalResultsCsv.HistogramFileName), hist.Where(l => !l.StartsWith("6,")));
        var resumed = Reevaluation.Run(results, 2, Options, evalQuestions: 30, (_, _) => Loaded.Value, log.Add).Single();
        Assert.Equal((1, 1), (resumed.Evaluated, resumed.AlreadyDone));
        Assert.Equal(hist.Length, File.ReadAllLines(Path.Combine(runDir, EvalResultsCsv.HistogramFileName)).Length);

        // a damaged checkpoint is a warning naming it; the run's other checkpoints still count
        File.WriteAllLines(Path.Combine(runDir, EvalResultsCsv.HistogramFileName), hist.Where(l => !l.StartsWith("6,")));
        var six = Checkpoints.DirFor(runDir, 6);
        var victim = Directory.GetFiles(six).First(f => Path.GetFileName(f) != "manifest.json");
        File.WriteAllBytes(victim, [1, 2, 3]);
        var damaged = Reevaluation.Run(results, 2, Options, evalQuestions: 30, (_, _) => Loaded.Value, log.Add).Single();
        Assert.Equal((0, 1), (damaged.Evaluated, damaged.AlreadyDone));
        Assert.Contains(six, damaged.Error);
        Assert.Contains(log, l => l.StartsWith("warning: skipped checkpoint") && l.Contains(six));
    }

    /// <summary>
    /// Curriculum: 1-hop only until train_onehop is below the threshold at an eval, then the 2-hop phase; the phase is
    /// checkpointed and a resumed run stays in it. (Threshold raised so the switch happens at the first eval.)
    /// </summary>
    [Fact]
    public void CurriculumSwitchesAtEvalAndSurvivesResume()
    {
        var run = Every(Run(maxSteps: 4) with { Curriculum = true }, 2);
        using (var s = Open(Path.Combine(dir, "default"), run))
        {
            Train(s);
            Assert.False(s.InTwoHopPhase); // 1.0 nats/question is far from reached after 4 steps
        }
        var runDir = Path.Combine(dir, "curr");
        using (var s = Open(runDir, run))
        {
            s.CurriculumThreshold = 1e9;
            Train(s);
            Assert.True(s.InTwoHopPhase);
            Assert.Equal("twohop", s.Core.Extra["curriculum_phase"]);
            Assert.Equal("2", s.Core.Extra["curriculum_switch_step"]);
        }
        using (var s = Open(runDir, run with { MaxSteps = 5 }))
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
        using (var s = Open(Path.Combine(dir, "a"), Every(Run(maxSteps: 8), 4)))
        {
            Train(s);
            straight = Weights(s.Core);
        }
        var b = Path.Combine(dir, "b");
        using (var s = Open(b, Every(Run(maxSteps: 4), 4))) Train(s);
        using (var s = Open(b, Every(Run(maxSteps: 8), 4)))
        {
            Assert.Equal(4, s.Core.Step);
            Assert.NotNull(s.Splits);
            Train(s);
            var resumed = Weights(s.Core);
            foreach (var (name, w) in straight) Assert.Equal(w, resumed[name]);
        }
    }

    /// <summary>
    /// Under leases: epoch 1 trains to step 6 (eval at 3, checkpoints at 3 and 6) into its own files; epoch 2,
    /// recorded to resume from step 3, ignores epoch 1's newer checkpoint and rows, starts its files from the
    /// checkpoint's history and ends bit for bit where epoch 1 ended. A checkpoint that is not the recorded one is
    /// never used (nor anything past the recorded step): the lease falls back to an earlier one, here none, so it
    /// starts fresh; a lease with nothing recorded starts fresh whatever lies in the folder.
    /// </summary>
    [Fact]
    public void LeasedEpochsWriteOwnFilesAndResumeOnlyFromTheRecordedCheckpoint()
    {
        var runDir = Path.Combine(dir, "leased");
        var run = Every(Run(maxSteps: 6), 3);
        var first = new Recorder();
        RunOutcome o1;
        using (var s = Open(runDir, run, epoch: 1)) o1 = Train(s, first);
        Assert.Equal([3L, 6L], first.Checkpoints.Select(c => c.Step));
        Assert.All(first.Checkpoints, c => Assert.Equal(1, c.Epoch));
        Assert.True(Directory.Exists(Path.Combine(runDir, "checkpoints", "step_6.e1")));
        Assert.False(File.Exists(Path.Combine(runDir, EvalResultsCsv.FileName)));
        var e1 = File.ReadAllText(Path.Combine(runDir, "eval_results.e1.csv"));
        Assert.Equal(FileHash.Sha256(Path.Combine(runDir, "eval_results.e1.csv")), o1.ResultsSha256);

        var atThree = first.Checkpoints[0];
        var wrong = atThree with { Sha256 = new string('0', 64) };
        var warnings = new List<string>();
        using (var s = Open(runDir, run, epoch: 2, recorded: wrong, warn: warnings.Add)) Assert.Equal(0, s.Core.Step);
        Assert.Contains(warnings, w => w.Contains("not the one recorded", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Contains("starts again from step 0", StringComparison.Ordinal));

        using (var s = Open(runDir, run, epoch: 3, recorded: atThree))
        {
            Assert.Equal(3, s.Core.Step);
            // this epoch's eval file starts as the checkpoint's history: rows up to step 3 only
            Assert.DoesNotContain(File.ReadAllLines(Path.Combine(runDir, "eval_results.e3.csv")), l => l.Contains(",6,"));
            var o3 = Train(s);
            Assert.Equal((RunEnd.Completed, 6L), (o3.End, o3.Step));
        }
        Assert.Equal(e1, File.ReadAllText(Path.Combine(runDir, "eval_results.e3.csv")));
        var progress = File.ReadAllLines(Path.Combine(runDir, "progress.e3.csv")).Skip(1).Select(l => l.Split(',')).ToList();
        Assert.Equal(["3", "start", "3"], progress[0][..3]);
        Assert.Equal("4", progress.First(p => p[1] == "step")[2]);

        using (var s = Open(runDir, run, epoch: 4, recorded: null)) Assert.Equal(0, s.Core.Step);
    }

    /// <summary>
    /// A fresh journal (the old one lost or replaced) counts epochs from 1 again, so a lease can find files with its
    /// own epoch's names from the run's earlier life. They are moved to stale/, never written over or mixed in:
    /// before this, pruning "its" old checkpoints deleted the one the new lease had just written.
    /// </summary>
    [Fact]
    public void A_lease_whose_epoch_names_are_taken_by_a_lost_journals_files_moves_them_aside()
    {
        var runDir = Path.Combine(dir, "reused-epoch");
        var run = Every(Run(maxSteps: 6), 3) with { CheckpointEvery = 2, KeepLast = 1 };
        using (var s = Open(runDir, run, epoch: 1)) Train(s);
        string[] Names(string root) => Directory.GetFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f)).Where(f => !f.Contains("step_") || f.Count(c => c == '/') <= 1).Order(StringComparer.Ordinal).ToArray();
        var oldLife = Names(runDir);
        Assert.Contains(Path.Combine("checkpoints", "step_6.e1"), oldLife);
        var oldResults = File.ReadAllText(Path.Combine(runDir, "eval_results.e1.csv"));
        // another epoch's files that merely end in "1" are not this epoch's
        File.WriteAllText(Path.Combine(runDir, "eval_results.e11.csv"), "e11");
        Directory.CreateDirectory(Path.Combine(runDir, "checkpoints", "step_4.e11"));

        var warnings = new List<string>();
        var recorder = new Recorder();
        RunOutcome outcome;
        using (var s = Open(runDir, run, epoch: 1, warn: warnings.Add)) outcome = Train(s, recorder);
        Assert.Equal((RunEnd.Completed, 6L), (outcome.End, outcome.Step));
        Assert.Equal([2L, 3L, 4L, 6L], recorder.Checkpoints.Select(c => c.Step));
        var moved = Assert.Single(Directory.GetDirectories(Path.Combine(runDir, "stale")));
        Assert.StartsWith("e1.", Path.GetFileName(moved));
        Assert.Contains(warnings, w => w.Contains(moved, StringComparison.Ordinal));
        // everything of the old life is in stale/ under its own name, nothing else is
        Assert.Equal(oldLife.Where(f => f != "run.json"), Names(moved));
        Assert.Equal(oldResults, File.ReadAllText(Path.Combine(moved, "eval_results.e1.csv")));
        Assert.Equal("e11", File.ReadAllText(Path.Combine(runDir, "eval_results.e11.csv")));
        Assert.True(Directory.Exists(Path.Combine(runDir, "checkpoints", "step_4.e11")));
        // the new life's last checkpoint is the one its lease recorded
        Assert.Equal(recorder.Checkpoints[^1].Sha256, Checkpoints.ManifestSha256(Path.Combine(runDir, "checkpoints", "step_6.e1")));
    }

    /// <summary>
    /// The recorded checkpoint damaged (its weights' bytes changed), deleted, or replaced by another run's: the lease
    /// resumes from the newest earlier checkpoint of this run that verifies, with a warning, and ends bit for bit
    /// where an undamaged run ends. A checkpoint trained with other settings is never skipped: that is an error.
    /// </summary>
    [Fact]
    public void A_damaged_recorded_checkpoint_falls_back_to_an_earlier_one_and_ends_the_same()
    {
        var runDir = Path.Combine(dir, "fallback");
        var run = Every(Run(maxSteps: 6), 3);
        var first = new Recorder();
        using (var s = Open(runDir, run, epoch: 1)) Train(s, first);
        var e1 = File.ReadAllText(Path.Combine(runDir, "eval_results.e1.csv"));
        var atSix = first.Checkpoints[1];
        Assert.Equal(6, atSix.Step);
        var six = Path.Combine(runDir, "checkpoints", "step_6.e1");
        var weights = Path.Combine(six, "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        bytes[^10] ^= 0x5A;
        File.WriteAllBytes(weights, bytes);

        var warnings = new List<string>();
        using (var s = Open(runDir, run with { MaxSteps = 6 }, epoch: 2, recorded: atSix, warn: warnings.Add))
        {
            Assert.Equal(3, s.Core.Step);
            Train(s);
        }
        Assert.Contains(warnings, w => w.Contains("step_6.e1", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Contains("resumes from step_3.e1 (step 3) instead of the recorded step 6", StringComparison.Ordinal));
        Assert.Equal(e1, File.ReadAllText(Path.Combine(runDir, "eval_results.e2.csv")));

        // gone altogether: the same fallback
        Directory.Delete(six, true);
        using (var s = Open(runDir, run, epoch: 3, recorded: atSix)) Assert.Equal(3, s.Core.Step);

        // changed settings are the user's doing, not damage: refused, not skipped
        var changed = Assert.Throws<SettingsChangedException>(() => Open(runDir, run with { BatchSize = run.BatchSize * 2 }, epoch: 4, recorded: first.Checkpoints[0]));
        Assert.Contains("batch_size", changed.Message);
    }

    /// <summary>A suspend agreed during the run ends it after that step with a checkpoint there.</summary>
    [Fact]
    public void A_suspend_ends_the_run_at_the_next_step_with_a_checkpoint()
    {
        using var s = Open(Path.Combine(dir, "suspend"), Every(Run(maxSteps: 50), 40));
        var observer = new SuspendAt(s, 5);
        using var feed = s.OpenPrefetcher();
        var outcome = s.Run(feed, observer);
        Assert.Equal((RunEnd.Suspended, 5L), (outcome.End, outcome.Step));
        Assert.Equal(5, outcome.LastCheckpoint!.Step);
        Assert.True(Directory.Exists(Path.Combine(dir, "suspend", "checkpoints", "step_5")));
    }

    sealed class SuspendAt(RunSession session, long step) : IRunObserver
    {
        public void Stepped(TrainProgress progress)
        {
            if (progress.Last.Step == step) session.Group.RequestStop(RunStop.Suspend);
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
        using var s = Open(runDir, Run(maxSteps: 3));
        Train(s);
        var (ckpt, _) = s.Core.SaveCheckpoint();
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

    [Fact]
    public void A_run_writes_tensorboard_events_with_train_and_eval_scalars()
    {
        var runDir = Path.Combine(dir, "tb");
        var recorder = new Recorder();
        using (var s = Open(runDir, Every(Run(maxSteps: 20), 10), epoch: 3))
            Train(s, recorder);
        var folder = new RunFolder(runDir, 3);
        var file = Assert.Single(Directory.GetFiles(folder.TensorBoard));
        Assert.EndsWith(".e3", file);
        var scalars = TensorBoardEvents.Read(folder.TensorBoard);
        // train scalars every 10 steps, equal to progress.csv's rows
        var train = scalars.Where(x => x.Tag == "train/loss_nats_per_token").ToList();
        Assert.Equal([10L, 20L], train.Select(x => x.Step));
        var rows = File.ReadAllLines(folder.Progress).Skip(1).Select(l => l.Split(',')).Where(c => c[1] == "step").ToDictionary(c => long.Parse(c[2]), c => double.Parse(c[3], System.Globalization.CultureInfo.InvariantCulture));
        Assert.All(train, x => Assert.Equal((float)rows[x.Step], x.Value));
        Assert.Equal(2, scalars.Count(x => x.Tag == "train/lr"));
        // every eval mode of every eval, as nats per question, and the parameter norm
        Assert.Equal(recorder.Reports.Select(r => r.Step).Distinct(), scalars.Where(x => x.Tag == "model/parameter_l2").Select(x => x.Step));
        foreach (var report in recorder.Reports)
        foreach (var m in report.Modes)
            Assert.Equal((float)m.Loss, scalars.Single(x => x.Tag == $"eval/{m.Mode.Name()}_nats_per_question" && x.Step == report.Step).Value);
        Assert.Equal(9, scalars.Select(x => x.Tag).Count(t => t.StartsWith("eval/")) / recorder.Reports.Count);
    }
}
