using System.Diagnostics;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;

namespace ActorLab.Model.Training;

/// <summary>Progress of a training session, reported after every step.</summary>
public readonly record struct TrainProgress(StepResult Last, long MaxSteps, double StepsPerSecond, double TokensPerSecond, TimeSpan Eta, double DataWaitFraction);

/// <summary>
/// A single-device training run end to end: profiles + tokenizer -> held-out splits -> Q&amp;A stream (prefetched)
/// -> <see cref="TrainerCore"/>, with evaluation and checkpoints on the schedule and the optional curriculum
/// switch. The held-out splits and the curriculum phase travel in checkpoints, the stream resumes at
/// <see cref="TrainerCore.StreamPosition"/>. This is what `actorlab train` runs; trainer actors use TrainerCore directly.
/// </summary>
public sealed class TrainingSession : IDisposable
{
    public const string SplitsAttachment = "splits.bin";
    const string CurriculumKey = "curriculum_phase";

    public TrainerCore Core { get; }
    public ProfileDatabase Db { get; }
    public QaTokenizer Tokenizer { get; }
    public HeldOutSplits? Splits { get; }
    readonly QaTokenCache cache;
    readonly QaStreamOptions streamOptions;
    readonly QaStream stream;
    BatchPrefetcher? prefetcher;

    /// <summary>How often (steps) the curriculum re-checks train_onehop besides the eval schedule.</summary>
    public long CurriculumCheckEvery { get; init; } = 1000;

    TrainingSession(TrainerCore core, ProfileDatabase db, QaTokenizer tok, bool forTraining)
    {
        Core = core;
        Db = db;
        Tokenizer = tok;
        var run = core.Run;
        if (db.Count != run.NProfiles || db.RelationCount != run.Relations)
            throw new Common.UserInputException(
                $"profiles have N={db.Count}, R={db.RelationCount} but the run was made for N={run.NProfiles}, R={run.Relations}");
        var orders = Enumerable.Range(run.MinOrder, run.MaxOrder - run.MinOrder + 1).ToArray();
        streamOptions = new QaStreamOptions(orders, run.HopRatio, run.SeqLen, run.BatchSize, run.Cot, run.Seed, Curriculum: run.Curriculum);
        QaStream.Validate(streamOptions);
        if (core.Attachments.TryGetValue(SplitsAttachment, out var bytes))
        {
            using var ms = new MemoryStream(bytes);
            Splits = HeldOutSplits.ReadFrom(ms, db);
        }
        else if (run.MaxOrder >= 2)
        {
            Splits = HeldOutSplits.Build(db, run.Seed);
            using var ms = new MemoryStream();
            Splits.WriteTo(ms);
            core.Attachments[SplitsAttachment] = ms.ToArray();
        }
        cache = new QaTokenCache(db, tok);
        stream = new QaStream(db, tok, Splits, streamOptions, cache, core.StreamPosition);
        if (core.Extra.GetValueOrDefault(CurriculumKey) == "twohop") stream.SetCurriculumPhase(true);
        if (forTraining) prefetcher = new BatchPrefetcher(stream);
    }

    /// <summary>Starts or resumes the run in <paramref name="runDir"/> (see <see cref="TrainerCore.Create"/>).</summary>
    public static TrainingSession Open(RunConfig run, string runDir, TrainerOptions options, ProfileDatabase db, QaTokenizer tok)
    {
        var core = TrainerCore.Create(run with { NProfiles = db.Count, Relations = db.RelationCount }, runDir, options with { VocabSize = tok.VocabSize });
        try { return new TrainingSession(core, db, tok, forTraining: true); }
        catch { core.Dispose(); throw; }
    }

    /// <summary>Opens a saved checkpoint for evaluation (no training stream).</summary>
    public static TrainingSession OpenCheckpoint(string checkpointDir, TrainerOptions options, ProfileDatabase db, QaTokenizer tok)
    {
        var core = TrainerCore.Open(checkpointDir, options);
        if (core.Model.Config.VocabSize != tok.VocabSize)
        {
            core.Dispose();
            throw new Common.UserInputException($"checkpoint '{checkpointDir}' has vocab {core.Model.Config.VocabSize}, the tokenizer has {tok.VocabSize}");
        }
        try { return new TrainingSession(core, db, tok, forTraining: false); }
        catch { core.Dispose(); throw; }
    }

    public bool InTwoHopPhase => stream.InTwoHopPhase;

    /// <summary>Eval modes of this run: all nine when 2-hop questions are trained, else train_onehop.</summary>
    public IReadOnlyList<EvalMode> EvalModes => Splits is null ? [EvalMode.TrainOnehop] : Qa.EvalModes.All;

    public TimeSpan DataWaitTime => prefetcher?.WaitTime ?? TimeSpan.Zero;

    public StepResult TrainStep() => Core.TrainStep(prefetcher!.Take());

    /// <summary>
    /// Evaluates <paramref name="modes"/> (default: all of this run's). Eval questions come from a fixed stream per
    /// mode (seed of the run, batch 0 on), so every evaluation of a run asks the same questions.
    /// </summary>
    public EvalReport Evaluate(IReadOnlyList<EvalMode>? modes = null) =>
        Core.Evaluate(mode =>
        {
            var s = new QaStream(Db, Tokenizer, Splits, streamOptions with { Mode = mode, Curriculum = false }, cache);
            return s.Next;
        }, modes ?? EvalModes);

    /// <summary>Evaluates, appends eval_results.csv (+ eval_results_full.csv per subject), checkpoints.</summary>
    public (EvalReport Report, string Checkpoint) EvaluateAndCheckpoint()
    {
        var report = Evaluate();
        EvalResultsCsv.Append(Core.RunDir, report);
        EvalResultsCsv.AppendSubjectwise(Core.RunDir, report);
        MaybeSwitchCurriculum(report);
        return (report, Core.SaveCheckpoint());
    }

    void MaybeSwitchCurriculum(EvalReport report)
    {
        if (!Core.Run.Curriculum || stream.InTwoHopPhase || Splits is null) return;
        if (report[EvalMode.TrainOnehop] is { Loss: < 1.0 })
        {
            Core.Extra[CurriculumKey] = "twohop";
            Core.Extra["curriculum_switch_step"] = Core.Step.ToString();
            prefetcher?.Restart(Core.StreamPosition, s => s.SetCurriculumPhase(true));
        }
    }

    /// <summary>
    /// Trains until <see cref="RunConfig.MaxSteps"/>, evaluating and checkpointing on the schedule and at the last
    /// step. <paramref name="onCheckpoint"/> sees each eval report. Cancellation checkpoints and returns.
    /// </summary>
    public void Run(Action<TrainProgress>? onStep = null, Action<EvalReport, string>? onCheckpoint = null, CancellationToken cancel = default)
    {
        var max = Core.Run.MaxSteps;
        var sw = Stopwatch.StartNew();
        var startStep = Core.Step;
        long tokens = 0;
        var lastSaved = -1L;
        while (Core.Step < max && !cancel.IsCancellationRequested)
        {
            var r = TrainStep();
            tokens += r.Tokens;
            if (Core.Options.Schedule.IsDue(Core.Step) || Core.Step == max)
            {
                var (report, dir) = EvaluateAndCheckpoint();
                lastSaved = Core.Step;
                onCheckpoint?.Invoke(report, dir);
            }
            else if (Core.Run.Curriculum && !stream.InTwoHopPhase && CurriculumCheckEvery > 0 && Core.Step % CurriculumCheckEvery == 0)
                MaybeSwitchCurriculum(Evaluate([EvalMode.TrainOnehop]));
            var secs = sw.Elapsed.TotalSeconds;
            var done = Core.Step - startStep;
            var sps = done / Math.Max(secs, 1e-9);
            onStep?.Invoke(new TrainProgress(r, max, sps, tokens / Math.Max(secs, 1e-9),
                TimeSpan.FromSeconds(sps > 0 ? (max - Core.Step) / sps : 0), DataWaitTime.TotalSeconds / Math.Max(secs, 1e-9)));
        }
        if (cancel.IsCancellationRequested && lastSaved != Core.Step && Core.Step > startStep)
            Core.SaveCheckpoint();
    }

    public void Dispose()
    {
        prefetcher?.Dispose();
        Core.Dispose();
    }
}
