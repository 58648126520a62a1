using ActorLab.Model.Qa;
using ActorLab.Model.Training;

namespace ActorLab.Model.Tests.Training;

/// <summary>What one eval mode counts (SPEC 4): questions of sequences with no truncated answer.</summary>
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
}
