using ActorLab.Actors.Sweeps;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using ActorLab.Actors.Node;
using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Storage;
using ActorLab.Model.Training;
using static TorchSharp.torch;

namespace ActorLab.Actors.Training;

/// <summary>
/// A fast, deterministic stand-in for the science, behind the test-only switch `actorlab.testing.stand-in-sweeps`
/// (and used directly by actor tests): the "model" is a 4-vector trained by SGD towards a per-batch target, so data
/// parallel averaging is real; it keeps the run folder's conventions (run.json, progress and eval results per lease
/// epoch, checkpoints step_N.eE with a manifest whose SHA-256 the journal records), resumes only from the recorded
/// checkpoint, and honours stops, cancellation and the replica group. Scheduling, fencing, failover and
/// throughput can then be tested at seconds per sweep instead of minutes.
/// </summary>
public sealed class StandInBackend(RunStorage storage) : ITrainingBackend
{
    public TimeSpan StepTime { get; init; } = TimeSpan.FromMilliseconds(2);
    /// <summary>Runs whose replica throws at this step (poison runs).</summary>
    public ConcurrentDictionary<string, long> FailAtStep { get; } = new();
    /// <summary>Every step trained: (run, epoch, rank, step).</summary>
    public ConcurrentQueue<(string RunId, long Epoch, int Rank, long Step)> Trained { get; } = new();
    public ConcurrentQueue<string> Measured { get; } = new();
    /// <summary>The measure settings each sweep's measure job received.</summary>
    public ConcurrentDictionary<string, SweepMeasure> MeasuredWith { get; } = new();
    /// <summary>Replicas agree to stop as converged from this step on (0: never).</summary>
    public long ConvergeAt { get; init; }
    public int BatchesMade;

    public DatasetFingerprint PrepareDataset(DatasetConfig dataset, DatasetFingerprint? expected, CancellationToken cancel)
    {
        // a tiny stand-in file per dataset: deterministic content, so every node gets the same fingerprint
        var path = storage.ProfilesPath(dataset);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        AtomicFile.WriteAllText(path, $"stand-in {dataset.Id}");
        var f = new DatasetFingerprint(FileHash.Sha256(path), dataset.Id);
        if (expected != null && expected != f) throw new UserInputException($"dataset {dataset.Name}: stand-in fingerprint differs");
        return f;
    }

    public IRunReplica OpenReplica(StartRun run, int rank, IReplicaGroup group, string device) =>
        new Replica(this, run, rank, group, storage.Run(run.RunId, run.Epoch));

    public void MeasureCapacity(string sweep, IReadOnlyList<MeasuredRun> runs, IReadOnlyList<PreparedDatasetRecord> datasets, SweepMeasure measure, CancellationToken cancel)
    {
        var dir = storage.SweepDir(sweep);
        Directory.CreateDirectory(dir);
        var lines = runs.Select(r =>
        {
            var f = storage.Run(r.RunId, r.ResultsEpoch);
            f.PublishResults(r.ResultsSha256);
            return $"{r.RunId},{File.ReadAllLines(f.PublishedEvalResults).Length - 1}";
        }).ToList();
        AtomicFile.WriteAllText(Path.Combine(dir, "capacity_final_standin.csv"), "run,evals\n" + string.Join("\n", lines) + "\n");
        MeasuredWith[sweep] = measure;
        Measured.Enqueue(sweep);
    }

    public void Probe(JobSpec probe, int parallel, CancellationToken cancel)
    {
        var dir = Path.Combine(storage.RunDir(probe.RunId!), "probes");
        Directory.CreateDirectory(dir);
        AtomicFile.WriteAllText(Path.Combine(dir, "probes.csv"), "layer,position,loss\n0,last,1.0\n");
    }

    /// <summary>A batch whose one label encodes the target value of the stand-in model.</summary>
    public static TokenBatch Batch(long seed, long index) =>
        new(1, 2, [seed, index], [TokenBatch.Ignore, (seed * 7919 + index * 104729) % 1000], []);

    sealed class Source(StandInBackend owner, long seed) : IBatchSource
    {
        public TokenBatch Get(long index)
        {
            Interlocked.Increment(ref owner.BatchesMade);
            return Batch(seed, index);
        }

        public void Dispose() { }
    }

    sealed class Replica : IRunReplica
    {
        const string StateFile = "w.json", ManifestFile = "manifest.json", History = "eval_results.csv";
        readonly StandInBackend _owner;
        readonly StartRun _run;
        readonly int _rank;
        readonly IReplicaGroup _group;
        readonly RunFolder _folder;
        float[] _w = new float[4];
        long _step;

        public Replica(StandInBackend owner, StartRun run, int rank, IReplicaGroup group, RunFolder folder)
        {
            _owner = owner;
            _run = run;
            _rank = rank;
            _group = group;
            _folder = folder;
            Directory.CreateDirectory(folder.Dir);
            if (run.ResumeFrom is { } c)
            {
                var dir = folder.CheckpointDir(c);
                var manifest = Path.Combine(dir, ManifestFile);
                if (!File.Exists(manifest) || FileHash.Sha256(manifest) != c.Sha256)
                    throw new UserInputException($"checkpoint '{dir}' is not the one recorded");
                _w = JsonSerializer.Deserialize<float[]>(File.ReadAllText(Path.Combine(dir, StateFile)))!;
                _step = c.Step;
                if (rank == 0 && File.Exists(Path.Combine(dir, History))) AtomicFile.WriteAllBytes(folder.EvalResults, File.ReadAllBytes(Path.Combine(dir, History)));
            }
            if (rank == 0) run.Config.Save(folder.Dir);
        }

        public long StreamPosition => _step;
        public bool TwoHopPhase => true;
        public IBatchSource OpenBatchSource(bool twoHopPhase) => new Source(_owner, _run.Config.Seed * 1000 + _rank);

        public RunOutcome Run(IBatchFeed feed, IRunObserver observer, CancellationToken cancel)
        {
            var config = _run.Config;
            using var progress = _rank == 0 ? new ProgressCsv(_folder.Progress, _folder.Epoch) : null;
            progress?.Start(_step);
            progress?.Flush();
            observer.Started(_step, _run.ResumeFrom is null ? null : _folder.CheckpointDir(_run.ResumeFrom));
            CheckpointRef? last = null;
            long lastEval = -1;
            double loss = double.NaN;
            while (_step < config.MaxSteps && _group.AgreedStop == RunStop.None)
            {
                cancel.ThrowIfCancellationRequested();
                var batch = feed.Take(cancel);
                if (_owner.FailAtStep.TryGetValue(_run.RunId, out var at) && _step + 1 >= at) throw new InvalidOperationException("poisoned");
                if (_owner.StepTime > TimeSpan.Zero) Thread.Sleep(_owner.StepTime);
                var target = batch.Labels[1] / 1000f;
                var grads = _w.Select((w, i) => 2 * (w - target * (i + 1))).ToArray();
                loss = _w.Select((w, i) => (w - target * (i + 1)) * (w - target * (i + 1))).Sum();
                using (var g = tensor(grads)) { _group.AllReduce([g]); grads = g.data<float>().ToArray(); }
                for (var i = 0; i < _w.Length; i++) _w[i] -= 0.1f * grads[i];
                _step++;
                _owner.Trained.Enqueue((_run.RunId, _run.Epoch, _rank, _step));
                var r = new StepResult(_step, loss, 2, 1, 0.1);
                progress?.Step(r, 1);
                observer.Stepped(new TrainProgress(r, config.MaxSteps, 0, 0, TimeSpan.Zero, 0));
                if (_rank != 0) continue;
                if (config.EvalSchedule.IsDue(_step)) { Evaluate(observer); lastEval = _step; }
                if (config.EvalSchedule.IsDue(_step) || (config.CheckpointEvery > 0 && _step % config.CheckpointEvery == 0))
                    last = Checkpoint(observer, progress!, loss);
                if (_owner.ConvergeAt > 0 && _step >= _owner.ConvergeAt) _group.RequestStop(RunStop.Complete);
            }
            var stop = _step >= config.MaxSteps ? RunStop.Complete : _group.AgreedStop;
            string? sha = null;
            if (_rank == 0 && stop == RunStop.Complete)
            {
                if (lastEval != _step) Evaluate(observer);
                if (last?.Step != _step) last = Checkpoint(observer, progress!, loss);
                sha = FileHash.Sha256(_folder.EvalResults);
            }
            else if (_rank == 0 && stop == RunStop.Suspend && last?.Step != _step) last = Checkpoint(observer, progress!, loss);
            var end = stop switch { RunStop.Complete => RunEnd.Completed, RunStop.Suspend => RunEnd.Suspended, _ => RunEnd.Cancelled };
            return new RunOutcome(end, _step, _step >= config.MaxSteps ? "step cap" : stop == RunStop.Complete ? "converged" : stop.ToString().ToLowerInvariant(), last, sha);
        }

        void Evaluate(IRunObserver observer)
        {
            var losses = new Dictionary<EvalMode, double> { [EvalMode.TrainOnehop] = _w.Sum(), [EvalMode.TrainTwohop] = _w[0] };
            var report = new EvalReport(_step, 0, losses.Select(kv => new ModeEval(kv.Key, kv.Value, 1, new Dictionary<int, SubjectLoss>())).ToList());
            EvalResultsCsv.Append(_folder.EvalResults, report);
            observer.Evaluated(report);
        }

        CheckpointRef Checkpoint(IRunObserver observer, ProgressCsv progress, double loss)
        {
            var dir = _folder.CheckpointDir(_step, _folder.Epoch);
            var tmp = TempFiles.Beside(dir);
            Directory.CreateDirectory(tmp);
            File.WriteAllText(Path.Combine(tmp, StateFile), JsonSerializer.Serialize(_w));
            if (File.Exists(_folder.EvalResults)) File.Copy(_folder.EvalResults, Path.Combine(tmp, History));
            File.WriteAllText(Path.Combine(tmp, ManifestFile), string.Create(CultureInfo.InvariantCulture, $"{{\"step\":{_step},\"w\":\"{FileHash.Sha256(Path.Combine(tmp, StateFile))}\"}}"));
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
            Directory.Move(tmp, dir);
            var c = new CheckpointRef(_step, _folder.Epoch, FileHash.Sha256(Path.Combine(dir, ManifestFile)));
            progress.Checkpoint(_step, loss);
            observer.Checkpointed(c, dir, loss);
            return c;
        }

        public void Dispose() { }
    }
}
