using ActorLab.Actors.Sweeps;
using ActorLab.Actors.Node;
using ActorLab.Model.Profiles;
using ActorLab.Model.Storage;
using ActorLab.Model.Training;

namespace ActorLab.Actors.Training;

/// <summary>
/// Test-only routing (`actorlab.testing.stand-in-sweeps`): runs, measurements and probes of the named sweeps go to
/// the stand-in, everything else to the real pipeline, so one cluster test can mix fast stand-in runs with a real
/// tiny training run. Datasets are always built for real.
/// </summary>
public sealed class SwitchingBackend(ITrainingBackend real, ITrainingBackend standIn, IReadOnlySet<string> standInSweeps) : ITrainingBackend
{
    ITrainingBackend For(string? sweep) => sweep != null && standInSweeps.Contains(sweep) ? standIn : real;

    public DatasetFingerprint PrepareDataset(DatasetConfig dataset, DatasetFingerprint? expected, CancellationToken cancel) =>
        real.PrepareDataset(dataset, expected, cancel);

    public IRunReplica OpenReplica(StartRun run, int rank, IReplicaGroup group, string device) =>
        For(run.Config.Sweep).OpenReplica(run, rank, group, device);

    public void MeasureCapacity(string sweep, IReadOnlyList<MeasuredRun> runs, IReadOnlyList<PreparedDatasetRecord> datasets, SweepMeasure measure, CancellationToken cancel) =>
        For(sweep).MeasureCapacity(sweep, runs, datasets, measure, cancel);

    public void Probe(JobSpec probe, int parallel, CancellationToken cancel) => For(probe.Config?.Sweep).Probe(probe, parallel, cancel);
}
