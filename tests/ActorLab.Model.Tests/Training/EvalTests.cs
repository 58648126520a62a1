using ActorLab.Model.Qa;
using ActorLab.Model.Training;

namespace ActorLab.Model.Tests.Training;

/// <summary>What one eval mode counts (SPEC 4): questions of sequences with no truncated answer.</summary>
[Collection(TorchGlobalRng.Name)] // TrainerCore seeds torch's process-wide generator
public class EvalTests
{
    [Fact]
    public void Eval_drops_every_sequence_that_ends_in_a_truncated_answer()
    {
        // Two rows of 14 tokens: BOS, two examples "key SEP a1 a2 EOS" (positions 1..10), then a third example cut
        // after its first answer token (key at 11, SEP at 12, a1 at 13). Row 1 gets that truncated third question,
        // unlabelled as the stream writes it; row 0 keeps padding. Only row 0's two questions count, so 5 eval
        // questions take 3 batches (6 questions); keeping row 1's complete questions would stop at 2 batches (8).
        var facts = new SyntheticFacts(facts: 8, answerVocab: 4, answerLen: 2, seed: 1);
        var dir = Directory.CreateTempSubdirectory("actorlab-eval-").FullName;
        try
        {
            using var core = TrainerCore.Create(SyntheticFacts.Run(width: 16, layers: 1, seqLen: 14, batchSize: 2, evalQuestions: 5), dir,
                new TrainerOptions { VocabSize = facts.VocabSize, Threads = 1, Warn = _ => { } });
            long index = 0;
            TokenBatch Next()
            {
                var b = facts.Batch(2, 14, seed: 3, index++);
                Assert.Equal(4, b.Questions.Length);
                int o = 14;
                b.InputIds[o + 11] = b.InputIds[o + 1];
                b.InputIds[o + 12] = SyntheticFacts.Sep;
                b.InputIds[o + 13] = b.InputIds[o + 3];
                Assert.Equal(TokenBatch.Ignore, b.Labels[o + 13]);
                var qs = b.Questions.Append(new QuestionInfo(1, 13, 14, 1, 0, EvalMode.TrainOnehop, Truncated: true)).ToArray();
                return new TokenBatch(2, 14, b.InputIds, b.Labels, qs);
            }
            var eval = core.Evaluate(_ => Next, [EvalMode.TrainOnehop])[EvalMode.TrainOnehop]!;
            Assert.Equal(6, eval.Questions);
            Assert.Equal(3, index);
            Assert.Equal(6, eval.Subjects.Values.Sum(s => s.Questions));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Subjectwise_eval_leaves_out_a_subject_whose_sequences_are_all_cut_and_fails_when_none_is_left()
    {
        // Subject 1's batches hold only truncated questions (a tiny held-out set can do that): it is left out with a
        // warning after 10 such batches in a row. Subject 2's batches alternate empty and full: 15 empty ones in all
        // but never 2 in a row, so it goes on to its 60 questions. A mode with no subject left is a clear error.
        var facts = new SyntheticFacts(facts: 8, answerVocab: 4, answerLen: 2, seed: 1);
        var dir = Directory.CreateTempSubdirectory("actorlab-eval-").FullName;
        var warnings = new List<string>();
        try
        {
            using var core = TrainerCore.Create(SyntheticFacts.Run(width: 16, layers: 1, seqLen: 14, batchSize: 2, evalQuestions: 60), dir,
                new TrainerOptions { VocabSize = facts.VocabSize, Threads = 1, Warn = warnings.Add });
            int batchesOfSubject2 = 0;
            Func<TokenBatch> Stream(int subject)
            {
                long index = 0;
                return () =>
                {
                    if (subject == 2) batchesOfSubject2++;
                    var b = facts.Batch(2, 14, seed: 3, index);
                    bool cut = subject == 1 || (subject == 2 && index % 2 == 0);
                    index++;
                    var qs = b.Questions.Select(q => q with { Subject = (byte)subject, Truncated = cut }).ToArray();
                    return new TokenBatch(2, 14, b.InputIds, b.Labels, qs);
                };
            }
            var m = core.EvaluateSubjectwise((_, s) => Stream(s), [EvalMode.TrainOnehop], [0, 1, 2])[EvalMode.TrainOnehop]!;
            Assert.Equal([0, 2], m.Subjects.Keys.Order());
            Assert.All(m.Subjects.Values, x => Assert.True(x.Questions >= 60));
            Assert.Equal(30, batchesOfSubject2); // 15 empty + 15 with 4 questions each
            Assert.Equal(m.Subjects.Values.Sum(x => x.Questions), m.Questions);
            Assert.Contains(warnings, w => w.Contains("train_onehop / birth_city") && w.Contains("left out"));

            var e = Assert.Throws<ActorLab.Model.Common.UserInputException>(() => core.EvaluateSubjectwise((_, _) => Stream(1), [EvalMode.TrainOnehop], [1]));
            Assert.Contains("train_onehop", e.Message);
            Assert.Contains("--seq-len", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
