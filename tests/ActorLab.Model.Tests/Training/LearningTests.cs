using System.Diagnostics;
using ActorLab.Model.Qa;
using ActorLab.Model.Training;
using Xunit.Abstractions;

namespace ActorLab.Model.Tests.Training;

/// <summary>The model, optimiser and trainer together learn: memorise a small set of facts; more width stores more.</summary>
// torch.manual_seed and TrainerCore seed the process-wide generator: not alongside other tests that do
[Collection(ActorLab.Model.Tests.Training.TorchGlobalRng.Name)]
public class LearningTests(ITestOutputHelper output)
{
    static TrainerOptions Options(SyntheticFacts facts) => new()
    {
        VocabSize = facts.VocabSize,
        Threads = 1,
        Warn = _ => { },
    };

    [Fact]
    public void SmallModelMemorisesSmallDataset()
    {
        var facts = new SyntheticFacts(facts: 64, answerVocab: 16, answerLen: 2, seed: 3);
        var dir = Directory.CreateTempSubdirectory("actorlab-learn-").FullName;
        try
        {
            var sw = Stopwatch.StartNew();
            using var core = TrainerCore.Create(SyntheticFacts.Run(width: 64, layers: 1, lr: 1e-2, warmup: 50, evalQuestions: 1000), dir, Options(facts));
            var stream = facts.Stream(16, 32, seed: 5);
            double loss = double.NaN;
            int step;
            for (step = 1; step <= 1500; step++)
            {
                core.TrainStep(stream());
                if (step % 100 == 0)
                {
                    loss = core.Evaluate(_ => facts.Stream(16, 32, seed: 99), [EvalMode.TrainOnehop])[EvalMode.TrainOnehop]!.Loss;
                    output.WriteLine($"step {step} eval loss {loss:F4} nats/question ({sw.Elapsed.TotalSeconds:F1}s)");
                    if (loss < 0.1) break;
                }
            }
            output.WriteLine($"params {core.Model.ParameterCount}, {sw.Elapsed.TotalSeconds:F1}s");
            Assert.True(loss < 0.1, $"1-hop eval loss {loss:F3} nats/question after {step} steps, expected < 0.1");
            // Chance level is 2 ln 16 = 5.5 nats/question: the model really memorised.
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>
    /// 2000 facts keyed by 2-token names (so they must be stored in the transformer, not in key embeddings), 2 answer
    /// tokens of 5 bits each: 20,000 bits, beyond a d=16 model (6.9k parameters, ~14k bits at 2 bits/parameter).
    /// After the same number of steps a d=64 model (76k parameters) is far below it.
    /// </summary>
    [Fact]
    public void WiderModelStoresMoreThanNarrowOneOnTheSameBudgetOfSteps()
    {
        var facts = new SyntheticFacts(facts: 2000, answerVocab: 32, answerLen: 2, seed: 4, keyLen: 2, keyVocab: 50);
        double Train(int width)
        {
            var dir = Directory.CreateTempSubdirectory("actorlab-cap-").FullName;
            try
            {
                var sw = Stopwatch.StartNew();
                using var core = TrainerCore.Create(SyntheticFacts.Run(width, layers: 1, lr: 1e-2, batchSize: 32, seqLen: 36, warmup: 50, evalQuestions: 1000), dir, Options(facts));
                var stream = facts.Stream(32, 36, seed: 5);
                for (int step = 0; step < 800; step++) core.TrainStep(stream());
                var loss = core.Evaluate(_ => facts.Stream(32, 36, seed: 99), [EvalMode.TrainOnehop])[EvalMode.TrainOnehop]!.Loss;
                output.WriteLine($"d={width}: {core.Model.ParameterCount} params, eval loss {loss:F3} nats/question, {sw.Elapsed.TotalSeconds:F1}s");
                return loss;
            }
            finally { Directory.Delete(dir, true); }
        }
        var narrow = Train(16);
        var wide = Train(64);
        // Chance is 2 ln 32 = 6.93 nats/question.
        Assert.True(wide < narrow - 1.0, $"wide model loss {wide:F3} should be well below narrow model loss {narrow:F3}");
    }
}
