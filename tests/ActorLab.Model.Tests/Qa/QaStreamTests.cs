using System.Text;
using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;

namespace ActorLab.Model.Tests.Qa;

public class QaStreamTests
{
    sealed record Fixture(ProfileDatabase Db, QaTokenizer Tok, HeldOutSplits Splits, QaTokenCache Cache);

    static readonly Lazy<Fixture> Shared = new(() =>
    {
        var db = TestProfiles.Create(400, relations: 6, seed: 11);
        var tok = TestProfiles.Tokenizer(db, vocabSize: 700);
        return new Fixture(db, tok, HeldOutSplits.Build(db, 3), new QaTokenCache(db, tok));
    });

    static QaStream Stream(QaStreamOptions o)
    {
        var f = Shared.Value;
        return new QaStream(f.Db, f.Tok, f.Splits, o, f.Cache);
    }

    public static TheoryData<string, bool> Configs()
    {
        var data = new TheoryData<string, bool>();
        foreach (var cot in new[] { false, true })
        {
            data.Add("mix", cot);
            foreach (var m in EvalModes.All) data.Add(m.Name(), cot);
        }
        return data;
    }

    static QaStreamOptions Options(string config, bool cot, int seqLen = 160, int batch = 16) =>
        new([1, 2], HopRatio: 0.5, SeqLen: seqLen, BatchSize: batch, Cot: cot, Seed: 5,
            Mode: config == "mix" ? null : EvalModes.TryParse(config)!.Value);

    [Theory]
    [MemberData(nameof(Configs))]
    public void Assembled_ids_equal_encoding_the_full_text_and_labels_are_exactly_the_answers(string config, bool cot)
    {
        var f = Shared.Value;
        var o = Options(config, cot);
        var stream = Stream(o);
        int sequences = 0;
        for (int k = 0; k < 8; k++)
        {
            var batch = stream.Next();
            var generated = stream.LastQuestions;
            for (int row = 0; row < batch.BatchSize; row++, sequences++)
            {
                var rowQs = generated.Where(g => g.Sequence == row).ToArray();
                var text = new StringBuilder(QaTokenizer.EndOfText);
                text.AppendJoin(QaTokenizer.EndOfText, rowQs.Select(g => Questions.ExampleText(f.Db, g.Question, cot)));
                var full = f.Tok.Encode(text.ToString());
                var ids = batch.InputIds.AsSpan(row * o.SeqLen, o.SeqLen);
                var labels = batch.Labels.AsSpan(row * o.SeqLen, o.SeqLen);
                for (int i = 0; i < o.SeqLen; i++)
                    Assert.Equal(i < full.Length ? full[i] : f.Tok.EosId, ids[i]);

                // Labelled positions are exactly the listed answer spans, and carry the input token.
                var labelled = new bool[o.SeqLen];
                foreach (var g in rowQs.Where(g => g.InfoIndex >= 0))
                {
                    var info = batch.Questions[g.InfoIndex];
                    Assert.Equal(row, info.Sequence);
                    Assert.Equal(g.Question.Order, info.Order);
                    Assert.Equal(g.Question.Subject, info.Subject);
                    Assert.Equal(g.Question.Mode, info.Mode);
                    // a truncated final answer carries no labels (the reference drops an answer without an end)
                    for (int i = info.AnswerStart; i < info.AnswerEnd; i++) labelled[i] = !info.Truncated;
                    var answer = " " + Questions.AnswerText(f.Db, g.Question, cot);
                    var answerIds = ids[info.AnswerStart..info.AnswerEnd].ToArray().Select(x => (int)x).ToArray();
                    if (info.AnswerEnd < o.SeqLen)
                    {
                        Assert.False(info.Truncated);
                        Assert.Equal(answer, f.Tok.Decode(answerIds));
                        Assert.Equal(f.Tok.EosId, ids[info.AnswerEnd]); // the answer ends at an EOS
                    }
                    else
                    {
                        Assert.True(info.Truncated); // no EOS after it inside the sequence
                        // Cut off: the answer's tokens in the sequence are a prefix of the answer's tokens.
                        var answerTokens = f.Tok.Encode(answer);
                        Assert.Equal(answerTokens[..answerIds.Length], answerIds);
                    }
                    // The question text precedes the answer: "... Answer:" then the answer.
                    Assert.EndsWith(" Answer:", f.Tok.Decode(ids[..info.AnswerStart].ToArray().Select(x => (int)x).ToArray()));
                }
                for (int i = 0; i < o.SeqLen; i++)
                    Assert.Equal(labelled[i] ? ids[i] : TokenBatch.Ignore, labels[i]);
                Assert.Equal(f.Tok.BosId, ids[0]);
                Assert.Equal(Math.Min(o.ExamplesPerSequence, rowQs.Length), rowQs.Length);
            }
        }
        Assert.Equal(128, sequences);
    }

    [Fact]
    public void Eval_first_people_with_cot_answers_plainly_other_two_hop_modes_spell_out_the_first_hop()
    {
        var f = Shared.Value;
        foreach (var mode in new[] { EvalMode.EvalFirstPeople, EvalMode.EvalRelations })
        {
            var o = Options(mode.Name(), cot: true, seqLen: 512, batch: 4);
            var stream = Stream(o);
            var batch = stream.Next();
            int checkedAnswers = 0;
            foreach (var g in stream.LastQuestions.Where(g => g.InfoIndex >= 0 && !batch.Questions[g.InfoIndex].Truncated))
            {
                var info = batch.Questions[g.InfoIndex];
                var ids = batch.InputIds.AsSpan(info.Sequence * o.SeqLen + info.AnswerStart, info.AnswerEnd - info.AnswerStart);
                var answer = f.Tok.Decode(ids.ToArray().Select(x => (int)x).ToArray());
                var plain = " " + f.Db.AnswerText(Questions.AnswerProfile(f.Db, g.Question), g.Question.Subject);
                var middle = f.Db.Names[f.Db.Related(g.Question.Relation, g.Question.Profile)];
                if (mode == EvalMode.EvalFirstPeople) Assert.Equal(plain, answer);
                else Assert.Equal($" {f.Db.Names[g.Question.Profile]}'s {Questions.RelationText(g.Question.Relation)} is {middle}, their {Questions.SubjectText(g.Question.Subject)} is{plain}", answer);
                checkedAnswers++;
            }
            Assert.True(checkedAnswers > 20);
        }
    }

    [Fact]
    public void A_truncated_final_answer_carries_no_labels()
    {
        // 160-token sequences hold ~7 of the 10 packed examples, so nearly every row ends inside an example;
        // many of those cut it after "Answer:", i.e. inside the answer.
        var o = Options("mix", cot: false, seqLen: 160, batch: 32);
        var stream = Stream(o);
        int truncated = 0;
        for (int k = 0; k < 4; k++)
        {
            var batch = stream.Next();
            for (int row = 0; row < batch.BatchSize; row++)
            {
                var qs = batch.Questions.Where(q => q.Sequence == row).ToArray();
                var labels = batch.Labels.AsSpan(row * o.SeqLen, o.SeqLen);
                // only the last question of a row can be truncated, and its answer reaches the end
                Assert.All(qs[..^1], q => Assert.False(q.Truncated));
                Assert.Equal(TokenBatch.Ignore, labels[^1]);
                var last = qs[^1];
                if (last.Truncated)
                {
                    truncated++;
                    Assert.Equal(o.SeqLen, last.AnswerEnd);
                    Assert.True(last.AnswerStart < last.AnswerEnd);
                    for (int i = last.AnswerStart; i < o.SeqLen; i++) Assert.Equal(TokenBatch.Ignore, labels[i]);
                }
                // every complete answer is labelled
                foreach (var q in qs.Where(q => !q.Truncated))
                    for (int i = q.AnswerStart; i < q.AnswerEnd; i++) Assert.NotEqual(TokenBatch.Ignore, labels[i]);
            }
        }
        Assert.True(truncated > 10, $"{truncated} truncated final answers in 128 rows");
    }

    [Fact]
    public void Questions_of_each_mode_come_from_that_modes_set()
    {
        var f = Shared.Value;
        foreach (var mode in EvalModes.All)
        {
            var stream = Stream(Options(mode.Name(), cot: false, seqLen: 512, batch: 8));
            for (int k = 0; k < 4; k++)
            {
                stream.Next();
                foreach (var g in stream.LastQuestions)
                {
                    var q = g.Question;
                    Assert.Equal(mode, q.Mode);
                    if (mode == EvalMode.TrainOnehop) { Assert.Equal(1, q.Order); continue; }
                    Assert.Equal(2, q.Order);
                    var cls = f.Splits.ClassOf(q.Profile, q.Relation, q.Subject);
                    Assert.Equal(mode == EvalMode.EvalFirstPeople ? HeldOutSplits.TupleClass.FirstPeople : HeldOutSplits.ClassOf(mode), cls);
                }
            }
        }
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.5)]
    [InlineData(2.0)]
    public void Order_mix_matches_the_weights(double hopRatio)
    {
        var stream = Stream(new QaStreamOptions([1, 2], HopRatio: hopRatio, SeqLen: 512, BatchSize: 32, Seed: 1));
        long twoHop = 0, total = 0;
        for (int k = 0; k < 20; k++)
        {
            stream.Next();
            foreach (var g in stream.LastQuestions) { total++; if (g.Question.Order == 2) twoHop++; }
        }
        double p = (1 / hopRatio) / (1 + 1 / hopRatio);
        double sd = Math.Sqrt(p * (1 - p) / total);
        Assert.InRange((double)twoHop / total, p - 5 * sd, p + 5 * sd);
        Assert.InRange(total, 20L * 32 * 10, 20L * 32 * (512 / 15)); // at most 512 // 15 = 34 per sequence
    }

    [Fact]
    public void One_hop_only_runs_need_no_splits_and_ask_uniform_subjects()
    {
        var f = Shared.Value;
        var stream = new QaStream(f.Db, f.Tok, null, new QaStreamOptions([1], SeqLen: 512, BatchSize: 32), f.Cache);
        int s = Subjects.Count(f.Db.RelationCount);
        var perSubject = new long[s];
        long total = 0;
        for (int k = 0; k < 20; k++)
        {
            stream.Next();
            foreach (var g in stream.LastQuestions)
            {
                Assert.Equal(1, g.Question.Order);
                perSubject[g.Question.Subject]++;
                total++;
            }
        }
        double mean = (double)total / s, sd = Math.Sqrt(mean);
        Assert.All(perSubject, c => Assert.InRange(c, mean - 6 * sd, mean + 6 * sd));
    }

    [Fact]
    public void Curriculum_is_one_hop_until_switched_then_weights_point_one_to_one()
    {
        var stream = Stream(new QaStreamOptions([1, 2], SeqLen: 512, BatchSize: 32, Curriculum: true));
        stream.Next();
        Assert.All(stream.LastQuestions, g => Assert.Equal(1, g.Question.Order));
        stream.SetCurriculumPhase(true);
        long two = 0, total = 0;
        for (int k = 0; k < 10; k++)
        {
            stream.Next();
            foreach (var g in stream.LastQuestions) { total++; if (g.Question.Order == 2) two++; }
        }
        double p = 1 / 1.1, sd = Math.Sqrt(p * (1 - p) / total);
        Assert.InRange((double)two / total, p - 5 * sd, p + 5 * sd);
    }

    static long[] Flat(QaStream s, int batches)
    {
        var all = new List<long>();
        for (int i = 0; i < batches; i++) all.AddRange(s.Next().InputIds);
        return all.ToArray();
    }

    [Fact]
    public void Streams_are_deterministic_per_seed_rank_worker_epoch_and_resume_at_any_batch()
    {
        var o = new QaStreamOptions([1, 2], SeqLen: 128, BatchSize: 4, Seed: 9);
        var a = Flat(Stream(o), 6);
        Assert.Equal(a, Flat(Stream(o), 6));
        Assert.NotEqual(a, Flat(Stream(o with { Seed = 10 }), 6));
        Assert.NotEqual(a, Flat(Stream(o with { Rank = 1 }), 6));
        Assert.NotEqual(a, Flat(Stream(o with { Worker = 1 }), 6));
        Assert.NotEqual(a, Flat(Stream(o with { Epoch = 1 }), 6));

        // Resume: batch 4 of a fresh stream seeked to 4 equals batch 4 of the original.
        var resumed = Stream(o);
        resumed.Seek(4);
        Assert.Equal(4, resumed.BatchIndex);
        var b4 = resumed.Next();
        Assert.Equal(a[(4 * 4 * 128)..(5 * 4 * 128)], b4.InputIds);
        var f = Shared.Value;
        var viaCtor = new QaStream(f.Db, f.Tok, f.Splits, o, f.Cache, startBatch: 5);
        Assert.Equal(a[(5 * 4 * 128)..], viaCtor.Next().InputIds);

        // Different workers' first batches share no sequence.
        var w0 = Stream(o).Next(); var w1 = Stream(o with { Worker = 1 }).Next();
        var rows0 = Enumerable.Range(0, 4).Select(r => string.Join(",", w0.InputIds.Skip(r * 128).Take(128))).ToHashSet();
        Assert.DoesNotContain(Enumerable.Range(0, 4).Select(r => string.Join(",", w1.InputIds.Skip(r * 128).Take(128))), rows0.Contains);
    }

    [Fact]
    public void Short_sequences_are_padded_with_unlabelled_eos()
    {
        // One-letter names and one-word values make examples 14-19 tokens (with EOS), so 89 // 15 = 5 examples
        // (mean ~79 tokens) usually leave the tail of an 89-token sequence as padding.
        var db = TestProfiles.Tiny(60);
        var tok = QaTokenizer.Train(QaCorpus.Texts(db, 1), 1000);
        var stream = new QaStream(db, tok, null, new QaStreamOptions([1], SeqLen: 89, BatchSize: 8));
        var batch = stream.Next();
        int padded = 0;
        for (int row = 0; row < 8; row++)
        {
            var qs = stream.LastQuestions.Where(g => g.Sequence == row).ToArray();
            Assert.Equal(89 / 15, qs.Length);
            var last = batch.Questions[qs[^1].InfoIndex];
            if (last.AnswerEnd < 89)
            {
                padded++;
                Assert.False(last.Truncated);
                for (int i = last.AnswerEnd; i < 89; i++)
                {
                    Assert.Equal(tok.EosId, batch.InputIds[row * 89 + i]);
                    Assert.Equal(TokenBatch.Ignore, batch.Labels[row * 89 + i]);
                }
            }
        }
        Assert.True(padded > 0);
    }

    [Theory]
    [InlineData(new[] { 3 }, 0.1, 512, "orders")]
    [InlineData(new int[0], 0.1, 512, "orders")]
    [InlineData(new[] { 1, 1 }, 0.1, 512, "orders")]
    [InlineData(new[] { 1, 2 }, 0.0, 512, "hop_ratio")]
    [InlineData(new[] { 1, 2 }, -1.0, 512, "hop_ratio")]
    [InlineData(new[] { 1, 2 }, double.NaN, 512, "hop_ratio")]
    [InlineData(new[] { 1, 2 }, 0.1, 14, "too short")]
    [InlineData(new[] { 1, 2 }, 0.1, 20, "too short")]
    public void Bad_options_are_rejected_with_a_clear_message(int[] orders, double hopRatio, int seqLen, string expected)
    {
        var e = Assert.Throws<UserInputException>(() => Stream(new QaStreamOptions(orders, hopRatio, seqLen)));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Two_hop_without_splits_is_a_programming_error()
    {
        var f = Shared.Value;
        Assert.Throws<ArgumentException>(() => new QaStream(f.Db, f.Tok, null, new QaStreamOptions([1, 2]), f.Cache));
        Assert.Throws<ArgumentException>(() => new QaStream(f.Db, f.Tok, null, new QaStreamOptions([1], Mode: EvalMode.EvalRelations), f.Cache));
    }
}
