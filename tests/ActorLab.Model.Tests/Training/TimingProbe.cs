using System.Diagnostics;
using ActorLab.Model.Training;
using Xunit.Abstractions;
namespace ActorLab.Model.Tests.Training;
public class TimingProbe(ITestOutputHelper output)
{
    [Fact]
    public void Probe()
    {
        var facts = new SyntheticFacts(64, 16, 2, 3);
        var dir = Directory.CreateTempSubdirectory("actorlab-t-").FullName;
        using var core = TrainerCore.Create(SyntheticFacts.Run(64, 1, lr: 1e-2), dir, new TrainerOptions { VocabSize = facts.VocabSize, Threads = 2, WarmupSteps = 50 });
        var stream = facts.Stream(16, 32, 5);
        for (int i = 0; i < 5; i++) core.TrainStep(stream());
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < 20; i++) core.TrainStep(stream());
        output.WriteLine($"step {sw.Elapsed.TotalMilliseconds / 20:F1} ms threads {TorchSharp.torch.get_num_threads()}");
        var b = stream();
        sw.Restart();
        using (var ids = TorchSharp.torch.tensor(b.InputIds, [16, 32]))
            for (int i = 0; i < 20; i++) { using var l = core.Model.forward(ids); }
        output.WriteLine($"fwd {sw.Elapsed.TotalMilliseconds / 20:F1} ms");
        sw.Restart();
        for (int i = 0; i < 20; i++) core.Optimizer.Step();
        output.WriteLine($"opt {sw.Elapsed.TotalMilliseconds / 20:F1} ms");
    }
}
