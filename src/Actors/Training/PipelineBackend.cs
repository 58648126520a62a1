using ActorLab.Actors.Sweeps;
using ActorLab.Actors.Node;
using ActorLab.Model.Capacity;
using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Storage;
using ActorLab.Model.Training;

namespace ActorLab.Actors.Training;

/// <summary>
/// The real science behind <see cref="ITrainingBackend"/>: datasets through <see cref="DatasetStore"/> (this node's
/// cache, checked against the journal's fingerprint), replicas as <see cref="RunSession"/>s in the run's folder under
/// the storage root, capacity tables and plots per sweep (CapacityMeasurement, CapacityTables, CapacityPlots),
/// probes through the host's probe runner.
/// </summary>
public sealed class PipelineBackend(RunStorage storage, int torchThreadsPerSlot = 1, Action<string>? warn = null,
    Action<JobSpec, RunStorage, int, CancellationToken>? probe = null) : ITrainingBackend
{
    readonly Action<string> _warn = warn ?? (_ => { });

    public RunStorage Storage => storage;

    public DatasetFingerprint PrepareDataset(DatasetConfig dataset, DatasetFingerprint? expected, CancellationToken cancel) =>
        DatasetStore.Ensure(storage, dataset, expected, cancel).Fingerprint;

    public IRunReplica OpenReplica(StartRun run, int rank, IReplicaGroup group, string device)
    {
        var data = DatasetStore.Load(DatasetStore.Ensure(storage, run.Config.Dataset!, run.Dataset));
        var folder = storage.Run(run.RunId, run.Epoch);
        Directory.CreateDirectory(folder.Dir);
        var options = new TrainerOptions
        {
            VocabSize = data.Tokenizer.VocabSize, Device = device, Threads = device == "cpu" ? torchThreadsPerSlot : 0, Warn = _warn,
        };
        return new SessionReplica(RunSession.Open(run.Config, folder, data, options, group, run.ResumeFrom));
    }

    sealed class SessionReplica(RunSession session) : IRunReplica
    {
        public long StreamPosition => session.Core.StreamPosition;
        public bool TwoHopPhase => session.InTwoHopPhase;
        public IBatchSource OpenBatchSource(bool twoHopPhase) => new StreamSource(session.OpenTrainingStream(twoHopPhase));
        public RunOutcome Run(IBatchFeed feed, IRunObserver observer, CancellationToken cancel) => session.Run(feed, observer, cancel);
        public void Dispose() => session.Dispose();
    }

    sealed class StreamSource(QaStream stream) : IBatchSource
    {
        public TokenBatch Get(long index)
        {
            stream.Seek(index);
            return stream.Next();
        }

        public void Dispose() { }
    }

    // ------------------------------------------------------------------ capacity

    public void MeasureCapacity(string sweep, IReadOnlyList<MeasuredRun> runs, IReadOnlyList<PreparedDatasetRecord> datasets, SweepMeasure measure, CancellationToken cancel)
    {
        if (runs.Count == 0) throw new UserInputException($"sweep {sweep}: no run completed, nothing to measure");
        var outputDir = storage.SweepDir(sweep);
        Directory.CreateDirectory(outputDir);
        // measure the completed runs only, each with the eval results of the lease the journal accepted:
        // a folder of links to them is the results folder `measure` reads
        var resultsDir = Path.Combine(outputDir, "measured-runs");
        if (Directory.Exists(resultsDir)) Directory.Delete(resultsDir, recursive: true);
        Directory.CreateDirectory(resultsDir);
        foreach (var run in runs)
        {
            cancel.ThrowIfCancellationRequested();
            var folder = storage.Run(run.RunId, run.ResultsEpoch);
            folder.PublishResults(run.ResultsSha256);
            Directory.CreateSymbolicLink(Path.Combine(resultsDir, run.Config.RunName), folder.Dir);
        }
        var options = MeasureOptionsOf(resultsDir,
            datasets.Select(d => storage.ProfilesDir(DatasetStore.Ensure(storage, d.Config, d.Fingerprint, cancel).Config)).Distinct().ToList(),
            datasets, measure, runs[0].Config.Convergence);
        var hops = !measure.Hops.IsEmpty ? [.. measure.Hops] : runs.Any(r => r.Config.MaxOrder >= 2) ? new[] { 1.0, 2.0 } : [1.0];
        bool runPlotsDone = false;
        // one measurement, tables and capacity plots per scheme x selection scheme (their file names say which)
        foreach (var o in options)
        {
            cancel.ThrowIfCancellationRequested();
            var report = CapacityMeasurement.Measure(o);
            foreach (var w in report.Warnings) _warn(w);
            foreach (var (run, reason) in report.Skipped) _warn($"skipped run {run}: {reason}");
            if (report.Runs.Count == 0) throw new UserInputException($"sweep {sweep}: all {report.Skipped.Count} runs were skipped");
            CapacityTables.Write(outputDir, report);
            // into each run's own tensorboard/ (measured-runs/RUN links to the run folder): one logdir has the curves and capacity
            CapacityTensorBoard.Write(report, r => Path.Combine(r.Dir, "tensorboard"));
            var warnings = new List<string>();
            // generalisation-gap plots per run once, the capacity plots per hop level
            foreach (var h in hops)
            {
                CapacityPlots.Write(outputDir, report, h, maxRunPlots: runPlotsDone ? 0 : 20, runPlotsDone ? [] : warnings);
                runPlotsDone = true;
            }
            foreach (var w in warnings) _warn(w);
        }
    }

    /// <summary>
    /// The `measure` options of a sweep's measure job, one per scheme x selection scheme: entropies from the sweep's
    /// own profiles files (made from its value lists), estimates from those lists' sizes; convergence judged by the
    /// sweep's own rule (its `convergence.min-step` and threshold, one setting for all its runs).
    /// </summary>
    public static IReadOnlyList<MeasureOptions> MeasureOptionsOf(string resultsDir, IReadOnlyList<string> profilesDirs,
        IReadOnlyList<PreparedDatasetRecord> datasets, SweepMeasure measure, ConvergenceSettings convergence)
    {
        var lists = ValueListSizes.Of(datasets.Count > 0 ? datasets[0].Config.LoadLists() : ValueLists.Default);
        return [.. from scheme in measure.Schemes
                   from selection in measure.SelectionSchemes
                   select new MeasureOptions
                   {
                       ResultsDir = resultsDir,
                       Scheme = scheme,
                       Selection = selection,
                       Subjectwise = measure.Subjectwise,
                       ProfilesDirs = profilesDirs,
                       LoadProfiles = ProfileParquet.Read,
                       Lists = lists,
                       Convergence = convergence.Rule,
                       MaxParallelism = 2,
                   }];
    }

    // ------------------------------------------------------------------ probes

    public void Probe(JobSpec spec, int parallel, CancellationToken cancel)
    {
        if (probe is null) throw new InvalidOperationException("this node has no probe runner");
        DatasetStore.Ensure(storage, spec.Dataset!, spec.Expected, cancel);
        probe(spec, storage, parallel, cancel);
    }
}
