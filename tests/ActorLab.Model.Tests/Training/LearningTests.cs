using System.Diagnostics;
using ActorLab.Model.Qa;
using ActorLab.Model.Training;
using Xunit.Abstractions;

namespace ActorLab.Model.Tests.Training;

/// <summary>The model, optimiser and trainer together learn: memorise a small set of facts; more width stores more.</summary>
public class LearningTests(ITestOutputHelper output)
{
    static TrainerOptions Options(SyntheticFacts facts, int warmup) => new()
    {
        VocabSize = facts.VocabSize,
        Threads = 2,
        WarmupSteps = warmup,
        EvalQuestions = 1000,
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
            using var core = TrainerCore.Create(SyntheticFacts.Run(width: 64, layers: 1, lr: 1e-2), dir, Options(facts, warmup: 50));
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
}
