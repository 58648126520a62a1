using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Storage;
using ActorLab.Model.Tests.Qa;
using ActorLab.Model.Training;
using static TorchSharp.torch;

namespace ActorLab.Model.Tests.Training;

/// <summary>Logits on prompts for cross-framework checks: the eval point, the trainer left untouched, the file format.</summary>
public class PromptLogitsTests : IDisposable
{
    static readonly Lazy<(ProfileDatabase Db, QaTokenizer Tok)> Data = new(() =>
    {
        var db = TestProfiles.Create(200, relations: 2, seed: 5);
        return (db, TestProfiles.Tokenizer(db, vocabSize: 400));
    });

    readonly string dir = Directory.CreateTempSubdirectory("actorlab-logits-").FullName;
    public void Dispose() => Directory.Delete(dir, true);

    RunSession TrainedSession()
    {
        var run = new RunConfig
        {
            RunName = "logits-test", Profiles = "test", Tokenizer = "test", NProfiles = Data.Value.Db.Count, Relations = 2,
            NParams = 0, ParamBudget = 320000L + 12L * 32 * 32 + 1, Layers = 1, MinOrder = 1, MaxOrder = 1,
            Lr = 1e-2, BatchSize = 4, SeqLen = 64, MaxSteps = 5, Seed = 2,
            WarmupSteps = 1, EvalQuestions = 10, EvalSchedule = CheckpointSchedule.Explicit([100]),
        };
        var options = new TrainerOptions { VocabSize = Data.Value.Tok.VocabSize, Threads = 1, Warn = _ => { } };
        var data = new LoadedDataset(Data.Value.Db, Data.Value.Tok, new QaTokenCache(Data.Value.Db, Data.Value.Tok));
        var s = RunSession.Open(run, new RunFolder(Path.Combine(dir, "run"), null), data, options);
        using var feed = s.OpenPrefetcher();
        s.Run(feed);
        return s;
    }

    static readonly string[] Lines =
    [
        "What is the birth city of " + "Aaron Kai Smith?",
        "",
        "Zoë Müller was born on 1999-12-28 in São Paulo.",
    ];

    [Fact]
    public void LogitsAreTheEvalPointsAndTheTrainerKeepsItsParameters()
    {
        using var s = TrainedSession();
        var core = s.Core;
        var prompts = PromptLogits.Tokenize(Lines, Data.Value.Tok);
        Assert.Equal(2, prompts.Count); // the empty line is skipped
        Assert.Equal(Data.Value.Tok.Encode(Lines[2]).Select(x => (long)x), prompts[1].InputIds);

        var before = core.Model.parameters().Select(p => p.detach().clone()).ToArray();
        var logits = PromptLogits.Compute(core, prompts);
        var after = core.Model.parameters().ToArray();
        for (int i = 0; i < before.Length; i++) Assert.True(before[i].equal(after[i]).all().item<bool>(), "training parameters changed");

        using var ids = tensor(prompts[1].InputIds, [1, prompts[1].InputIds.Length]);
        using var noGrad = no_grad();
        using var atY = core.Model.forward(ids)[0];
        core.Optimizer.Eval();
        using var atX = core.Model.forward(ids)[0];
        core.Optimizer.Train();

        Assert.Equal(new long[] { prompts[1].InputIds.Length, Data.Value.Tok.VocabSize }, logits[1].shape);
        Assert.True(logits[1].allclose(atX, rtol: 1e-5, atol: 1e-6), $"max diff {(logits[1] - atX).abs().max().item<float>()}");
        // Schedule-free: after 5 steps y and x differ, so the file really is the eval point, not the training point.
        Assert.True((atX - atY).abs().max().item<float>() > 1e-4);
        foreach (var t in logits.Concat(before)) t.Dispose();
    }

    [Fact]
    public void SaveWritesIdsLogitsAndPromptTexts()
    {
        using var s = TrainedSession();
        var prompts = PromptLogits.Tokenize(Lines, Data.Value.Tok);
        var logits = PromptLogits.Compute(s.Core, prompts);
        var path = Path.Combine(dir, "logits.safetensors");
        PromptLogits.Save(path, prompts, logits, s.Core.Step, Data.Value.Tok.VocabSize);

        var read = Safetensors.Read(path, out var meta);
        Assert.Equal(new[] { Lines[0], Lines[2] }, System.Text.Json.JsonSerializer.Deserialize<string[]>(meta["prompts"]));
        Assert.Equal("5", meta["step"]);
        Assert.Equal($"{Data.Value.Tok.VocabSize}", meta["vocab_size"]);
        Assert.Equal(4, read.Count);
        Assert.Equal(prompts[0].InputIds, read["input_ids.0"].data<long>().ToArray());
        Assert.True(read["logits.1"].equal(logits[1]).all().item<bool>());
        foreach (var t in read.Values.Concat(logits)) t.Dispose();
    }

    [Fact]
    public void NoPromptsOrTooManyLogitsAreRefusedBeforeAnyWork()
    {
        Assert.Contains("no prompts", Assert.Throws<UserInputException>(() => PromptLogits.Tokenize(["", ""], Data.Value.Tok)).Message);
        using var s = TrainedSession();
        var huge = new PromptLogits.Prompt("x", new long[PromptLogits.MaxLogits / Data.Value.Tok.VocabSize + 1]);
        var e = Assert.Throws<UserInputException>(() => PromptLogits.Compute(s.Core, [huge]));
        Assert.Contains("limit", e.Message);
    }
}
