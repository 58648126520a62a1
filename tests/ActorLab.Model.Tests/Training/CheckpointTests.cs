using ActorLab.Model.Common;
using ActorLab.Model.Qa;
using ActorLab.Model.Training;
using TorchSharp;

namespace ActorLab.Model.Tests.Training;

[Collection(TorchGlobalRng.Name)]
public class CheckpointTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("actorlab-ckpt-").FullName;
    readonly SyntheticFacts facts = new(facts: 20, answerVocab: 8, answerLen: 2, seed: 1);
    public void Dispose() => Directory.Delete(dir, true);

    TrainerOptions Options(List<string>? warnings = null) => new()
    {
        VocabSize = facts.VocabSize,
        Threads = 1,
        Warn = w => warnings?.Add(w),
    };

    static Dictionary<string, float[]> Weights(TrainerCore core) =>
        core.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter.data<float>().ToArray());

    void Train(TrainerCore core, long steps, bool evalAtEnd)
    {
        for (long i = 0; i < steps; i++)
            core.TrainStep(facts.Batch(4, 16, seed: 11, index: core.StreamPosition));
        if (evalAtEnd) core.Evaluate(_ => facts.Stream(4, 16, seed: 3), [EvalMode.TrainOnehop]);
    }

    /// <summary>N steps straight == N/2, checkpoint, reopen from disk, N/2: bitwise, for both optimiser families.</summary>
    [Theory]
    [InlineData("schedulefree")]
    [InlineData("adamw_cosine")]
    public void ResumeIsBitwiseExact(string optimizer)
    {
        var run = SyntheticFacts.Run(width: 32, layers: 2, optimizer: optimizer, lr: 3e-3, wd: 0.1, maxSteps: 12) with { SeqLen = 16 };
        Dictionary<string, float[]> straight;
        using (var core = TrainerCore.Create(run, Path.Combine(dir, "a"), Options()))
        {
            Train(core, 6, evalAtEnd: true);
            Train(core, 6, evalAtEnd: false);
            straight = Weights(core);
        }
        var resumedDir = Path.Combine(dir, "b");
        using (var core = TrainerCore.Create(run, resumedDir, Options()))
        {
            Train(core, 6, evalAtEnd: true);
            core.SaveCheckpoint();
        }
        using (var core = TrainerCore.Create(run, resumedDir, Options()))
        {
            Assert.Equal(6, core.Step);
            Assert.Equal(6, core.StreamPosition);
            Train(core, 6, evalAtEnd: false);
            var resumed = Weights(core);
            Assert.Equal(straight.Keys, resumed.Keys);
            foreach (var (name, w) in straight) Assert.Equal(w, resumed[name]);
        }
    }

    [Fact]
    public void CorruptLatestCheckpointFallsBackToPreviousWithWarning()
    {
        var run = SyntheticFacts.Run(width: 16, layers: 1) with { SeqLen = 16 };
        var runDir = Path.Combine(dir, "run");
        using (var core = TrainerCore.Create(run, runDir, Options()))
        {
            Train(core, 2, false);
            core.Attachments["splits.bin"] = [1, 2, 3];
            core.Extra["curriculum"] = "onehop";
            core.SaveCheckpoint();
            Train(core, 2, false);
            var latest = core.SaveCheckpoint().Dir;
            var model = Path.Combine(latest, "model.safetensors");
            var bytes = File.ReadAllBytes(model);
            bytes[^5] ^= 0x40;
            File.WriteAllBytes(model, bytes);
        }
        var ex = Assert.Throws<UserInputException>(() => Checkpoints.Read(Checkpoints.DirFor(runDir, 4)));
        Assert.Contains("model.safetensors", ex.Message);
        Assert.Contains("SHA-256", ex.Message);

        var warnings = new List<string>();
        using (var core = TrainerCore.Create(run, runDir, Options(warnings)))
        {
            Assert.Equal(2, core.Step);
            Assert.Equal(new byte[] { 1, 2, 3 }, core.Attachments["splits.bin"]);
            Assert.Equal("onehop", core.Extra["curriculum"]);
            Assert.EndsWith("step_2", core.ResumedFrom);
        }
        Assert.Single(warnings);
        Assert.Contains("step_4", warnings[0]);
        Assert.Contains("falling back", warnings[0]);
    }

    [Fact]
    public void IncompleteCheckpointWithoutManifestIsSkipped()
    {
        var run = SyntheticFacts.Run(width: 16, layers: 1) with { SeqLen = 16 };
        var runDir = Path.Combine(dir, "run");
        using (var core = TrainerCore.Create(run, runDir, Options()))
        {
            Train(core, 1, false);
            core.SaveCheckpoint();
            Train(core, 1, false);
            File.Delete(Path.Combine(core.SaveCheckpoint().Dir, "manifest.json"));
        }
        var warnings = new List<string>();
        using var resumed = TrainerCore.Create(run, runDir, Options(warnings));
        Assert.Equal(1, resumed.Step);
        Assert.Contains("incomplete", warnings.Single());
    }

    [Fact]
    public void NewRunRefusesDirectoryWithCheckpointsUnlessResuming()
    {
        var run = SyntheticFacts.Run(width: 16, layers: 1) with { SeqLen = 16 };
        var runDir = Path.Combine(dir, "run");
        using (var core = TrainerCore.Create(run, runDir, Options())) { Train(core, 1, false); core.SaveCheckpoint(); }
        var ex = Assert.Throws<UserInputException>(() => TrainerCore.Create(run, runDir, Options() with { Resume = false }));
        Assert.Contains(runDir, ex.Message);
    }

    /// <summary>
    /// A checkpoint records whose it is (run id, config hash, epoch); resume refuses another run's checkpoint copied
    /// into the folder, and a changed batch size or sequence length, naming what changed. How long to train may change.
    /// </summary>
    [Fact]
    public void Resume_refuses_a_foreign_checkpoint_and_changed_training_settings()
    {
        var run = SyntheticFacts.Run(width: 32, layers: 2, maxSteps: 4) with { SeqLen = 16 };
        var runDir = Path.Combine(dir, run.RunName);
        string saved;
        using (var core = TrainerCore.Create(run, runDir, Options())) { Train(core, 2, false); saved = core.SaveCheckpoint(epoch: 7).Dir; }
        var meta = Checkpoints.Read(saved);
        using (meta)
        {
            Assert.Equal(run.RunId, meta.Meta.RunId);
            Assert.Equal(run.ConfigHash(), meta.Meta.ConfigHash);
            Assert.Equal(7, meta.Meta.Epoch);
        }

        var batch = Assert.Throws<SettingsChangedException>(() => TrainerCore.Create(run with { BatchSize = run.BatchSize * 2 }, runDir, Options()));
        Assert.Contains($"batch_size {run.BatchSize} -> {run.BatchSize * 2}", batch.Message);
        var seq = Assert.Throws<SettingsChangedException>(() => TrainerCore.Create(run with { SeqLen = 32 }, runDir, Options()));
        Assert.Contains("seq_len 16 -> 32", seq.Message);

        // another run's checkpoint copied into this run's folder, its manifest intact
        var other = run with { RunName = "other_run" };
        var otherDir = Path.Combine(dir, "other_run", Checkpoints.Folder);
        Directory.CreateDirectory(otherDir);
        var copy = Path.Combine(otherDir, Path.GetFileName(saved));
        Directory.CreateDirectory(copy);
        foreach (var f in Directory.GetFiles(saved)) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        var foreign = Assert.Throws<UserInputException>(() => TrainerCore.Create(other, Path.Combine(dir, "other_run"), Options()));
        Assert.Contains($"belongs to run '{run.RunId}', not to 'other_run'", foreign.Message);

        // more steps is the same run
        using var longer = TrainerCore.Create(run with { MaxSteps = 10 }, runDir, Options());
        Assert.Equal(2, longer.Step);
    }

    [Fact]
    public void PruneKeepsLastKAndScheduledCheckpoints()
    {
        var run = SyntheticFacts.Run(width: 16, layers: 1) with { SeqLen = 16 };
        var runDir = Path.Combine(dir, "run");
        using var core = TrainerCore.Create(run with { KeepLast = 2, EvalSchedule = CheckpointSchedule.Explicit([2]) }, runDir, Options());
        for (int i = 0; i < 5; i++) { Train(core, 1, false); core.SaveCheckpoint(); }
        Assert.Equal(new long[] { 2, 4, 5 }, Checkpoints.List(runDir).Select(c => c.Step));
        Assert.DoesNotContain(Directory.GetDirectories(Path.Combine(runDir, "checkpoints")), d => Path.GetFileName(d).StartsWith('.'));
    }

    [Fact]
    public void ReferenceScheduleIsLogSpacedThenEvery100k()
    {
        var s = CheckpointSchedule.Reference;
        Assert.Equal(new long[] { 100, 215, 464, 1000, 2154, 4641, 10000, 21544, 46415, 100000 }, s.Steps);
        Assert.True(s.IsDue(100001));
        Assert.True(s.IsDue(300001));
        Assert.False(s.IsDue(200000));
        Assert.False(s.IsDue(101));
        Assert.Equal(new long[] { 10, 31, 100 }, CheckpointSchedule.Parse("log:10:100:3").Steps);
        Assert.Equal(new long[] { 5, 50 }, CheckpointSchedule.Parse("5, 50").Steps);
        Assert.Throws<UserInputException>(() => CheckpointSchedule.Parse("log:a:b"));
    }

    [Theory]
    [InlineData("50,5", "steps must increase")]
    [InlineData("5,5", "steps must increase")]
    [InlineData("-1", "not positive")]
    [InlineData("0,10", "not positive")]
    [InlineData("1,,2", "'' is not a whole number")]
    [InlineData("1e3", "'1e3' is not a whole number")]
    [InlineData("log:100:10:5", "1 <= FIRST <= LAST")]
    [InlineData("log:1:100:1000000000", "COUNT must be in 1..100000")]
    [InlineData("log:1:100:5:-1", "EVERY must be >= 0")]
    public void Schedules_that_would_not_mean_what_they_say_are_refused(string text, string why)
    {
        var e = Assert.Throws<UserInputException>(() => CheckpointSchedule.Parse(text));
        Assert.Contains($"--checkpoint-steps '{text}'", e.Message);
        Assert.Contains(why, e.Message);
    }
}
