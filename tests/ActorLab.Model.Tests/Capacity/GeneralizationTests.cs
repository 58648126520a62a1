using ActorLab.Model.Capacity;
using ActorLab.Model.Common;
using ActorLab.Model.Probes;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace ActorLab.Model.Tests.Capacity;

// torch.manual_seed and TrainerCore seed the process-wide generator: not alongside other tests that do
[Collection(ActorLab.Model.Tests.Training.TorchGlobalRng.Name)]
public class GeneralizationTests
{
    static readonly ProfileDatabase Db = ProfileGenerator.Generate(new ProfileGeneratorConfig(40, 2, Seed: 3), ValueLists.Default);
    static readonly QaTokenizer Tok = QaTokenizer.Train(QaCorpus.Texts(Db, 1), 400);
    static readonly HeldOutSplits Splits = HeldOutSplits.Build(Db, 2);

    static LlamaMup Model()
    {
        torch.set_num_threads(1);
        torch.manual_seed(4);
        var m = new LlamaMup(new LlamaMupConfig { VocabSize = Tok.VocabSize, Width = 32, Layers = 1, BaseWidth = 32 });
        m.eval();
        return m;
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(2, true)]
    public void AnExampleIsTokenForTokenWhatTrainingShowsFirstInASequence(int order, bool cot)
    {
        var questions = new ProbeQuestions(Db, Tok);
        var stream = new QaStream(Db, Tok, Splits, new QaStreamOptions([order], SeqLen: 256, BatchSize: 8, Cot: cot, Seed: 1));
        var batch = stream.Next();
        // The first example of each row: it starts at the BOS.
        foreach (var g in stream.LastQuestions.GroupBy(g => g.Sequence).Select(r => r.First()))
        {
            var info = batch.Questions[g.InfoIndex];
            var (tokens, answerStart) = Generalization.Example(questions, Tok, Db, g.Question, cot);
            Assert.Equal(info.AnswerStart, answerStart);
            Assert.Equal(info.AnswerEnd, tokens.Length);
            Assert.Equal(batch.InputIds.AsSpan(g.Sequence * 256, tokens.Length).ToArray(), tokens.Select(t => (long)t).ToArray());
        }
    }

    [Fact]
    public void AQuestionsLossIsItsAnswerTokensLossesWhateverShareItsBatch()
    {
        using var model = Model();
        var questions = new ProbeQuestions(Db, Tok);
        var q = new Question(5, 1, 2, EvalMode.TrainTwohop);
        var ex = Generalization.Example(questions, Tok, Db, q, cot: false);
        var longer = Generalization.Example(questions, Tok, Db, new Question(6, 0, 4 + 1, EvalMode.TrainTwohop), cot: true);
        var alone = Generalization.QuestionLosses(model, [ex], Tok.EosId, 8)[0];
        var padded = Generalization.QuestionLosses(model, [longer, ex], Tok.EosId, 8)[1];
        Assert.Equal(alone, padded, 4);

        // By hand: -log softmax of each answer token from the logits one position before it.
        using var _ = no_grad();
        using var logits = model.forward(tensor(ex.Tokens.Select(t => (long)t).ToArray(), [1, ex.Tokens.Length]))[0].log_softmax(-1);
        double hand = 0;
        for (int j = ex.AnswerStart; j < ex.Tokens.Length; j++) hand -= logits[j - 1, ex.Tokens[j]].item<float>();
        Assert.Equal(hand, alone, 3);
        Assert.True(alone > 0);
    }

    [Fact]
    public void EachTupleStandsBesideItsTwoHops()
    {
        using var model = Model();
        var modes = new[] { EvalMode.TrainTwohop, EvalMode.EvalCompleteTwoHopQuestions, EvalMode.EvalRelations };
        var rows = Generalization.Evaluate(model, Db, Tok, Splits, modes, tuplesPerMode: 6, seed: 1, cot: false, batchSize: 5);
        Assert.Equal(modes, rows.Select(r => r.Mode).Distinct());
        Assert.All(rows.GroupBy(r => r.Mode), g => Assert.InRange(g.Count(), 1, 6));
        Assert.All(rows.GroupBy(r => r.Mode), g => Assert.Equal(g.Count(), g.Select(r => (r.FirstPerson, r.Relation, r.Attribute)).Distinct().Count()));
        var questions = new ProbeQuestions(Db, Tok);
        double Loss(Question q) => Generalization.QuestionLosses(model, [Generalization.Example(questions, Tok, Db, q, false)], Tok.EosId, 1)[0];
        foreach (var r in rows.Take(4))
        {
            Assert.Equal(Db.Related(r.Relation, r.FirstPerson), r.SecondPerson);
            Assert.Equal(Loss(new Question(r.FirstPerson, r.Relation, r.Attribute, r.Mode)), r.TwoHopLoss, 4);
            Assert.Equal(Loss(Question.OneHop(r.FirstPerson, Subjects.OfRelation(r.Relation))), r.FirstHopLoss, 4); // p's r: answer s
            Assert.Equal(Loss(Question.OneHop(r.SecondPerson, r.Attribute)), r.SecondHopLoss, 4);              // s's a
        }
        // Tuples come from their mode's set: eval_relations only asks about the held-out relation.
        Assert.All(rows.Where(r => r.Mode == EvalMode.EvalRelations), r => Assert.Contains(r.Relation, Splits.HeldRelations));

        var csv = Generalization.ToCsv(rows, 100).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("step,mode,first_person,relation,attribute,second_person,two_hop_loss,first_hop_loss,second_hop_loss", csv[0]);
        Assert.Equal(rows.Count + 1, csv.Length);
        Assert.StartsWith("100,train_twohop,", csv[1]);
        using var dir = new TempFolder();
        var files = Generalization.Write(dir.Path, rows, 100, "test");
        Assert.All(files, f => Assert.True(new FileInfo(f).Length > 0, f));
        Assert.Contains(files, f => f.EndsWith("generalization.png"));
    }

    [Fact]
    public void OneHopModesAreRefused()
    {
        using var model = Model();
        var e = Assert.Throws<UserInputException>(() =>
            Generalization.Evaluate(model, Db, Tok, Splits, [EvalMode.TrainOnehop], 5, 0, false));
        Assert.Contains("train_onehop", e.Message);
    }

    sealed class TempFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("generalization").FullName;
        public void Dispose() => Directory.Delete(Path, true);
    }
}
