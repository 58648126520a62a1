using ActorLab.Model.Common;
using ActorLab.Model.Qa;
using ActorLab.Model.Storage;
using ActorLab.Model.Tests.Qa;
using ActorLab.Model.Training;
using ActorLab.Model.Transformer;
using static TorchSharp.torch;

namespace ActorLab.Model.Tests.Training;

/// <summary>What stops a run before or while it goes wrong: the memory estimate, the RNG state check, a diverged loss.</summary>
[Collection(TorchGlobalRng.Name)]
public class RunGuardsTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("actorlab-guards-").FullName;
    public void Dispose() => Directory.Delete(dir, true);

    [Fact]
    public void Memory_estimate_counts_weights_gradients_and_optimizer_exactly_and_activations_per_token()
    {
        var cfg = LlamaMupConfig.FromBudget(400_000, 2, 500, 128);
        var e = MemoryEstimate.ForTraining(cfg, batchSize: 4, seqLen: 128);
        Assert.Equal(2 * 4 * cfg.ParameterCount, e.ParameterBytes);
        Assert.Equal(2 * 4 * cfg.ParameterCount, e.OptimizerBytes);
        var twice = MemoryEstimate.ForTraining(cfg, batchSize: 8, seqLen: 128);
        Assert.Equal(2 * e.ActivationBytes, twice.ActivationBytes, tolerance: 1);
        Assert.Equal(e.ParameterBytes, twice.ParameterBytes);
        // a small run fits; the same model with 65536 x 65536 tokens does not, and the message says why
        e.CheckFits("cpu", "small");
        var huge = MemoryEstimate.ForTraining(cfg, 65536, 65536);
        var error = Assert.Throws<UserInputException>(() => huge.CheckFits("cpu", "--batch-size 65536 x --seq-len 65536"));
        Assert.Contains("--batch-size 65536 x --seq-len 65536 needs about", error.Message);
        Assert.Contains("PiB", error.Message);
        Assert.Equal(long.MaxValue, MemoryEstimate.ForTraining(cfg with { Width = 1 << 20 }, int.MaxValue, int.MaxValue).TotalBytes);
    }

    [Fact]
    public void The_real_rng_state_passes_and_damaged_ones_are_refused_before_torch_sees_them()
    {
        using var state = get_rng_state();
        var good = Convert.ToBase64String(state.bytes.ToArray());
        Assert.Null(RngState.Problem(good, out _));
        Assert.Contains("missing", RngState.Problem("", out _));
        Assert.Contains("base64", RngState.Problem("not base64!", out _));
        Assert.Contains("bytes", RngState.Problem(Convert.ToBase64String(new byte[100]), out _));
        var bytes = Convert.FromBase64String(good);
        BitConverter.GetBytes(100_000).CopyTo(bytes, 8); // `left` outside 1..624
        Assert.Contains("Mersenne Twister", RngState.Problem(Convert.ToBase64String(bytes), out _));
        // refused before torch is called: the process's generator is left as it was (exact restore of a valid state
        // is CheckpointTests.ResumeIsBitwiseExact; this test must not move the generator other tests share)
        var e = Assert.Throws<UserInputException>(() => RngState.Restore(Convert.ToBase64String(bytes), "run"));
        Assert.Contains("checkpoint of 'run': the RNG state is not a valid Mersenne Twister state", e.Message);
        using var after = get_rng_state();
        Assert.Equal(state.bytes.ToArray(), after.bytes.ToArray());
    }

    [Fact]
    public void A_loss_that_turns_NaN_stops_the_run_with_an_error()
    {
        var db = TestProfiles.Create(40, relations: 2, seed: 1);
        var tok = TestProfiles.Tokenizer(db, vocabSize: 400);
        var run = new RunConfig
        {
            RunName = "nan", Profiles = "p", Tokenizer = "t", NProfiles = db.Count, Relations = 2, NParams = 0,
            ParamBudget = 400_000, Layers = 1, MinOrder = 1, MaxOrder = 1, BatchSize = 2, SeqLen = 128, MaxSteps = 10, Lr = 1e-3,
            WarmupSteps = 0, EvalQuestions = 5,
        };
        var options = new TrainerOptions { VocabSize = tok.VocabSize, Threads = 1, Warn = _ => { } };
        var data = new LoadedDataset(db, tok, new QaTokenCache(db, tok));
        using var session = RunSession.Open(run, new RunFolder(Path.Combine(dir, "run"), null), data, options);
        using var feed = session.OpenPrefetcher();
        var ok = session.Core.TrainStep(feed.Take(default));
        Assert.True(double.IsFinite(ok.Loss));
        using (no_grad()) session.Core.Model.lm_head.weight!.fill_(float.NaN); // what a far too large step leaves behind
        var e = Assert.Throws<UserInputException>(() => session.Run(feed));
        Assert.Contains("training diverged at step 2: the loss is NaN", e.Message);
        Assert.Equal(1, session.Core.Step);
    }

    [Theory]
    [InlineData(double.PositiveInfinity, 0.999, "--lr")]
    [InlineData(1e30, 0.999, "--lr")]
    [InlineData(1e-3, 1.5, "--beta2")]
    [InlineData(1e-3, 0, "--beta2")]
    public void Run_limits_refuse_what_would_train_to_nonsense(double lr, double beta2, string flag)
    {
        var run = new RunConfig
        {
            RunName = "x", Profiles = "p", Tokenizer = "t", NProfiles = 10, Relations = 1, NParams = 0,
            ParamBudget = 400_000, Layers = 1, MinOrder = 1, MaxOrder = 1, Lr = lr, Beta2 = beta2, MaxSteps = 1,
        };
        var e = Assert.Throws<UserInputException>(() => TrainerCore.Create(run, Path.Combine(dir, "never"), new TrainerOptions { VocabSize = 400 }));
        Assert.StartsWith(flag, e.Message);
        Assert.False(Directory.Exists(Path.Combine(dir, "never")));
    }
}

/// <summary>
/// Tests that seed torch's process-wide generator and compare what follows (bitwise resume) must not run beside tests
/// that seed or draw from it too: a TrainerCore seeds it when it builds its model.
/// </summary>
[CollectionDefinition(Name)]
public sealed class TorchGlobalRng
{
    public const string Name = "torch global RNG";
}
