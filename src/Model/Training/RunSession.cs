using System.Diagnostics;
using ActorLab.Model.Capacity;
using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Storage;

namespace ActorLab.Model.Training;

/// <summary>
/// One run on one replica, end to end: held-out splits, the Q&amp;A stream, the eval modes and schedule, eval
/// results and progress files, the convergence rule, the curriculum, chain-of-thought answers and the checkpoint
/// policy. `actorlab train` and the trainer actor both drive it (with a prefetcher or data-generator actors as
/// the <see cref="IBatchFeed"/>); gradient exchange and the stop and curriculum agreements between replicas go
/// through <see cref="IReplicaGroup"/>. The leader (rank 0) evaluates and writes; other replicas only train.
/// Under a lease (<see cref="RunFolder.Epoch"/> set) the session resumes only from the checkpoint the journal
/// recorded and writes only its own epoch's files; without one it resumes from the newest valid checkpoint.
/// Splits, the curriculum phase and the eval history travel in every checkpoint.
/// </summary>
public sealed class RunSession : IDisposable
{
    public const string SplitsAttachment = "splits.bin";
    const string HistoryAttachment = "eval_results.csv", FullHistoryAttachment = "eval_results_full.csv";
    const string CurriculumKey = "curriculum_phase", CurriculumStepKey = "curriculum_switch_step";

    /// <summary>The curriculum leaves the 1-hop phase once train_onehop eval loss is below this (SPEC 2: 1.0 nats).</summary>
    public double CurriculumThreshold { get; set; } = 1.0;
    /// <summary>How often (steps) the curriculum re-checks train_onehop besides the eval schedule.</summary>
    public const long CurriculumCheckEvery = 1000;

    readonly QaStreamOptions _stream;
    readonly Dictionary<EvalMode, List<LossPoint>> _curves = new();
    readonly ProgressCsv? _progress;
    readonly TensorBoardLog? _tensorboard;
    bool _twoHopPhase;
    long _lastEvalStep = -1;
    CheckpointRef? _lastCheckpoint;
    double _lastLoss = double.NaN;

    public RunConfig Config => Core.Run;
    public RunFolder Folder { get; }
    public TrainerCore Core { get; }
    public LoadedDataset Data { get; }
    public HeldOutSplits? Splits { get; }
    public IReplicaGroup Group { get; }
    public bool IsLeader => Group.IsLeader;
    public bool InTwoHopPhase => _twoHopPhase;

    RunSession(TrainerCore core, RunFolder folder, LoadedDataset data, IReplicaGroup? group, bool training)
    {
        Core = core;
        Folder = folder;
        Data = data;
        var run = core.Run;
        if (data.Db.Count != run.NProfiles || data.Db.RelationCount != run.Relations)
            throw new UserInputException(
                $"profiles have N={data.Db.Count}, R={data.Db.RelationCount} but the run was made for N={run.NProfiles}, R={run.Relations}");
        _stream = new QaStreamOptions(run.Orders, run.HopRatio, run.SeqLen, run.BatchSize, run.Cot, run.Seed, Curriculum: run.Curriculum);
        QaStream.Validate(_stream);
        if (core.Attachments.TryGetValue(SplitsAttachment, out var bytes))
        {
            using var ms = new MemoryStream(bytes);
            Splits = HeldOutSplits.ReadFrom(ms, data.Db);
        }
        else if (run.TrainsTwoHop)
        {
            Splits = HeldOutSplits.Build(data.Db, run.Seed);
            using var ms = new MemoryStream();
            Splits.WriteTo(ms);
            core.Attachments[SplitsAttachment] = ms.ToArray();
        }
        _twoHopPhase = !run.Curriculum || core.Extra.GetValueOrDefault(CurriculumKey) == "twohop";
        Group = group ?? new SingleReplica(_twoHopPhase);
        if (!training || !Group.IsLeader) return;
        SeedEvalHistory();
        _progress = new ProgressCsv(folder.Progress, folder.Epoch);
        _tensorboard = new TensorBoardLog(folder.TensorBoard, folder.Epoch);
    }

    /// <summary>
    /// Starts or resumes the run in <paramref name="folder"/>. Without an epoch: from the newest valid checkpoint
    /// (<see cref="TrainerOptions.Resume"/>). With one: from <paramref name="recorded"/> exactly, or fresh.
    /// </summary>
    public static RunSession Open(RunConfig run, RunFolder folder, LoadedDataset data, TrainerOptions options,
        IReplicaGroup? group = null, CheckpointRef? recorded = null)
    {
        run = run with { NProfiles = data.Db.Count, Relations = data.Db.RelationCount };
        options = options with { VocabSize = data.Tokenizer.VocabSize, Gradients = group ?? options.Gradients };
        // the leader writes the epoch's files, so it alone clears their names (the other ranks write nothing)
        if ((group?.IsLeader ?? true) && folder.SetAsideStale() is { } moved)
            options.Warn($"run {folder.Dir}: files named for epoch {folder.Epoch} were already there (left by a journal that was lost or replaced); moved to {moved}");
        var core = folder.Epoch is null
            ? TrainerCore.Create(run, folder.Dir, options)
            : TrainerCore.CreateAt(run, folder.Dir, options, recorded);
        try { return new RunSession(core, folder, data, group, training: true); }
        catch { core.Dispose(); throw; }
    }

    /// <summary>Opens a saved checkpoint for evaluation or probing (no training, nothing written).</summary>
    public static RunSession OpenCheckpoint(string checkpointDir, TrainerOptions options, LoadedDataset data, int? evalQuestions = null)
    {
        var core = TrainerCore.Open(checkpointDir, options, evalQuestions);
        if (core.Model.Config.VocabSize != data.Tokenizer.VocabSize)
        {
            core.Dispose();
            throw new UserInputException($"checkpoint '{checkpointDir}' has vocab {core.Model.Config.VocabSize}, the tokenizer has {data.Tokenizer.VocabSize}");
        }
        try { return new RunSession(core, new RunFolder(core.RunDir, null), data, null, training: false); }
        catch { core.Dispose(); throw; }
    }

    /// <summary>
    /// Eval modes of this run: all nine when 2-hop questions are trained, else train_onehop. A held-out set that came
    /// out empty (tiny databases only: every set has at least one member before the peeling of SPEC 2.3) is left out.
    /// </summary>
    public IReadOnlyList<EvalMode> EvalModes => Splits is null
        ? [EvalMode.TrainOnehop]
        : Qa.EvalModes.All.Where(m => m switch
        {
            EvalMode.TrainOnehop => true,
            EvalMode.TrainTwohop => Splits.CountOf(HeldOutSplits.TupleClass.Available) > 0,
            EvalMode.EvalFirstPeople => Splits.FirstPeople.Length > 0,
            _ => HeldOutSplits.ClassOf(m) is { } c && Splits.CountOf(c) > 0,
        }).ToArray();

    /// <summary>A fresh training stream of this replica (seek it to a position), in the given curriculum phase.</summary>
    public QaStream OpenTrainingStream(bool twoHopPhase)
    {
        var s = new QaStream(Data.Db, Data.Tokenizer, Splits, _stream with { Rank = Group.Rank }, Data.Cache, Core.StreamPosition);
        s.SetCurriculumPhase(twoHopPhase);
        return s;
    }

    /// <summary>The prefetching feed `actorlab train` uses, positioned where the run resumes.</summary>
    public BatchPrefetcher OpenPrefetcher() => new(OpenTrainingStream(_twoHopPhase));

    /// <summary>
    /// Evaluates <paramref name="modes"/> (default: all of this run's). Eval questions come from a fixed stream per
    /// mode (the run's seed, rank 0, batch 0 on), so every evaluation of a run asks the same questions.
    /// </summary>
    public EvalReport Evaluate(IReadOnlyList<EvalMode>? modes = null, CancellationToken cancel = default) =>
        Core.Evaluate(mode =>
        {
            var s = new QaStream(Data.Db, Data.Tokenizer, Splits, _stream with { Mode = mode, Curriculum = false, Rank = 0 }, Data.Cache);
            return s.Next;
        }, modes ?? EvalModes, cancel);

    /// <summary>
    /// Subject-wise evaluation for eval_results_full.csv: every mode asks every subject of the database, at least
    /// <see cref="RunConfig.EvalQuestions"/> questions each (the reference asks >= 1000 per subject). 2-hop modes draw
    /// (p, r) from their tuples and replace the subject, as the reference, so train_twohop asks the held-out second
    /// attribute too. Fixed streams per (mode, subject): every evaluation asks the same questions.
    /// </summary>
    public EvalReport EvaluateSubjectwise(IReadOnlyList<EvalMode>? modes = null, CancellationToken cancel = default, bool histograms = false) =>
        Core.EvaluateSubjectwise((mode, subject) =>
        {
            var s = new QaStream(Data.Db, Data.Tokenizer, Splits, _stream with { Mode = mode, Curriculum = false, Rank = 0, Subject = subject }, Data.Cache);
            return s.Next;
        }, modes ?? EvalModes, Enumerable.Range(0, Subjects.Count(Data.Db.RelationCount)).ToArray(), cancel, histograms);

    /// <summary>
    /// Trains until the step cap, an agreed stop or convergence, evaluating and checkpointing on the run's schedule
    /// and at the end. Cancellation aborts at once (between steps or eval batches) without a checkpoint: that is
    /// for a lost lease or a shutdown; a cooperative suspend goes through <see cref="IReplicaGroup.RequestStop"/>.
    /// </summary>
    public RunOutcome Run(IBatchFeed feed, IRunObserver? observer = null, CancellationToken cancel = default)
    {
        observer ??= NoObserver.Instance;
        var run = Config;
        var sw = Stopwatch.StartNew();
        var startStep = Core.Step;
        long tokens = 0;
        _progress?.Start(startStep);
        _progress?.Flush();
        observer.Started(startStep, Core.ResumedFrom);
        while (Core.Step < run.MaxSteps)
        {
            if (Group.AgreedStop != RunStop.None) break;
            cancel.ThrowIfCancellationRequested();
            if (Group.AgreedTwoHopPhase && !_twoHopPhase) EnterTwoHopPhase(feed);

            // a non-finite loss stops the run in TrainStep (UserInputException): a diverged run is not retried blindly
            var r = Core.TrainStep(feed.Take(cancel));
            _lastLoss = r.Loss;
            tokens += r.Tokens;
            var secs = Math.Max(sw.Elapsed.TotalSeconds, 1e-9);
            var sps = (Core.Step - startStep) / secs;
            _progress?.Step(r, tokens / secs);
            _tensorboard?.Step(r, tokens / secs);
            observer.Stepped(new TrainProgress(r, run.MaxSteps, sps, tokens / secs,
                TimeSpan.FromSeconds(sps > 0 ? (run.MaxSteps - Core.Step) / sps : 0), feed.WaitTime.TotalSeconds / secs));
            if (!IsLeader) continue;

            var step = Core.Step;
            if (run.EvalSchedule.IsDue(step) && step < run.MaxSteps)
            {
                var report = EvaluateAndRecord(observer, cancel);
                Checkpoint(observer);
                MaybeConverged();
                MaybeLeaveOneHopPhase(report);
            }
            else
            {
                if (run.CheckpointEvery > 0 && step % run.CheckpointEvery == 0) Checkpoint(observer);
                if (run.Curriculum && !_twoHopPhase && Splits != null && step % CurriculumCheckEvery == 0)
                    MaybeLeaveOneHopPhase(Evaluate([EvalMode.TrainOnehop], cancel));
            }
        }

        var stop = Core.Step >= run.MaxSteps ? RunStop.Complete : Group.AgreedStop;
        var reason = Core.Step >= run.MaxSteps ? "step cap" : stop switch
        {
            RunStop.Complete => "converged",
            RunStop.Suspend => "suspended",
            _ => "cancelled",
        };
        string? resultsSha = null;
        if (IsLeader && stop == RunStop.Complete)
        {
            // capacity reads the final losses: evaluate and keep the final model unless that just happened
            if (_lastEvalStep != Core.Step) EvaluateAndRecord(observer, cancel);
            if (_lastCheckpoint?.Step != Core.Step) Checkpoint(observer);
            resultsSha = FileHash.Sha256(Folder.EvalResults);
        }
        else if (IsLeader && stop == RunStop.Suspend && Core.Step > (_lastCheckpoint?.Step ?? startStep))
            Checkpoint(observer);
        _progress?.Flush();
        var end = stop switch { RunStop.Complete => RunEnd.Completed, RunStop.Suspend => RunEnd.Suspended, _ => RunEnd.Cancelled };
        return new RunOutcome(end, Core.Step, reason, _lastCheckpoint, resultsSha);
    }

    EvalReport EvaluateAndRecord(IRunObserver observer, CancellationToken cancel)
    {
        var report = Evaluate(null, cancel);
        EvalResultsCsv.Append(Folder.EvalResults, report);
        _tensorboard?.Evaluated(report);
        if (Config.SubjectwiseEvals) EvalResultsCsv.AppendSubjectwise(Folder.EvalResultsFull, EvaluateSubjectwise(null, cancel));
        _lastEvalStep = report.Step;
        foreach (var m in report.Modes) AddPoint(m.Mode, report.Step, m.Loss);
        observer.Evaluated(report);
        return report;
    }

    void Checkpoint(IRunObserver observer)
    {
        // the eval history travels with the checkpoint: a run resumed under a new lease starts its files from it
        foreach (var (name, path) in new[] { (HistoryAttachment, Folder.EvalResults), (FullHistoryAttachment, Folder.EvalResultsFull) })
            if (File.Exists(path)) Core.Attachments[name] = File.ReadAllBytes(path);
        var (dir, saved) = Core.SaveCheckpoint(Folder.Epoch);
        _lastCheckpoint = saved;
        _progress?.Checkpoint(saved.Step, _lastLoss);
        observer.Checkpointed(saved, dir, _lastLoss);
    }

    /// <summary>SPEC 5 on the eval points so far (train_onehop, and train_twohop when trained): agree to stop.</summary>
    void MaybeConverged()
    {
        var c = Config.Convergence;
        if (!c.Enabled || Core.Step < c.MinStep) return;
        IReadOnlyList<EvalMode> required = Splits is null ? [EvalMode.TrainOnehop] : [EvalMode.TrainOnehop, EvalMode.TrainTwohop];
        var curves = _curves.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<LossPoint>)kv.Value);
        if (Capacity.Convergence.Assess(curves, required, c.Rule).Converged) Group.RequestStop(RunStop.Complete);
    }

    void MaybeLeaveOneHopPhase(EvalReport report)
    {
        if (!Config.Curriculum || _twoHopPhase || Splits is null) return;
        if (report[EvalMode.TrainOnehop] is { } onehop && onehop.Loss < CurriculumThreshold) Group.RequestTwoHopPhase();
    }

    /// <summary>All replicas agreed (after the same step): the stream switches to the 2-hop mix from here.</summary>
    void EnterTwoHopPhase(IBatchFeed feed)
    {
        _twoHopPhase = true;
        Core.Extra[CurriculumKey] = "twohop";
        Core.Extra[CurriculumStepKey] = Core.Step.ToString(System.Globalization.CultureInfo.InvariantCulture);
        feed.Restart(Core.StreamPosition, twoHopPhase: true);
    }

    /// <summary>
    /// The eval history at the resumed step: under a lease, the checkpoint's copy seeds this epoch's files; an
    /// unfenced run keeps its files and reads the points up to the resumed step back for the convergence rule.
    /// </summary>
    void SeedEvalHistory()
    {
        if (Folder.Epoch != null && Core.ResumedFrom != null)
            foreach (var (name, path) in new[] { (HistoryAttachment, Folder.EvalResults), (FullHistoryAttachment, Folder.EvalResultsFull) })
                if (Core.Attachments.TryGetValue(name, out var bytes)) AtomicFile.WriteAllBytes(path, bytes);
        if (!File.Exists(Folder.EvalResults)) return;
        var warnings = new List<string>();
        foreach (var row in ResultsReader.ReadEvalCsv(Folder.EvalResults, Config.Relations, subjectwise: false, warnings))
            if (row.Step <= Core.Step) AddPoint(row.Mode, row.Step, row.Loss);
        foreach (var c in _curves.Values) c.Sort((a, b) => a.Step.CompareTo(b.Step));
    }

    void AddPoint(EvalMode mode, long step, double loss)
    {
        if (!_curves.TryGetValue(mode, out var curve)) _curves[mode] = curve = [];
        curve.RemoveAll(p => p.Step == step);
        curve.Add(new LossPoint(step, loss));
    }

    public void Dispose()
    {
        _progress?.Dispose();
        Core.Dispose();
    }

    sealed class NoObserver : IRunObserver
    {
        public static readonly NoObserver Instance = new();
    }
}
