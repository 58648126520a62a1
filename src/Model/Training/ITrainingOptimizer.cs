using static TorchSharp.torch;

namespace ActorLab.Model.Training;

/// <summary>Optimiser state for checkpoints: named tensors (per-parameter buffers) and named scalars.</summary>
public sealed record OptimizerState(IReadOnlyDictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, double> Scalars);

/// <summary>
/// What the trainer needs from an optimiser: a step on the parameters' .grad, train/eval parameter points
/// (schedule-free keeps two; AdamW has one) and exact state export for checkpoints.
/// </summary>
public interface ITrainingOptimizer : IDisposable
{
    /// <summary>Steps taken so far.</summary>
    long StepCount { get; }
    /// <summary>The base group's learning rate used by the last step (after warmup/schedule).</summary>
    double LastLr { get; }
    bool InTrainMode { get; }
    void Step();
    void ZeroGrad();
    /// <summary>Puts the parameters at the point gradients are taken at (schedule-free: y).</summary>
    void Train();
    /// <summary>Puts the parameters at the point to evaluate and export (schedule-free: the average x).</summary>
    void Eval();
    /// <summary>State to resume exactly; tensors are copies on the CPU. Call in train mode.</summary>
    OptimizerState ExportState();
    void ImportState(OptimizerState state);
}
