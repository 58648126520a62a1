using ActorLab.Model.Common;
using ActorLab.Model.Probes;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Transformer;
using TorchSharp;

namespace ActorLab.Model.Tests.Probes;

// torch.manual_seed and TrainerCore seed the process-wide generator: not alongside other tests that do
[Collection(ActorLab.Model.Tests.Training.TorchGlobalRng.Name)]
public class ReferenceCaptureTests
{
    static readonly ProfileDatabase Db = ProfileGenerator.Generate(new ProfileGeneratorConfig(30, 6, Seed: 2), ValueLists.Default);
    static readonly QaTokenizer Tok = QaTokenizer.Train(QaCorpus.Texts(Db, 1), 400);

    static int[] Encode(string text) => Tok.Encode(text);

    [Fact]
    public void PositionsAreFoundInsideAHandBuiltPackedSequence()
    {
        var questions = new ProbeQuestions(Db, Tok);
        Question[] qs = [new(3, 1, 2, EvalMode.TrainTwohop), new(7, 3, 4 + 0, EvalMode.TrainTwohop), new(11, 0, 1, EvalMode.TrainTwohop)];
        // BOS + "Question: ... Answer: {answer}" joined by EOS, written out by hand from the question text.
        var row = new List<long>();
        var answerStarts = new List<int>();
        foreach (var q in qs)
        {
            row.Add(Tok.EosId);
            row.AddRange(Encode("Question: " + Questions.QuestionText(Db, q) + " Answer:").Select(t => (long)t));
            answerStarts.Add(row.Count);
            row.AddRange(Encode(" " + Questions.AnswerText(Db, q, cot: false)).Select(t => (long)t));
        }
        var seq = row.ToArray();
        for (int i = 0; i < qs.Length; i++)
        {
            var q = qs[i];
            var at = ReferenceCapture.Locate(questions, seq, 0, q, answerStarts[i]);
            var name = Encode(" " + Db.Names[q.Profile]);
            Assert.Equal(name[0], seq[at.NameFirst]);
            Assert.Equal(name[1], seq[at.NameSecond]);
            Assert.Equal(at.NameFirst + 1, at.NameSecond);
            Assert.Equal(Encode(" " + Questions.RelationText(q.Relation))[0], seq[at.RelationFirst]);
            Assert.Equal(Encode(" " + Questions.SubjectText(q.Subject))[0], seq[at.SubjectFirst]);
            Assert.Equal(answerStarts[i] - 1, at.Last);
            // The name follows "Question: What was" of this question, not of another one in the row.
            Assert.Equal(Encode(" was")[^1], seq[at.NameFirst - 1]);
            Assert.True(at.NameFirst > (i == 0 ? 0 : answerStarts[i - 1]));
            var bridge = Db.Related(q.Relation, q.Profile);
            Assert.Equal(Encode(" " + Db.Names[bridge])[0], at.BridgeToken);
        }
        // A question that is not where its answer says is a bug, not a silent wrong read.
        Assert.Throws<InvalidOperationException>(() => ReferenceCapture.Locate(questions, seq, 0, qs[1], answerStarts[0]));
    }

    [Fact]
    public void EveryQuestionOfARealStreamIsLocated()
    {
        var splits = HeldOutSplits.Build(Db, 1);
        var cache = new QaTokenCache(Db, Tok);
        var questions = new ProbeQuestions(Db, Tok, cache);
        var stream = new QaStream(Db, Tok, splits, new QaStreamOptions([2], SeqLen: 256, BatchSize: 4, Seed: 5, Mode: EvalMode.TrainTwohop), cache);
        var batch = stream.Next();
        int located = 0;
        foreach (var g in stream.LastQuestions.Where(g => g.InfoIndex >= 0))
        {
            var at = ReferenceCapture.Locate(questions, batch.InputIds.AsSpan(g.Sequence * 256, 256), g.Sequence, g.Question, batch.Questions[g.InfoIndex].AnswerStart);
            // the answer is labelled, unless the row ends inside it (a truncated final answer carries no labels)
            var label = batch.Labels[g.Sequence * 256 + at.Last + 1];
            Assert.Equal(batch.Questions[g.InfoIndex].Truncated ? TokenBatch.Ignore : batch.InputIds[g.Sequence * 256 + at.Last + 1], label);
            located++;
        }
        Assert.True(located >= 4 * 5, $"{located} questions located");
    }

    [Fact]
    public void TheNinetyFiveFiveSplitIsDeterministicFromTheSeed()
    {
        var a = ReferenceCapture.RandomSplit(1000, 7);
        Assert.Equal(a, ReferenceCapture.RandomSplit(1000, 7));
        Assert.NotEqual(a, ReferenceCapture.RandomSplit(1000, 8));
        Assert.Equal(1000 - 950, a.Count(e => e));
        Assert.Equal(21 - 19, ReferenceCapture.RandomSplit(21, 0).Count(e => e)); // int(0.95 * 21) = 19 train
        Assert.False(a.Skip(950).All(e => e)); // random, not the last 5% as the reference's own slice
        Assert.Throws<UserInputException>(() => ReferenceCapture.RandomSplit(19, 0));
    }

    [Fact]
    public void CaptureReadsTheFirstFourRelationsWithTheBridgeTarget()
    {
        torch.set_num_threads(1);
        torch.manual_seed(1);
        using var model = new LlamaMup(new LlamaMupConfig { VocabSize = Tok.VocabSize, Width = 32, Layers = 2, BaseWidth = 32 });
        model.eval();
        var splits = HeldOutSplits.Build(Db, 1);
        using var set = ReferenceCapture.Capture(model, Db, Tok, splits, new CaptureSpec { Hops = 2, Samples = 60, Seed = 3 }, seqLen: 128, cot: false);
        Assert.Equal(60, set.Count);
        Assert.Equal(3, set.LayerCount);
        Assert.Equal([ProbePositions.Name, ProbePositions.Relation, ProbePositions.Attribute, ProbePositions.All], set.Positions);
        using (var name = set.Features(1, ProbePositions.Name)) Assert.Equal([60L, 64], name.shape); // two tokens side by side
        using (var rel = set.Features(1, ProbePositions.Relation)) Assert.Equal([60L, 32], rel.shape);
        using (var all = set.Features(2, ProbePositions.All)) Assert.Equal([60L, 128], all.shape);
        Assert.Equal([ProbeTargets.FirstHop], set.Targets.Keys);
        Assert.Equal(60 - 57, set.IsEval.Count(e => e));
        Assert.Equal(ProbeTargets.FirstHop, set.ModelLossTarget);
        // Every target is the first token of some person's name: the bridge entity.
        var firstTokens = Db.Names.Select(n => (long)Encode(" " + n)[0]).ToHashSet();
        Assert.All(set.Targets[ProbeTargets.FirstHop], t => Assert.Contains(t, firstTokens));
        Assert.All(set.ModelAnswerLoss, l => Assert.True(l > 0 && double.IsFinite(l)));

        var r = ProbeSweep.Run(set, new ProbeJob(0, ProbePositions.All, ProbeTargets.FirstHop),
            new ProbeSweepOptions { Fit = ProbeFitOptions.Reference with { MaxIterations = 30 } }, null);
        Assert.Equal(57, r.NTrain);
        Assert.False(double.IsNaN(r.ModelLoss));
    }

    [Fact]
    public void ModesWithoutTheFirstFourRelationsAreRefused()
    {
        torch.manual_seed(1);
        using var model = new LlamaMup(new LlamaMupConfig { VocabSize = Tok.VocabSize, Width = 16, Layers = 1, BaseWidth = 16 });
        // eval_relations asks only about the held-out relation: with a split that holds out one beyond the first 4,
        // that mode has nothing a reference probe reads.
        var splits = Enumerable.Range(1, 100).Select(seed => HeldOutSplits.Build(Db, seed)).First(s => s.HeldRelations.All(r => r >= ReferenceCapture.Relations));
        var spec = new CaptureSpec { Hops = 2, Samples = 20, Mode = EvalMode.EvalRelations };
        var e = Assert.Throws<UserInputException>(() => ReferenceCapture.Capture(model, Db, Tok, splits, spec, 128, false));
        Assert.Contains("first 4 relations", e.Message);
    }
}
