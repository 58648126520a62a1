using ActorLab.Model.Common;
using ActorLab.Model.Qa;
using ActorLab.Model.Storage;
using ActorLab.Model.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace ActorLab.Model.Training;

/// <summary>
/// One model replica on one device: builds or resumes a run, takes training steps on <see cref="TokenBatch"/>es,
/// evaluates eval modes, writes eval results and checkpoints. It does not own a data stream: the caller (the CLI
/// loop or a trainer actor) feeds batches and keeps the stream at <see cref="StreamPosition"/>.
/// </summary>
public sealed class TrainerCore : IDisposable
{
    public RunConfig Run { get; }
    public string RunDir { get; }
    public TrainerOptions Options { get; }
    public LlamaMup Model { get; }
    public ITrainingOptimizer Optimizer { get; }
    public Device Device { get; }
    public long Step { get; private set; }
    /// <summary>Training batches consumed so far; saved in checkpoints so the stream resumes at this batch index.</summary>
    public long StreamPosition { get; set; }
    /// <summary>Caller state saved with each checkpoint (e.g. curriculum phase).</summary>
    public Dictionary<string, string> Extra { get; } = new();
    /// <summary>Opaque files saved with each checkpoint (e.g. "splits.bin", the held-out splits).</summary>
    public Dictionary<string, byte[]> Attachments { get; } = new();
    /// <summary>The checkpoint this trainer resumed from, or null for a fresh run.</summary>
    public string? ResumedFrom { get; }

    readonly TorchSharp.Modules.Parameter[] parameters;

    TrainerCore(RunConfig run, string runDir, TrainerOptions options, LlamaMupConfig modelConfig, CheckpointData? resume, string? resumedFrom, bool writeRunJson = true)
    {
        Options = options;
        RunDir = runDir;
        Device = ParseDevice(options.Device);
        if (options.Threads > 0) torch.set_num_threads(options.Threads);
        torch.manual_seed(run.Seed);
        Model = new LlamaMup(modelConfig, run.Seed);
        Model.to(Device);
        if (options.Amp == "bf16") Model.Precision.Compute = ScalarType.BFloat16;
        Run = run with { NParams = Model.ParameterCount, Device = options.Device };
        parameters = Model.parameters().ToArray();
        Optimizer = BuildOptimizer(Run, Model, options);
        ResumedFrom = resumedFrom;
        if (resume != null) Restore(resume);
        if (!writeRunJson) return;
        Directory.CreateDirectory(runDir);
        Run.Save(runDir);
    }

    /// <summary>
    /// Opens a run directory: resumes from its newest valid checkpoint (falling back past damaged ones with a
    /// warning) or starts a new run from <paramref name="run"/>'s seed. Writes run.json with the real parameter count.
    /// </summary>
    public static TrainerCore Create(RunConfig run, string runDir, TrainerOptions options)
    {
        Validate(run, options);
        var existing = Checkpoints.List(runDir);
        if (existing.Count == 0) return new TrainerCore(run, runDir, options, PlanModel(run, options.VocabSize), null, null);
        if (!options.Resume)
            throw new UserInputException($"run directory '{runDir}' already has checkpoints; resume it or choose another output folder");
        var latest = Checkpoints.ReadLatestValid(runDir, options.Warn)
                     ?? throw new UserInputException($"run directory '{runDir}' has checkpoints but none is valid");
        return Resume(run, runDir, options, latest.Dir, latest.Data);
    }

    /// <summary>
    /// Opens a run under a lease: from the checkpoint the journal recorded (its manifest must have the recorded
    /// SHA-256), or fresh when none is recorded, whatever else lies in the folder (a stale lease's files). A recorded
    /// checkpoint that is gone, damaged or not this run's falls back, with a warning, to the newest older one of this
    /// run that verifies (written by the recorded lease or an earlier one, never a later step: what a stale holder
    /// wrote past the record was never accepted), else to a fresh start: training is deterministic, so the run
    /// retrains the lost steps and ends with the same results.
    /// </summary>
    public static TrainerCore CreateAt(RunConfig run, string runDir, TrainerOptions options, CheckpointRef? recorded)
    {
        Validate(run, options);
        if (recorded is null) return new TrainerCore(run, runDir, options, PlanModel(run, options.VocabSize), null, null);
        var dir = Checkpoints.DirFor(runDir, recorded.Step, recorded.Epoch);
        try { return Resume(run, runDir, options, dir, Checkpoints.ReadRecorded(dir, recorded.Sha256)); }
        catch (UserInputException e) when (e is not SettingsChangedException)
        {
            options.Warn($"{e.Message}; falling back to an earlier checkpoint of the run");
        }
        var earlier = Checkpoints.ListWithEpochs(runDir)
            .Where(c => c.Step < recorded.Step && c.Epoch is { } ep && ep <= (recorded.Epoch ?? long.MaxValue)).Reverse();
        foreach (var (step, _, older) in earlier)
        {
            try
            {
                var core = Resume(run, runDir, options, older, Checkpoints.Read(older));
                options.Warn($"run {run.RunId} resumes from {Path.GetFileName(older)} (step {step}) instead of the recorded step {recorded.Step}");
                return core;
            }
            catch (UserInputException e) when (e is not SettingsChangedException) { options.Warn($"{e.Message}; trying an earlier one"); }
        }
        options.Warn($"run {run.RunId} has no usable checkpoint before step {recorded.Step}: it starts again from step 0");
        return new TrainerCore(run, runDir, options, PlanModel(run, options.VocabSize), null, null);
    }

    static TrainerCore Resume(RunConfig run, string runDir, TrainerOptions options, string dir, CheckpointData data)
    {
        using (data)
        {
            var meta = data.Meta;
            if (meta.Model.VocabSize != options.VocabSize)
                throw new UserInputException($"checkpoint '{dir}' has vocab {meta.Model.VocabSize} but the tokenizer has {options.VocabSize}");
            CheckOwnership(run, dir, meta);
            // the checkpoint's run wins (it is what was trained), but for how long to go on and where
            return new TrainerCore(meta.Run with { MaxSteps = run.MaxSteps, Device = options.Device }, runDir, options, meta.Model, data, dir);
        }
    }

    /// <summary>
    /// A checkpoint resumes only the run that wrote it, with the settings it was trained with: another run's
    /// checkpoint (copied in, or a stale folder) and a changed batch size, sequence length, optimiser, seed ... are
    /// refused, never silently mixed into one model. Checkpoints of older versions carry no identity and are checked
    /// by their config alone.
    /// </summary>
    static void CheckOwnership(RunConfig run, string dir, CheckpointMeta meta)
    {
        var ownerId = meta.RunId ?? meta.Run.RunId;
        if (ownerId != run.RunId)
            throw new UserInputException($"checkpoint '{dir}' belongs to run '{ownerId}', not to '{run.RunId}': it cannot resume this run.");
        if (meta.ConfigHash != null && meta.ConfigHash != meta.Run.ConfigHash())
            throw new UserInputException($"checkpoint '{dir}' is inconsistent: its run settings do not hash to the config hash it recorded (edited after it was written?).");
        var changes = meta.Run.IdentityChanges(run);
        if (changes.Count > 0)
            throw new SettingsChangedException($"checkpoint '{dir}' was trained with other settings than this run asks ({string.Join("; ", changes)}): " +
                                         "a run keeps the settings it started with. Resume with the same settings, or start a new run in another folder.");
    }

    /// <summary>
    /// Opens one checkpoint directory for evaluation or export; leaves the run's files (run.json) as they are.
    /// <paramref name="evalQuestions"/> overrides the questions per eval mode the run was trained with.
    /// </summary>
    public static TrainerCore Open(string checkpointDir, TrainerOptions options, int? evalQuestions = null)
    {
        var data = Checkpoints.Read(checkpointDir);
        using (data)
        {
            var runDir = Path.GetFullPath(Path.Combine(checkpointDir, "..", ".."));
            var run = evalQuestions is { } q ? data.Meta.Run with { EvalQuestions = q } : data.Meta.Run;
            return new TrainerCore(run, runDir, options with { VocabSize = data.Meta.Model.VocabSize }, data.Meta.Model, data, checkpointDir, writeRunJson: false);
        }
    }

    /// <summary>The model a run config builds: width from the parameter budget and layers (SPEC 3).</summary>
    public static LlamaMupConfig PlanModel(RunConfig run, int vocabSize) =>
        LlamaMupConfig.FromBudget(run.ParamBudget, run.Layers, vocabSize, run.SeqLen);

    static void Validate(RunConfig run, TrainerOptions o)
    {
        if (run.Layers is < 1 or > RunLimits.MaxLayers) throw new UserInputException($"--layers must be in 1..{RunLimits.MaxLayers}, got {run.Layers}");
        if (run.ParamBudget is < 1 or > RunLimits.MaxParamBudget) throw new UserInputException($"--num-params must be in 1..{RunLimits.MaxParamBudget:E0}, got {run.ParamBudget}");
        if (run.ParamBudget < LlamaMupConfig.MinBudget(run.Layers))
            throw new UserInputException($"--num-params {run.ParamBudget} is below the smallest model's budget with {run.Layers} layer(s), {LlamaMupConfig.MinBudget(run.Layers)} " +
                                         "(the budget P sets the width d = floor(sqrt((P - 320000) / (12 L))) in 16s, at least 16)");
        if (!RunLimits.IsLr(run.Lr)) throw new UserInputException($"--lr must be in (0, {RunLimits.MaxLr}], got {run.Lr}");
        if (!RunLimits.IsBeta(run.Beta1)) throw new UserInputException($"--beta1 must be in (0, 1), got {run.Beta1}");
        if (!RunLimits.IsBeta(run.Beta2)) throw new UserInputException($"--beta2 must be in (0, 1), got {run.Beta2}");
        if (!RunLimits.IsWeightDecay(run.WeightDecay)) throw new UserInputException($"--wd must be in [0, {RunLimits.MaxWeightDecay}], got {run.WeightDecay}");
        if (run.BatchSize is < 1 or > RunLimits.MaxBatchSize) throw new UserInputException($"--batch-size must be in 1..{RunLimits.MaxBatchSize}, got {run.BatchSize}");
        if (run.SeqLen is < 2 or > RunLimits.MaxSeqLen) throw new UserInputException($"--seq-len must be in 2..{RunLimits.MaxSeqLen}, got {run.SeqLen}");
        if (run.WarmupSteps < 0) throw new UserInputException($"--warmup-steps must be >= 0, got {run.WarmupSteps}");
        if (run.EvalQuestions is < 1 or > RunLimits.MaxEvalQuestions) throw new UserInputException($"--eval-questions must be in 1..{RunLimits.MaxEvalQuestions}, got {run.EvalQuestions}");
        if (run.KeepLast < 1) throw new UserInputException($"--keep-last must be >= 1, got {run.KeepLast}");
        if (run.CheckpointEvery < 0) throw new UserInputException($"--checkpoint-every must be >= 0, got {run.CheckpointEvery}");
        if (run.Optimizer is not ("schedulefree" or "adamw_cosine" or "adamw_linear"))
            throw new UserInputException($"--optimizer must be schedulefree, adamw_cosine or adamw_linear, got '{run.Optimizer}'");
        if (o.VocabSize < 2) throw new UserInputException($"tokenizer vocab size must be >= 2, got {o.VocabSize}");
        if (o.Amp is not ("none" or "bf16")) throw new UserInputException($"--amp must be none or bf16, got '{o.Amp}'");
        if (o.Amp != "none" && !o.Device.StartsWith("cuda"))
            throw new UserInputException("--amp needs a CUDA device (--device cuda:N); CPU training runs in fp32");
        ParseDevice(o.Device);
        // refuse what cannot fit before allocating anything
        MemoryEstimate.ForTraining(PlanModel(run, o.VocabSize), run.BatchSize, run.SeqLen)
            .CheckFits(o.Device, $"--batch-size {run.BatchSize} x --seq-len {run.SeqLen} on a {run.Layers}-layer model of budget {run.ParamBudget}");
    }

    public static Device ParseDevice(string device)
    {
        if (device == "cpu") return CPU;
        if (device.StartsWith("cuda"))
        {
            if (!torch.cuda.is_available())
                throw new UserInputException($"--device {device}: CUDA is not available in this build or machine (build with -p:TorchBackend=cuda on a GPU host)");
            try { return torch.device(device); }
            catch (Exception e) { throw new UserInputException($"--device '{device}' is not a valid torch device: {e.Message}"); }
        }
        throw new UserInputException($"--device must be 'cpu' or 'cuda:N', got '{device}'");
    }

    static ITrainingOptimizer BuildOptimizer(RunConfig run, LlamaMup model, TrainerOptions o)
    {
        var groups = MupParamGroups.Build(model);
        return run.Optimizer switch
        {
            "schedulefree" => new ScheduleFreeAdamW(groups, run.Lr, run.Beta1, run.Beta2, run.WeightDecay, run.WarmupSteps),
            "adamw_cosine" => new ScheduledAdamW(groups, run.Lr, new LrSchedule(DecayShape.Cosine, run.WarmupSteps, run.MaxSteps), run.Beta1, run.Beta2, run.WeightDecay),
            "adamw_linear" => new ScheduledAdamW(groups, run.Lr, new LrSchedule(DecayShape.Linear, run.WarmupSteps, run.MaxSteps), run.Beta1, run.Beta2, run.WeightDecay),
            _ => throw new UserInputException($"unknown optimizer '{run.Optimizer}'"),
        };
    }

    /// <summary>Forward, backward, gradient exchange, optimiser step on one batch.</summary>
    public StepResult TrainStep(TokenBatch batch)
    {
        if (batch.SeqLen < 2) throw new ArgumentException("sequences need at least 2 tokens");
        Optimizer.Train();
        Model.train();
        double loss;
        using (var scope = NewDisposeScope())
        {
            var ids = tensor(batch.InputIds, [batch.BatchSize, batch.SeqLen]).to(Device);
            var labels = tensor(batch.Labels, [batch.BatchSize, batch.SeqLen]).to(Device);
            Optimizer.ZeroGrad();
            var lossT = LlamaMup.MeanLoss(Model.forward(ids), labels);
            lossT.backward();
            Options.Gradients.AllReduce(parameters.Select(p => p.grad!).ToArray());
            Optimizer.Step();
            loss = lossT.item<float>();
        }
        // a diverged run only ever gets worse: stop it here instead of training and checkpointing NaN
        if (!double.IsFinite(loss))
            throw new UserInputException($"training diverged at step {Step + 1}: the loss is {loss} (is the learning rate {Run.Lr} too high?); the run stopped, its last checkpoint is kept");
        Step++;
        StreamPosition++;
        long answers = 0;
        foreach (var l in batch.Labels) if (l != TokenBatch.Ignore) answers++;
        return new StepResult(Step, loss, batch.InputIds.Length, answers, Optimizer.LastLr);
    }

    /// <summary>
    /// Evaluates each mode at the eval point (schedule-free: x) per SPEC 4: draws batches from
    /// <paramref name="batchesFor"/>(mode), keeps sequences with no truncated answer (no answer cut off), sums
    /// each question's token losses over its answer and averages over questions, stopping once
    /// <see cref="RunConfig.EvalQuestions"/> questions are seen. Also reports loss per subject. Cancellation is
    /// checked between batches.
    /// </summary>
    public EvalReport Evaluate(Func<EvalMode, Func<TokenBatch>> batchesFor, IEnumerable<EvalMode> modes, CancellationToken cancel = default)
    {
        Optimizer.Eval();
        Model.eval();
        try
        {
            using var _ = no_grad();
            var results = modes.Select(m => EvaluateMode(m, batchesFor(m), cancel) ?? throw NoCompleteQuestion(m)).ToList();
            return new EvalReport(Step, ParameterL2(), results);
        }
        finally
        {
            Optimizer.Train();
        }
    }

    /// <summary>
    /// Subject-wise evaluation (the reference's loss_over_time): for each mode and each of <paramref name="subjects"/>,
    /// batches from <paramref name="batchesFor"/>(mode, subject) until at least <see cref="RunConfig.EvalQuestions"/>
    /// questions of that subject are seen. A mode's loss is then the mean over all its questions.
    /// </summary>
    public EvalReport EvaluateSubjectwise(Func<EvalMode, int, Func<TokenBatch>> batchesFor, IEnumerable<EvalMode> modes,
        IReadOnlyList<int> subjects, CancellationToken cancel = default, bool histograms = false)
    {
        Optimizer.Eval();
        Model.eval();
        try
        {
            using var _ = no_grad();
            var results = new List<ModeEval>();
            foreach (var mode in modes)
            {
                var perSubject = new Dictionary<int, SubjectLoss>();
                var hist = histograms ? new Dictionary<int, LossHistogram>() : null;
                foreach (var subject in subjects)
                {
                    var h = histograms ? new LossHistogram() : null;
                    // a tiny held-out set can ask one question over and over, and its fixed-subject sequences may
                    // all end in a cut answer: leave that subject out (after few batches: they are all alike) rather
                    // than fail the run
                    if (EvaluateMode(mode, batchesFor(mode, subject), cancel, h, SubjectwiseGiveUp) is not { } e)
                    {
                        Options.Warn($"subject-wise eval: {mode.Name()} / {Profiles.Subjects.Name(subject)}: {SubjectwiseGiveUp} batches in a row of {Run.SeqLen}-token sequences held no complete question (a tiny held-out set asks the same few questions); left out");
                        continue;
                    }
                    perSubject[subject] = new SubjectLoss(e.Loss * e.Questions, e.Questions);
                    if (h != null) hist![subject] = h;
                }
                int n = perSubject.Values.Sum(x => x.Questions);
                if (n == 0) throw NoCompleteQuestion(mode);
                results.Add(new ModeEval(mode, perSubject.Values.Sum(x => x.LossSum) / n, n, perSubject, hist));
            }
            return new EvalReport(Step, ParameterL2(), results);
        }
        finally
        {
            Optimizer.Train();
        }
    }

    const int GiveUp = 100, SubjectwiseGiveUp = 10;

    UserInputException NoCompleteQuestion(EvalMode mode) =>
        new($"eval mode {mode.Name()}: {GiveUp} batches in a row of {Run.SeqLen}-token sequences held no complete question; use a longer --seq-len");

    /// <summary>One mode's eval from <paramref name="next"/>; null once <paramref name="giveUp"/> batches in a row held no complete question.</summary>
    ModeEval? EvaluateMode(EvalMode mode, Func<TokenBatch> next, CancellationToken cancel, LossHistogram? histogram = null, int giveUp = GiveUp)
    {
        var subjects = new Dictionary<int, SubjectLoss>();
        double sum = 0;
        int questions = 0, emptyBatches = 0;
        while (questions < Run.EvalQuestions)
        {
            cancel.ThrowIfCancellationRequested();
            var batch = next();
            int before = questions;
            float[] losses;
            using (var scope = NewDisposeScope())
            {
                var ids = tensor(batch.InputIds, [batch.BatchSize, batch.SeqLen]).to(Device);
                var labels = tensor(batch.Labels, [batch.BatchSize, batch.SeqLen]).to(Device);
                losses = LlamaMup.TokenLosses(Model.forward(ids), labels).cpu().data<float>().ToArray();
            }
            int t = batch.SeqLen;
            // SPEC 4: only sequences where no answer runs into the end (a truncated final answer has no labels,
            // so the question's flag says it, not the last label)
            var cut = new bool[batch.BatchSize];
            foreach (var q in batch.Questions) if (q.Truncated) cut[q.Sequence] = true;
            foreach (var q in batch.Questions)
            {
                if (q.AnswerEnd <= q.AnswerStart || cut[q.Sequence]) continue;
                double l = 0;
                for (int p = q.AnswerStart; p < q.AnswerEnd; p++) l += losses[q.Sequence * t + p];
                sum += l;
                questions++;
                histogram?.Add(l);
                var s = subjects.GetValueOrDefault(q.Subject);
                subjects[q.Subject] = new SubjectLoss(s.LossSum + l, s.Questions + 1);
            }
            // consecutive empty batches: a slow but live stream (tiny batches, many cut sequences) goes on
            emptyBatches = questions == before ? emptyBatches + 1 : 0;
            if (emptyBatches >= giveUp) return null;
        }
        return new ModeEval(mode, sum / questions, questions, subjects);
    }

    /// <summary>||theta||_2 / sqrt(#params) at the current parameter point.</summary>
    public double ParameterL2()
    {
        using var _ = no_grad();
        double sq = 0;
        long n = 0;
        foreach (var p in parameters)
        {
            using var s = p.detach().to_type(ScalarType.Float64).pow(2).sum();
            sq += s.item<double>();
            n += p.numel();
        }
        return Math.Sqrt(sq) / Math.Sqrt(n);
    }

    /// <summary>
    /// Writes checkpoints/step_{Step}[.e{epoch}]/ (atomic, checksummed), then prunes that epoch's old ones; returns
    /// the checkpoint as the journal records it.
    /// </summary>
    public (string Dir, CheckpointRef Ref) SaveCheckpoint(long? epoch = null)
    {
        Optimizer.Train();
        var state = Optimizer.ExportState();
        using var rng = torch.get_rng_state();
        var data = new CheckpointData
        {
            Meta = new CheckpointMeta
            {
                Step = Step,
                StreamPosition = StreamPosition,
                Run = Run,
                RunId = Run.RunId,
                ConfigHash = Run.ConfigHash(),
                Epoch = epoch,
                Model = Model.Config,
                OptimizerScalars = state.Scalars.ToDictionary(),
                TorchRngState = Convert.ToBase64String(rng.bytes),
                Extra = new Dictionary<string, string>(Extra),
            },
            Weights = Model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().cpu().clone()),
            OptimizerTensors = state.Tensors.ToDictionary(),
            Attachments = new Dictionary<string, byte[]>(Attachments),
        };
        using (data)
        {
            var dir = Checkpoints.Write(RunDir, data, epoch);
            Checkpoints.Prune(RunDir, Run.KeepLast, Run.EvalSchedule, epoch);
            return (dir, new CheckpointRef(Step, epoch, Checkpoints.ManifestSha256(dir)));
        }
    }

    void Restore(CheckpointData data)
    {
        using (no_grad())
        {
            foreach (var (name, p) in Model.named_parameters())
            {
                if (!data.Weights.TryGetValue(name, out var w))
                    throw new UserInputException($"checkpoint lacks weight '{name}'");
                if (!w.shape.SequenceEqual(p.shape))
                    throw new UserInputException($"checkpoint weight '{name}' has shape [{string.Join(",", w.shape)}], model expects [{string.Join(",", p.shape)}]");
                p.copy_(w);
            }
        }
        Optimizer.ImportState(new OptimizerState(data.OptimizerTensors, data.Meta.OptimizerScalars));
        Step = data.Meta.Step;
        StreamPosition = data.Meta.StreamPosition;
        foreach (var (k, v) in data.Meta.Extra) Extra[k] = v;
        foreach (var (k, v) in data.Attachments) Attachments[k] = v;
        RngState.Restore(data.Meta.TorchRngState, RunDir);
    }

    public void Dispose()
    {
        Optimizer.Dispose();
        Model.Dispose();
    }
}

/// <summary>A checkpoint of this run trained with other settings than it now asks: the user's change, not damage, so never skipped.</summary>
public sealed class SettingsChangedException(string message) : UserInputException(message);
