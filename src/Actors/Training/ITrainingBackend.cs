using ActorLab.Actors.Node;
using ActorLab.Actors.Sweeps;
using ActorLab.Model.Qa;

namespace ActorLab.Actors.Training;

/// <summary>
/// The science the actors drive, behind one seam: datasets, trainers, batches, capacity. The host wires the real
/// pipeline (ProfileGenerator, QaTokenizer, QaStream, TrainerCore, capacity tables); tests may wire small fakes
/// to exercise scheduling, fencing and recovery quickly. Every call may block (native code, disk): the actors
/// call it from dedicated dispatchers or tasks.
/// </summary>
public interface ITrainingBackend
{
    /// <summary>N whose 1-hop dataset entropy is closest to the target bits (for sweeps given target-bits).</summary>
    int SolveN(double targetBits, int relations);

    /// <summary>Generates (or finds, cached by content) the profiles and the tokenizer of a dataset.</summary>
    PreparedDataset PrepareDataset(DatasetSpec dataset, string dataDir, CancellationToken cancel);

    /// <summary>
    /// Opens the run in its directory: new, or resumed from its latest checkpoint. With data parallel, each rank
    /// gets its own replica; <paramref name="allReduce"/> averages gradients across ranks every step.
    /// </summary>
    IRunTrainer OpenTrainer(StartRun run, int rank, IAllReduce? allReduce);

    /// <summary>A rank's batch stream (rank-seeded), one instance per generator worker.</summary>
    IBatchSource OpenBatches(StartRun run, int rank);

    /// <summary>Measures capacity over the sweep's finished runs; writes tables and plots to the output folder.</summary>
    void MeasureCapacity(SweepSpec sweep, IReadOnlyList<(RunSpec Run, string RunDir)> runs, string outputDir, CancellationToken cancel);
}

public sealed record PreparedDataset(string ProfilesPath, string TokenizerPath);

/// <summary>One rank's replica of a run.</summary>
public interface IRunTrainer : IDisposable
{
    /// <summary>Steps done so far (the checkpoint's step after a resume).</summary>
    long Step { get; }

    /// <summary>One optimiser step on this batch (gradients all-reduced across ranks first); returns the loss.</summary>
    double TrainStep(TokenBatch batch);

    /// <summary>Evaluates every mode at the current step (appending to the run's eval results); loss per mode.</summary>
    IReadOnlyDictionary<string, double> Evaluate();

    /// <summary>Writes a checkpoint of the current step atomically; returns its path.</summary>
    string SaveCheckpoint();

    /// <summary>Whether the losses so far say the run has converged (SPEC 5).</summary>
    bool Converged { get; }
}

/// <summary>Deterministic batches of one rank's stream: the batch at index i is always the same.</summary>
public interface IBatchSource : IDisposable
{
    TokenBatch Get(long index);
}
