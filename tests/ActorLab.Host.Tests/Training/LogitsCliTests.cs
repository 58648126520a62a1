using ActorLab.Host.Tests.Infrastructure;
using ActorLab.Model.Qa;
using ActorLab.Model.Training;
using static TorchSharp.torch;

namespace ActorLab.Host.Tests.Training;

/// <summary>`actorlab logits`: a checkpoint's eval-point logits on prompt lines, for the bench/gpu interop checks.</summary>
public class LogitsCliTests(TrainCliFixture fx) : IClassFixture<TrainCliFixture>
{
    string TrainedCheckpoint(string name)
    {
        var outDir = Path.Combine(fx.Dir, name);
        var r = ActorLabCli.Run("train", "--profiles", fx.Profiles, "--tokenizer", fx.Tokenizer, "--num-params", "400000", "--layers", "1",
            "--orders", "1", "--batch-size", "2", "--seq-len", "64", "--warmup-steps", "1", "--lr", "0.01", "--eval-questions", "10", "--threads", "1",
            "--checkpoint-steps", "3", "--max-steps", "3", "--out", outDir);
        Assert.True(r.Exit == 0, r.Err);
        return Checkpoints.DirFor(Directory.GetDirectories(outDir).Single(), 3);
    }

    [Fact]
    public void WritesTheCheckpointsEvalPointLogitsForEachPromptLine()
    {
        var ckpt = TrainedCheckpoint("runs-logits");
        var prompts = Path.Combine(fx.Dir, "prompts.txt");
        string[] lines = ["What is the birth city of Anna Lee Smith?", "", "She works at 3M, born 2001-02-03."];
        File.WriteAllLines(prompts, lines);
        var outFile = Path.Combine(fx.Dir, "out", "logits.safetensors");

        var r = ActorLabCli.Run("logits", "--checkpoint", ckpt, "--prompts", prompts, "--out", outFile);
        Assert.True(r.Exit == 0, r.Err);
        Assert.Contains("2 prompts", r.Out);

        var tok = QaTokenizer.Load(fx.Tokenizer);
        var read = Safetensors.Read(outFile, out var meta);
        Assert.Equal(new[] { lines[0], lines[2] }, System.Text.Json.JsonSerializer.Deserialize<string[]>(meta["prompts"]));
        Assert.Equal("3", meta["step"]);
        Assert.Equal(tok.Encode(lines[2]).Select(x => (long)x), read["input_ids.1"].data<long>().ToArray());

        // The same logits as this process computes from the checkpoint at its eval point.
        using var core = TrainerCore.Open(ckpt, new TrainerOptions { VocabSize = tok.VocabSize, Warn = _ => { } });
        var expected = PromptLogits.Compute(core, PromptLogits.Tokenize(lines, tok));
        Assert.Equal(new long[] { tok.Encode(lines[0]).Length, tok.VocabSize }, read["logits.0"].shape);
        for (int i = 0; i < 2; i++)
            Assert.True(read[$"logits.{i}"].allclose(expected[i], rtol: 1e-5, atol: 1e-6), $"prompt {i} differs");
        foreach (var t in read.Values.Concat(expected)) t.Dispose();
    }

    [Fact]
    public void BadInputExitsTwoNamingTheCulprit()
    {
        var ckpt = TrainedCheckpoint("runs-logits-bad");
        var empty = Path.Combine(fx.Dir, "empty-prompts.txt");
        File.WriteAllText(empty, "\n\n");
        var outFile = Path.Combine(fx.Dir, "bad-logits.safetensors");

        var noPrompts = ActorLabCli.Run("logits", "--checkpoint", ckpt, "--prompts", Path.Combine(fx.Dir, "nope.txt"), "--out", outFile);
        Assert.Equal(2, noPrompts.Exit);
        Assert.Contains("nope.txt", noPrompts.Err);

        var none = ActorLabCli.Run("logits", "--checkpoint", ckpt, "--prompts", empty, "--out", outFile);
        Assert.Equal(2, none.Exit);
        Assert.Contains("no prompts", none.Err);

        var cuda = ActorLabCli.Run("logits", "--checkpoint", ckpt, "--prompts", empty, "--out", outFile, "--amp", "bf16");
        Assert.Equal(2, cuda.Exit);
        Assert.Contains("--amp", cuda.Err);

        var noCkpt = ActorLabCli.Run("logits", "--checkpoint", Path.Combine(fx.Dir, "no-such-checkpoint"), "--prompts", empty, "--out", outFile);
        Assert.Equal(2, noCkpt.Exit);
        Assert.Contains("no-such-checkpoint", noCkpt.Err);
        Assert.False(File.Exists(outFile));
    }
}
