using System.Collections.Concurrent;
using System.Globalization;
using ActorLab.Actors.Node;
using ActorLab.Actors.Sweeps;
using ActorLab.Actors.Training;
using ActorLab.Model.Qa;

namespace ActorLab.Actors.Tests;

/// <summary>
/// A small deterministic stand-in for the science, to test scheduling, fencing, supervision and recovery fast:
/// the "model" is a vector w trained by SGD towards a per-batch target (so data parallel averaging is visible),
/// checkpoints are files in the run folder, and a resumed trainer continues from the latest one.
/// </summary>
public sealed class FakeBackend : ITrainingBackend
{
    public TimeSpan StepDelay { get; init; } = TimeSpan.FromMilliseconds(2);
    /// <summary>Runs whose trainer throws at this step (poison runs).</summary>
    public ConcurrentDictionary<string, long> FailAtStep { get; } = new();
    public ConcurrentBag<(string RunId, long Epoch, int Rank, long Step)> Trained { get; } = new();
    public ConcurrentBag<string> Measured { get; } = new();
    public int BatchesMade;

    public int SolveN(double targetBits, int relations) => (int)(targetBits / 10);

    public PreparedDataset PrepareDataset(DatasetSpec dataset, string dataDir, CancellationToken cancel)
    {
        var dir = Path.Combine(dataDir, "datasets", dataset.Key);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "profiles.txt"), dataset.NProfiles.ToString(CultureInfo.InvariantCulture));
        return new PreparedDataset(Path.Combine(dir, "profiles.txt"), Path.Combine(dir, "tokenizer"));
    }

    public IRunTrainer OpenTrainer(StartRun run, int rank, IAllReduce? allReduce) => new FakeTrainer(this, run, rank, allReduce);

    public IBatchSource OpenBatches(StartRun run, int rank) => new FakeSource(this, run.Run.Seed * 1000 + rank);

    public void MeasureCapacity(SweepSpec sweep, IReadOnlyList<(RunSpec Run, string RunDir)> runs, string outputDir, CancellationToken cancel)
    {
        File.WriteAllLines(Path.Combine(outputDir, "capacity_final_fake.csv"),
            runs.Select(r => $"{r.Run.RunId},{File.ReadAllLines(Path.Combine(r.RunDir, "eval.csv")).Length}"));
        Measured.Add(sweep.Name);
    }

    /// <summary>A batch whose single label encodes its target value for the fake model.</summary>
    public static TokenBatch Batch(long seed, long index) =>
        new(1, 2, [seed, index], [TokenBatch.Ignore, (seed * 7919 + index * 104729) % 1000], []);

    sealed class FakeSource(FakeBackend owner, long seed) : IBatchSource
    {
        public TokenBatch Get(long index)
        {
            Interlocked.Increment(ref owner.BatchesMade);
            return Batch(seed, index);
        }

        public void Dispose() { }
    }

    public sealed class FakeTrainer : IRunTrainer
    {
        readonly FakeBackend _owner;
        readonly StartRun _run;
        readonly int _rank;
        readonly IAllReduce? _allReduce;
        public float[] W = new float[4];

        public FakeTrainer(FakeBackend owner, StartRun run, int rank, IAllReduce? allReduce)
        {
            _owner = owner;
            _run = run;
            _rank = rank;
            _allReduce = allReduce;
            var latest = Directory.Exists(run.RunDir)
                ? Directory.GetFiles(run.RunDir, "checkpoint_*.txt").Select(f => long.Parse(Path.GetFileNameWithoutExtension(f)["checkpoint_".Length..]))
                    .DefaultIfEmpty(0).Max()
                : 0;
            Step = latest;
            if (latest > 0)
                W = File.ReadAllText(Path.Combine(run.RunDir, $"checkpoint_{latest}.txt")).Split(',').Select(x => float.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        }

        public long Step { get; private set; }
        public bool Converged => false;

        public double TrainStep(TokenBatch batch)
        {
            if (_owner.FailAtStep.TryGetValue(_run.RunId, out var at) && Step + 1 >= at) throw new InvalidOperationException("poisoned");
            Thread.Sleep(_owner.StepDelay);
            var target = batch.Labels[1] / 1000f;
            var grads = W.Select((w, i) => 2 * (w - target * (i + 1))).ToArray();
            var loss = W.Select((w, i) => (w - target * (i + 1)) * (w - target * (i + 1))).Sum();
            _allReduce?.AllReduceMean(_rank, [grads]);
            for (var i = 0; i < W.Length; i++) W[i] -= 0.1f * grads[i];
            Step++;
            _owner.Trained.Add((_run.RunId, _run.Epoch, _rank, Step));
            return loss;
        }

        public IReadOnlyDictionary<string, double> Evaluate()
        {
            File.AppendAllText(Path.Combine(_run.RunDir, "eval.csv"), $"{Step},{W.Sum()}\n");
            return new Dictionary<string, double> { ["train_onehop"] = W.Sum(), ["train_twohop"] = W[0] };
        }

        public string SaveCheckpoint()
        {
            var path = Path.Combine(_run.RunDir, $"checkpoint_{Step}.txt");
            ActorLab.Model.Common.AtomicFile.WriteAllText(path, string.Join(",", W.Select(w => w.ToString("R", CultureInfo.InvariantCulture))));
            return path;
        }

        public void Dispose() { }
    }
}
