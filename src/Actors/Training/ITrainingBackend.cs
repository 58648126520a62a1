using ActorLab.Actors.Sweeps;
using ActorLab.Actors.Node;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Storage;
using ActorLab.Model.Training;

namespace ActorLab.Actors.Training;

/// <summary>
/// The science the actors drive, behind one seam: datasets, run replicas, capacity measurement, probes. The host
/// wires the real pipeline (<see cref="PipelineBackend"/>: DatasetStore, RunSession, CapacityMeasurement, probes);
/// tests and the cluster benchmarks may wire a fast stand-in (<see cref="StandInBackend"/>) to exercise scheduling,
/// fencing and recovery quickly. Every call may block (native code, disk): actors call it from tasks whose results
/// they pipe back, never from a Receive.
/// </summary>
public interface ITrainingBackend
{
    /// <summary>Builds (or finds in this node's cache) a dataset; with <paramref name="expected"/>, checks it matches.</summary>
    DatasetFingerprint PrepareDataset(DatasetConfig dataset, DatasetFingerprint? expected, CancellationToken cancel);

    /// <summary>
    /// Opens rank <paramref name="rank"/> of a leased run on <paramref name="device"/>: its dataset (rebuilt here if
    /// needed and checked against the lease's fingerprint), from exactly the lease's checkpoint or fresh.
    /// </summary>
    IRunReplica OpenReplica(StartRun run, int rank, IReplicaGroup group, string device);

    /// <summary>Measures capacity over a sweep's completed runs; writes tables and plots to the sweep's folder.</summary>
    void MeasureCapacity(string sweep, IReadOnlyList<MeasuredRun> runs, IReadOnlyList<PreparedDatasetRecord> datasets, SweepMeasure measure, CancellationToken cancel);

    /// <summary>The probe sweep of a completed run's final checkpoint; results in its folder's probes/.</summary>
    void Probe(JobSpec probe, int parallel, CancellationToken cancel);
}

/// <summary>One rank's replica of a leased run.</summary>
public interface IRunReplica : IDisposable
{
    /// <summary>The training stream position the run resumes at (batches consumed so far).</summary>
    long StreamPosition { get; }

    /// <summary>The curriculum phase the run resumes in.</summary>
    bool TwoHopPhase { get; }

    /// <summary>One data worker's deterministic view of this rank's stream in a curriculum phase.</summary>
    IBatchSource OpenBatchSource(bool twoHopPhase);

    /// <summary>Trains to the end, an agreed stop, or cancellation (see <see cref="RunSession.Run"/>).</summary>
    RunOutcome Run(IBatchFeed feed, IRunObserver observer, CancellationToken cancel);
}

/// <summary>Deterministic batches of one rank's stream: the batch at index i is always the same.</summary>
public interface IBatchSource : IDisposable
{
    TokenBatch Get(long index);
}
