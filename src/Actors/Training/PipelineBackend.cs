using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ActorLab.Actors.Node;
using ActorLab.Actors.Sweeps;
using ActorLab.Model.Capacity;
using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ActorLab.Actors.Training;

/// <summary>
/// The real science behind the actors: profiles (ProfileGenerator + parquet) and tokenizer (QaTokenizer) per
/// dataset, cached by content hash under `datasets/` and `tokenizers/`; TrainerCore replicas fed by QaStream
/// batches; capacity tables and plots (CapacityMeasurement, CapacityTables, CapacityPlots) per sweep.
/// </summary>
public sealed class PipelineBackend(int torchThreadsPerSlot = 1, Action<string>? warn = null) : ITrainingBackend
{
    readonly ConcurrentDictionary<string, Lazy<(ProfileDatabase Db, QaTokenizer Tok, QaTokenCache Cache)>> _datasets = new();
    /// <summary>Held-out splits per (run, epoch): the trainer makes or restores them, its batch sources use them.</summary>
    readonly ConcurrentDictionary<(string RunId, long Epoch), HeldOutSplits?> _splits = new();
    readonly Action<string> _warn = warn ?? (_ => { });
    static readonly object InitGate = new();

    public int SolveN(double targetBits, int relations) =>
        NSolver.Solve(targetBits, relations, ValueListSizes.Of(ValueLists.Default), SelectionScheme.Optimal).N;

    // ------------------------------------------------------------------ datasets

    /// <summary>Content key of a dataset: what determines its profiles, and (with the vocab) its tokenizer.</summary>
    public static string ContentHash(DatasetSpec d, bool withVocab)
    {
        var text = string.Create(CultureInfo.InvariantCulture,
            $"n={d.NProfiles};r={d.Relations};bipartite={d.Bipartite};seed={d.Seed};lists={ListsFingerprint.Value}{(withVocab ? $";vocab={d.VocabSize}" : "")}");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
    }

    static readonly Lazy<string> ListsFingerprint = new(() =>
    {
        var l = ValueLists.Default;
        return string.Join(",", new[] { l.FirstNames, l.Surnames, l.Cities, l.Universities, l.Employers }.Select(ValueLists.Fingerprint));
    });

    public PreparedDataset PrepareDataset(DatasetSpec d, string dataDir, CancellationToken cancel)
    {
        var profilesDir = Path.Combine(dataDir, "datasets", ContentHash(d, withVocab: false));
        var profiles = Path.Combine(profilesDir, $"profiles_dataset_{d.NProfiles}_{(d.Bipartite ? "bipartite" : "uniform")}_r{d.Relations}.parquet");
        ProfileDatabase? db = null;
        if (!File.Exists(profiles))
        {
            Directory.CreateDirectory(profilesDir);
            db = ProfileGenerator.Generate(new ProfileGeneratorConfig(d.NProfiles, d.Relations, d.Seed, d.Bipartite), ValueLists.Default);
            ProfileParquet.Write(db, profiles); // atomic: a crash leaves no half file
        }
        cancel.ThrowIfCancellationRequested();
        var tokenizer = Path.Combine(dataDir, "tokenizers", ContentHash(d, withVocab: true));
        if (!File.Exists(Path.Combine(tokenizer, QaTokenizer.HfTokenizerFile)) || !File.Exists(Path.Combine(tokenizer, QaTokenizer.ConfigFile)))
        {
            db ??= ProfileParquet.Read(profiles);
            var tok = QaTokenizer.Train(QaCorpus.Texts(db, d.Seed), d.VocabSize);
            // train into a temp folder and rename it into place, so a crash never leaves a partial tokenizer
            var tmp = tokenizer + $".{Environment.ProcessId}.tmp";
            if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
            Directory.CreateDirectory(tmp);
            tok.Save(tmp);
            if (Directory.Exists(tokenizer)) Directory.Delete(tokenizer, true);
            Directory.CreateDirectory(Path.GetDirectoryName(tokenizer)!);
            Directory.Move(tmp, tokenizer);
        }
        return new PreparedDataset(profiles, tokenizer);
    }

    (ProfileDatabase Db, QaTokenizer Tok, QaTokenCache Cache) Dataset(string profiles, string tokenizer) =>
        _datasets.GetOrAdd(profiles + "|" + tokenizer, _ => new(() =>
        {
            var db = ProfileParquet.Read(profiles);
            var tok = QaTokenizer.Load(tokenizer);
            return (db, tok, new QaTokenCache(db, tok));
        })).Value;

    // ------------------------------------------------------------------ training

    public static RunConfig ToRunConfig(StartRun run, string device) => new()
    {
        RunName = run.Run.RunName,
        Profiles = run.ProfilesPath,
        Tokenizer = run.TokenizerPath,
        NProfiles = run.Dataset.NProfiles,
        Relations = run.Dataset.Relations,
        NParams = run.Run.NParams,
        ParamBudget = run.Run.ParamBudget,
        Layers = run.Run.Layers,
        MinOrder = run.Run.MinOrder,
        MaxOrder = run.Run.MaxOrder,
        HopRatio = run.HopRatio,
        Optimizer = run.Training.Optimizer == "schedulefree" ? "schedulefree" : $"adamw_{run.Training.Schedule}",
        Lr = run.Training.Lr,
        Beta1 = run.Training.Beta1,
        Beta2 = run.Training.Beta2,
        WeightDecay = run.Training.WeightDecay,
        BatchSize = run.Training.BatchSize,
        SeqLen = run.Training.SeqLen,
        MaxSteps = run.Training.MaxSteps,
        Bipartite = run.Dataset.Bipartite,
        Seed = run.Run.Seed,
        Device = device,
    };

    QaStreamOptions StreamOptions(StartRun run, int rank) =>
        new(Enumerable.Range(run.Run.MinOrder, run.Run.MaxOrder - run.Run.MinOrder + 1).ToArray(), run.HopRatio,
            run.Training.SeqLen, run.Training.BatchSize, Seed: run.Run.Seed, Rank: rank);

    public IRunTrainer OpenTrainer(StartRun run, int rank, IAllReduce? allReduce)
    {
        var (db, tok, cache) = Dataset(run.ProfilesPath, run.TokenizerPath);
        var device = DeviceProbe.CudaDevices() > 0 ? $"cuda:{run.Slots[rank] % DeviceProbe.CudaDevices()}" : "cpu";
        var options = new TrainerOptions
        {
            VocabSize = tok.VocabSize,
            Device = device,
            Threads = device == "cpu" ? torchThreadsPerSlot : 0,
            KeepLast = run.Training.KeepLastCheckpoints,
            // checkpoints at eval steps are kept besides the last k (SPEC: keep the eval-schedule ones)
            Schedule = CheckpointSchedule.Explicit(EvalSchedule.Steps(run.Training.EvalSteps, run.Training.MaxSteps)),
            WarmupSteps = run.Training.WarmupSteps,
            EvalQuestions = run.Training.EvalQuestions,
            Resume = true,
            Gradients = allReduce is null ? LocalGradients.Instance : new AllReduceGradients(allReduce, rank),
            Warn = _warn,
        };
        // torch's generator is process-wide: seeding and building a replica must not interleave with another
        // replica's, or data-parallel ranks would start from different weights
        TrainerCore core;
        lock (InitGate) core = TrainerCore.Create(ToRunConfig(run, device), run.RunDir, options);
        try
        {
            HeldOutSplits? splits = null;
            if (core.Attachments.TryGetValue(TrainingSession.SplitsAttachment, out var bytes))
            {
                using var ms = new MemoryStream(bytes);
                splits = HeldOutSplits.ReadFrom(ms, db);
            }
            else if (run.Run.MaxOrder >= 2)
            {
                splits = HeldOutSplits.Build(db, run.Run.Seed);
                using var ms = new MemoryStream();
                splits.WriteTo(ms);
                core.Attachments[TrainingSession.SplitsAttachment] = ms.ToArray();
            }
            _splits[(run.RunId, run.Epoch)] = splits;
            return new PipelineTrainer(this, run, rank, core, db, tok, cache, splits, StreamOptions(run, rank));
        }
        catch
        {
            core.Dispose();
            throw;
        }
    }

    public IBatchSource OpenBatches(StartRun run, int rank)
    {
        var (db, tok, cache) = Dataset(run.ProfilesPath, run.TokenizerPath);
        if (!_splits.TryGetValue((run.RunId, run.Epoch), out var splits))
            throw new InvalidOperationException($"run {run.RunId} epoch {run.Epoch}: open the trainer before its batches");
        return new StreamSource(new QaStream(db, tok, splits, StreamOptions(run, rank), cache));
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

    /// <summary>TrainerCore's gradient seam on top of an <see cref="IAllReduce"/>: all gradients in one flat buffer.</summary>
    sealed class AllReduceGradients(IAllReduce allReduce, int rank) : IGradientExchange
    {
        float[] _flat = [];

        public void AllReduce(IReadOnlyList<Tensor> grads)
        {
            long total = 0;
            foreach (var g in grads) total += g.numel();
            if (_flat.Length != total) _flat = new float[total];
            long offset = 0;
            foreach (var g in grads)
            {
                var n = (int)g.numel();
                using var cpu = g.detach().to(CPU).contiguous().reshape(-1);
                cpu.data<float>().CopyTo(_flat, (int)offset);
                offset += n;
            }
            allReduce.AllReduceMean(rank, [_flat]);
            offset = 0;
            foreach (var g in grads)
            {
                var n = (int)g.numel();
                using var mean = torch.tensor(_flat.AsSpan((int)offset, n).ToArray(), g.shape).to(g.device);
                using (torch.no_grad()) g.copy_(mean);
                offset += n;
            }
        }
    }

    sealed class PipelineTrainer(
        PipelineBackend owner, StartRun run, int rank, TrainerCore core, ProfileDatabase db, QaTokenizer tok, QaTokenCache cache,
        HeldOutSplits? splits, QaStreamOptions options) : IRunTrainer
    {
        readonly Dictionary<EvalMode, List<LossPoint>> _curves = new();

        public long Step => core.Step;

        public double TrainStep(TokenBatch batch) => core.TrainStep(batch).Loss;

        public IReadOnlyDictionary<string, double> Evaluate()
        {
            // a small dataset can leave a held-out set empty (e.g. no person-relation pair): that mode is not asked
            IReadOnlyList<EvalMode> modes = splits is null
                ? [EvalMode.TrainOnehop]
                : EvalModes.All.Where(m => HeldOutSplits.ClassOf(m) is not { } c || splits.CountOf(c) > 0).ToList();
            var report = core.Evaluate(mode => new QaStream(db, tok, splits, options with { Mode = mode, Curriculum = false, Rank = 0 }, cache).Next, modes);
            EvalResultsCsv.Append(core.RunDir, report);
            EvalResultsCsv.AppendSubjectwise(core.RunDir, report);
            foreach (var m in report.Modes)
            {
                if (!_curves.TryGetValue(m.Mode, out var curve)) _curves[m.Mode] = curve = [];
                curve.Add(new LossPoint(report.Step, m.Loss));
            }
            return report.Modes.ToDictionary(m => m.Mode.Name(), m => m.Loss);
        }

        /// <summary>SPEC 5 rule on the eval points seen by this attempt (train_onehop, and train_twohop when trained).</summary>
        public bool Converged
        {
            get
            {
                IReadOnlyList<EvalMode> required = splits is null ? [EvalMode.TrainOnehop] : [EvalMode.TrainOnehop, EvalMode.TrainTwohop];
                var curves = _curves.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<LossPoint>)kv.Value);
                return Convergence.Assess(curves, required, ConvergenceConfig.Default with { MinStep = run.Training.ConvergenceMinStep, Threshold = run.Training.ConvergenceThreshold }).Converged;
            }
        }

        public string SaveCheckpoint() => core.SaveCheckpoint();

        public void Dispose()
        {
            owner._splits.TryRemove((run.RunId, run.Epoch), out _);
            core.Dispose();
        }
    }

    // ------------------------------------------------------------------ capacity

    public void MeasureCapacity(SweepSpec sweep, IReadOnlyList<(RunSpec Run, string RunDir)> runs, string outputDir, CancellationToken cancel)
    {
        if (runs.Count == 0) throw new UserInputException($"sweep {sweep.Name}: no run completed, nothing to measure");
        var resultsDir = Path.GetDirectoryName(runs[0].RunDir)!;
        var dataDir = Path.GetFullPath(Path.Combine(resultsDir, "..", ".."));
        var options = new MeasureOptions
        {
            ResultsDir = resultsDir,
            ProfilesDirs = sweep.Datasets.Select(d => Path.Combine(dataDir, "datasets", ContentHash(d, withVocab: false))).Where(Directory.Exists).ToList(),
            LoadProfiles = ProfileParquet.Read,
            Lists = ValueListSizes.Of(ValueLists.Default),
            MaxParallelism = 2,
        };
        var report = CapacityMeasurement.Measure(options);
        foreach (var w in report.Warnings) _warn(w);
        foreach (var (run, reason) in report.Skipped) _warn($"skipped run {run}: {reason}");
        if (report.Runs.Count == 0) throw new UserInputException($"sweep {sweep.Name}: all {report.Skipped.Count} runs were skipped");
        CapacityTables.Write(outputDir, report);
        var warnings = new List<string>();
        var hops = sweep.Runs.Any(r => r.MaxOrder >= 2) ? new[] { 1.0, 2.0 } : [1.0];
        // generalisation-gap plots per run once (with the hops-1 set), the capacity plots per hop level
        foreach (var h in hops) CapacityPlots.Write(outputDir, report, h, maxRunPlots: h == 1.0 ? 20 : 0, h == 1.0 ? warnings : []);
        foreach (var w in warnings) _warn(w);
    }
}
