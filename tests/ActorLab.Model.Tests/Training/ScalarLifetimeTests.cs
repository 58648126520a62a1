using ActorLab.Model.Training;
using ActorLab.Model.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace ActorLab.Model.Tests.Training;

/// <summary>
/// Two trainer slots train in one process while the GC runs: no Scalar the model or the optimiser hands libtorch may
/// be finalized mid-call (TorchScalars). Before explicit Scalars this test failed a step ("Expected false to be
/// true" from add: its alpha Scalar freed), as one run attempt of a CPU sweep did ("Unknown scalar type").
/// </summary>
[Collection(TorchGlobalRng.Name)]
public class ScalarLifetimeTests
{
    [Fact]
    public void Two_slots_train_while_the_gc_runs_without_a_freed_scalar()
    {
        torch.set_num_threads(1);
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        int running = 2;
        var slots = Enumerable.Range(0, 2).Select(slot => new Thread(() =>
        {
            try
            {
                using var model = new LlamaMup(new LlamaMupConfig { VocabSize = 16, Width = 16, Layers = 1, BaseWidth = 16, MaxSeqLen = 4 }, seed: slot);
                using var opt = new ScheduleFreeAdamW(MupParamGroups.Build(model), 0.01, warmupSteps: 10);
                using var ids = randint(0, 16, [1, 4], dtype: ScalarType.Int64);
                // tiny shapes, many steps: the adds that take a Scalar are most of the time, as they are a race window
                for (int step = 0; step < 4000; step++)
                {
                    try
                    {
                        using var scope = NewDisposeScope();
                        opt.ZeroGrad();
                        LlamaMup.MeanLoss(model.Forward(ids, null), ids).backward();
                        opt.Step();
                    }
                    catch (Exception e) { errors.Enqueue($"slot {slot} step {step}: {e.Message.Split('\n')[0]}"); }
                }
            }
            finally { Interlocked.Decrement(ref running); }
        })).ToList();
        // a GC as often as it can run: any Scalar left to the finalizer is freed while its call may still read it
        var gc = new Thread(() => { while (Volatile.Read(ref running) > 0) { GC.Collect(); GC.WaitForPendingFinalizers(); } });
        slots.ForEach(t => t.Start());
        gc.Start();
        slots.ForEach(t => t.Join());
        gc.Join();
        Assert.True(errors.IsEmpty, $"{errors.Count} failed steps, e.g. {string.Join("; ", errors.Take(3))}");
    }
}
