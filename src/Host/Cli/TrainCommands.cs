using System.CommandLine;
using System.Globalization;
using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Storage;
using ActorLab.Model.Training;

namespace ActorLab.Host.Cli;

/// <summary>`actorlab train`, `actorlab eval`, `actorlab export`: the single-device trainer (SPEC 3, 4).</summary>
public static class TrainCommands
{
    public static IEnumerable<Command> Build() => [Train(), Eval(), Export()];

    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    sealed class DeviceOptions
    {
        public readonly Option<string> Device = new("--device") { Description = "torch device: cpu or cuda:N.", DefaultValueFactory = _ => "cpu" };
        public readonly Option<int> Threads = new("--threads") { Description = "torch intra-op threads (0 = torch default).", DefaultValueFactory = _ => 0 };
        public readonly Option<int> EvalQuestions = new("--eval-questions") { Description = "Questions per eval mode, and per subject of each mode when subject-wise (the reference asks at least 1000).", DefaultValueFactory = _ => 1000 };

        public void AddTo(Command c) { c.Options.Add(Device); c.Options.Add(Threads); c.Options.Add(EvalQuestions); }

        public TrainerOptions Read(ParseResult pr, int vocab)
        {
            var threads = pr.GetValue(Threads);
            if (threads is < 0 or > RunLimits.MaxThreads) throw new UserInputException($"--threads must be in 0..{RunLimits.MaxThreads}, got {threads}");
            return new TrainerOptions { VocabSize = vocab, Device = pr.GetValue(Device)!, Threads = threads };
        }

        public int Questions(ParseResult pr)
        {
            var q = pr.GetValue(EvalQuestions);
            if (q is < 1 or > RunLimits.MaxEvalQuestions) throw new UserInputException($"--eval-questions must be in 1..{RunLimits.MaxEvalQuestions}, got {q}");
            return q;
        }
    }

    static Command Train()
    {
        var profiles = new Option<string>("--profiles") { Description = "Profiles parquet.", Required = true };
        var tokenizer = new Option<string>("--tokenizer") { Description = "Tokenizer folder from `actorlab tokenizer train`.", Required = true };
        var numParams = new Option<long>("--num-params") { Description = "Parameter budget P, not the exact count: width d = floor(sqrt((P - 320000) / (12 L))) in 16s (the 320000 offset stands for the reference's embeddings); at least 320000 + 3072 L. run.json records the real count.", Required = true };
        var layers = new Option<int>("--layers") { Description = "Transformer layers L.", Required = true };
        var orders = new Option<string>("--orders") { Description = "Question orders, a subset of 1,2.", DefaultValueFactory = _ => "1,2" };
        var hopRatio = new Option<double>("--hop-ratio") { Description = "h: orders 1,2 get weights [1, 1/h].", DefaultValueFactory = _ => 0.1 };
        var optimizer = new Option<string>("--optimizer") { Description = "schedulefree | adamw_cosine | adamw_linear.", DefaultValueFactory = _ => "schedulefree" };
        var lr = new Option<double>("--lr") { Description = "Learning rate (muP hidden matrices get lr / width_mult).", DefaultValueFactory = _ => 1e-3 };
        var beta1 = new Option<double>("--beta1") { Description = "Adam beta1 (schedule-free interpolation).", DefaultValueFactory = _ => 0.99 };
        var beta2 = new Option<double>("--beta2") { Description = "Adam beta2.", DefaultValueFactory = _ => 0.999 };
        var wd = new Option<double>("--wd") { Description = "Weight decay (muP hidden matrices get wd * width_mult).", DefaultValueFactory = _ => 0.1 };
        var batch = new Option<int>("--batch-size") { Description = "Sequences per step.", DefaultValueFactory = _ => 32 };
        var seqLen = new Option<int>("--seq-len") { Description = "Tokens per sequence.", DefaultValueFactory = _ => 512 };
        var maxSteps = new Option<long>("--max-steps") { Description = "Train until this step.", Required = true };
        var warmup = new Option<int>("--warmup-steps") { Description = "Linear warmup steps.", DefaultValueFactory = _ => 1000 };
        var output = new Option<string>("--out") { Description = "Parent folder; the run lives in OUT/<run name>.", Required = true };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in OUT/<run name> from its newest valid checkpoint." };
        var curriculum = new Option<bool>("--curriculum") { Description = "1-hop only until train_onehop eval loss < 1.0, then weights [0.1, 1]." };
        var cot = new Option<bool>("--cot") { Description = "Chain-of-thought answers for 2-hop questions." };
        var seed = new Option<int>("--seed") { Description = "Seed of init, data stream and held-out splits.", DefaultValueFactory = _ => 0 };
        var schedule = new Option<string?>("--checkpoint-steps") { Description = "Eval/checkpoint steps: '100,500,1000' or 'log:FIRST:LAST:COUNT[:EVERY]' (default: the reference log schedule 100..100000, then every 100000)." };
        var keepLast = new Option<int>("--keep-last") { Description = "Checkpoints kept besides the scheduled ones.", DefaultValueFactory = _ => 3 };
        var checkpointEvery = new Option<long>("--checkpoint-every") { Description = "Also checkpoint every this many steps between evals, for crash safety (0: only at evals).", DefaultValueFactory = _ => 0 };
        var amp = new Option<string>("--amp") { Description = "Mixed precision on CUDA: none | bf16.", DefaultValueFactory = _ => "none" };
        var progressEvery = new Option<double?>("--progress-every") { Description = "Seconds between progress lines on stderr (default 0.25 on a terminal, 10 when redirected)." };
        var dev = new DeviceOptions();
        var cmd = new Command("train", "Train a Llama-muP model on the Q&A stream of a profiles database.")
        {
            profiles, tokenizer, numParams, layers, orders, hopRatio, optimizer, lr, beta1, beta2, wd, batch, seqLen, maxSteps,
            warmup, output, resume, curriculum, cot, seed, schedule, keepLast, checkpointEvery, amp, progressEvery,
        };
        dev.AddTo(cmd);
        cmd.SetAction(pr =>
        {
            var ord = QaCommands.ParseOrders(pr.GetValue(orders)!);
            if (RunLimits.OrdersProblem(ord) is { } ordersProblem) throw new UserInputException($"--orders {pr.GetValue(orders)}: {ordersProblem}");
            var steps = pr.GetValue(maxSteps);
            if (steps < 1) throw new UserInputException($"--max-steps must be >= 1, got {steps}");
            if (pr.GetValue(warmup) < 0) throw new UserInputException($"--warmup-steps must be >= 0, got {pr.GetValue(warmup)}");
            if (pr.GetValue(keepLast) < 1) throw new UserInputException($"--keep-last must be >= 1, got {pr.GetValue(keepLast)}");
            if (pr.GetValue(progressEvery) is { } pe && !(pe > 0)) throw new UserInputException($"--progress-every must be > 0 seconds, got {pe}");
            var h = pr.GetValue(hopRatio);
            if (!(h > 0) || !double.IsFinite(h)) throw new UserInputException($"--hop-ratio must be a finite number > 0, got {h}");
            // flags that need no file are checked before anything is read or written
            var scheduleText = pr.GetValue(schedule);
            var checkpointSchedule = scheduleText is { } st ? CheckpointSchedule.Parse(st) : CheckpointSchedule.Reference;
            var outDir = PathChecks.OutputFolder("--out", pr.GetValue(output));
            var tokDir = Path.GetFullPath(pr.GetValue(tokenizer)!);
            var profilesPath = Path.GetFullPath(pr.GetValue(profiles)!);
            var data = DatasetStore.Load(profilesPath, tokDir);
            var db = data.Db;
            var run = new RunConfig
            {
                RunName = "",
                Profiles = profilesPath,
                Tokenizer = tokDir,
                NProfiles = db.Count,
                Relations = db.RelationCount,
                NParams = 0,
                ParamBudget = pr.GetValue(numParams),
                Layers = pr.GetValue(layers),
                MinOrder = ord.Min(),
                MaxOrder = ord.Max(),
                HopRatio = h,
                Optimizer = pr.GetValue(optimizer)!,
                Lr = pr.GetValue(lr),
                Beta1 = pr.GetValue(beta1),
                Beta2 = pr.GetValue(beta2),
                WeightDecay = pr.GetValue(wd),
                WarmupSteps = pr.GetValue(warmup),
                BatchSize = pr.GetValue(batch),
                SeqLen = pr.GetValue(seqLen),
                MaxSteps = steps,
                Curriculum = pr.GetValue(curriculum),
                Cot = pr.GetValue(cot),
                Seed = pr.GetValue(seed),
                EvalSchedule = checkpointSchedule,
                EvalQuestions = dev.Questions(pr),
                KeepLast = pr.GetValue(keepLast),
                CheckpointEvery = pr.GetValue(checkpointEvery),
                Device = pr.GetValue(dev.Device)!,
                Bipartite = db.Metadata.TryGetValue(MetadataKeys.Bipartite, out var bip) && bip is "true" or "True" or "1",
            };
            if (run.Layers < 1) throw new UserInputException($"--layers must be >= 1, got {run.Layers}");
            if (run.ParamBudget < 1) throw new UserInputException($"--num-params must be > 0, got {run.ParamBudget}");
            if (run.CheckpointEvery < 0) throw new UserInputException($"--checkpoint-every must be >= 0, got {run.CheckpointEvery}");
            run = (run with { NParams = TrainerCore.PlanModel(run, data.Tokenizer.VocabSize).ParameterCount }).Named();
            var folder = new RunFolder(Path.Combine(outDir, run.RunName), epoch: null);
            var hasCheckpoints = Checkpoints.List(folder.Dir).Count > 0;
            if (hasCheckpoints && !pr.GetValue(resume))
                throw new UserInputException($"'{folder.Dir}' already has checkpoints; pass --resume to continue it or choose another --out.");
            var options = dev.Read(pr, data.Tokenizer.VocabSize) with { Amp = pr.GetValue(amp)! };
            // a run refused while opening (a sequence too short for its questions, ...) leaves no folder behind
            var created = PathChecks.TopmostMissing(folder.Dir);
            RunSession opened;
            BatchPrefetcher openedFeed;
            try
            {
                opened = RunSession.Open(run, folder, data, options);
                try { openedFeed = opened.OpenPrefetcher(); }
                catch { opened.Dispose(); throw; }
            }
            catch (UserInputException) when (created != null)
            {
                try { Directory.Delete(created, recursive: true); } catch (IOException) { /* best effort */ }
                throw;
            }
            using var session = opened;
            using var feed = openedFeed;
            ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; session.Group.RequestStop(RunStop.Suspend); };
            Console.CancelKeyPress += onCancel;
            try
            {
                var core = session.Core;
                Console.WriteLine(core.ResumedFrom is { } from
                    ? $"resumed {run.RunName} at step {core.Step} from {from}"
                    : $"new run {run.RunName}");
                Console.WriteLine(string.Create(Inv,
                    $"model: d={core.Model.Config.Width} L={core.Model.Config.Layers} heads={core.Model.Config.Heads} width_mult={core.Model.Config.WidthMult:G4} params={core.Model.ParameterCount:N0} vocab={data.Tokenizer.VocabSize}; device {options.Device}; run dir {folder.Dir}"));
                var printer = new ProgressPrinter(pr.GetValue(progressEvery));
                var outcome = session.Run(feed, printer);
                printer.Break();
                Console.WriteLine(outcome.End == RunEnd.Suspended
                    ? $"interrupted at step {outcome.Step}; checkpoint saved, continue with --resume"
                    : string.Create(Inv, $"done: {outcome.Step} steps ({outcome.Reason}), data wait {feed.WaitTime.TotalSeconds:F1} s"));
            }
            finally { Console.CancelKeyPress -= onCancel; }
            return 0;
        });
        return cmd;
    }

    /// <summary>Prints evals as they happen and a status line per step.</summary>
    sealed class ProgressPrinter(double? every) : IRunObserver
    {
        readonly ProgressLine _line = new(every);

        public void Stepped(TrainProgress p) => _line.Report(p);

        public void Evaluated(EvalReport report)
        {
            _line.Break();
            PrintReport(report, null);
        }

        public void Checkpointed(CheckpointRef checkpoint, string dir, double trainLoss)
        {
            _line.Break();
            Console.WriteLine($"checkpoint {dir}");
        }

        public void Break() => _line.Break();
    }

    static void PrintReport(EvalReport report, string? checkpoint)
    {
        Console.WriteLine(string.Create(Inv, $"eval at step {report.Step} (parameter_l2 {report.ParameterL2:G5}){(checkpoint != null ? $", checkpoint {checkpoint}" : "")}"));
        foreach (var m in report.Modes)
            Console.WriteLine(string.Create(Inv, $"  {m.Mode.Name(),-36} {m.Loss,10:F4} nats/question  ({m.Questions} questions)"));
    }

    /// <summary>One status line, redrawn in place on a terminal, every 10 s (or <paramref name="every"/> s) when output is redirected.</summary>
    sealed class ProgressLine(double? every)
    {
        readonly bool tty = !Console.IsErrorRedirected;
        DateTime last = DateTime.MinValue;
        bool open;

        public void Report(TrainProgress p)
        {
            var now = DateTime.UtcNow;
            if ((now - last).TotalSeconds < (every ?? (tty ? 0.25 : 10)) && p.Last.Step != p.MaxSteps) return;
            last = now;
            var eta = p.Eta.TotalHours >= 1 ? p.Eta.ToString(@"d\.hh\:mm\:ss", Inv) : p.Eta.ToString(@"mm\:ss", Inv);
            var line = string.Create(Inv,
                $"step {p.Last.Step}/{p.MaxSteps}  {p.StepsPerSecond:F2} steps/s  {p.TokensPerSecond:F0} tok/s  loss {p.Last.Loss:F4}  lr {p.Last.Lr:0.00e+00}  ETA {eta}  data wait {100 * p.DataWaitFraction:F2}%");
            if (tty) { Console.Error.Write("\r" + line.PadRight(Console.BufferWidth > 0 ? Math.Min(Console.BufferWidth - 1, 140) : 0)); open = true; }
            else Console.Error.WriteLine(line);
        }

        public void Break()
        {
            if (open) Console.Error.WriteLine();
            open = false;
        }
    }

    static Command Eval()
    {
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Checkpoint folder (RUN/checkpoints/step_N) or a run folder (its newest valid checkpoint)." };
        var results = new Option<string?>("--results") { Description = "Re-evaluate up to --checkpoints checkpoints of every run under this folder, subject-wise (needs --subjectwise); resumable." };
        var count = new Option<int>("--checkpoints") { Description = "With --results: checkpoints per run, evenly spaced over the saved ones (the reference: 20).", DefaultValueFactory = _ => Reevaluation.DefaultCheckpoints };
        var subjectwise = new Option<bool>("--subjectwise") { Description = "Also evaluate every subject of every mode (at least --eval-questions each) into eval_results_full.csv." };
        var slots = new Option<int>("--slots") { Description = "With --results: runs re-evaluated at once, each with --threads torch threads (slots x threads <= cores).", DefaultValueFactory = _ => 1 };
        var profiles = new Option<string?>("--profiles") { Description = "Profiles parquet (default: the run's)." };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Tokenizer folder (default: the run's)." };
        var dev = new DeviceOptions();
        var cmd = new Command("eval", "Re-evaluate a saved checkpoint on every eval mode (rows go to the run's eval_results.csv, and eval_results_full.csv), or with --results the checkpoints of every run under a folder.")
        {
            checkpoint, results, count, subjectwise, slots, profiles, tokenizer,
        };
        dev.AddTo(cmd);
        cmd.SetAction(pr =>
        {
            if (pr.GetValue(results) is { } resultsDir)
            {
                if (pr.GetValue(checkpoint) != null) throw new UserInputException("give either --checkpoint (one checkpoint) or --results (every run under a folder), not both");
                if (!pr.GetValue(subjectwise)) throw new UserInputException("--results re-evaluates subject-wise into each run's eval_results_full.csv: add --subjectwise");
                if (pr.GetValue(profiles) != null || pr.GetValue(tokenizer) != null) throw new UserInputException("--profiles/--tokenizer name one run's data; with --results each run uses its own");
                PathChecks.OutputFolder("--results", resultsDir);
                var options = dev.Read(pr, vocab: 2);
                var runs = Reevaluation.Run(resultsDir, pr.GetValue(count), options, dev.Questions(pr), (run, runDir) => DatasetStore.ForRun(run, runDir), Console.Error.WriteLine,
                    slots: pr.GetValue(slots));
                if (runs.Count == 0) throw new UserInputException($"--results: no run (folder with {RunConfig.FileName}) under '{resultsDir}'");
                foreach (var r in runs)
                    Console.WriteLine(string.Create(Inv, $"{r.RunDir}: {r.Evaluated} checkpoint(s) re-evaluated, {r.AlreadyDone} already done, {r.Seconds:F1} s{(r.Error is null ? "" : $", skipped: {r.Error}")}"));
                return runs.All(r => r.Error != null && r.Evaluated == 0) ? 2 : 0;
            }
            var dir = Checkpoints.Resolve(pr.GetValue(checkpoint) ?? throw new UserInputException("give --checkpoint RUN/checkpoints/step_N (or a run folder), or --results DIR --subjectwise"),
                w => Console.Error.WriteLine($"warning: {w}"));
            var meta = Checkpoints.Read(dir);
            var run = meta.Meta.Run;
            meta.Dispose();
            var runDir = Path.GetFullPath(Path.Combine(dir, "..", ".."));
            // eval appends to the run's eval_results.csv: a run folder that cannot be written fails now, not after evaluating
            PathChecks.OutputFolder("--checkpoint", runDir);
            var data = pr.GetValue(profiles) is null && pr.GetValue(tokenizer) is null
                ? DatasetStore.ForRun(run, runDir)
                : DatasetStore.Load(pr.GetValue(profiles) ?? run.Profiles ?? throw new UserInputException("give --profiles (the run names none)"),
                    pr.GetValue(tokenizer) ?? run.Tokenizer ?? throw new UserInputException("give --tokenizer (the run names none)"));
            using var session = RunSession.OpenCheckpoint(dir, dev.Read(pr, data.Tokenizer.VocabSize), data, dev.Questions(pr));
            var report = session.Evaluate();
            var folder = new RunFolder(session.Core.RunDir, epoch: null);
            EvalResultsCsv.Append(folder.EvalResults, report);
            var full = pr.GetValue(subjectwise) ? session.EvaluateSubjectwise() : null;
            if (full != null) EvalResultsCsv.AppendSubjectwise(folder.EvalResultsFull, full);
            PrintReport(report, dir);
            if (full != null)
                foreach (var m in full.Modes)
                foreach (var (s, l) in m.Subjects.OrderBy(x => x.Key))
                    Console.WriteLine(string.Create(Inv, $"  {m.Mode.Name(),-36} {Subjects.Name(s),-18} {l.Loss,10:F4} ({l.Questions})"));
            return 0;
        });
        return cmd;
    }

    static Command Export()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Checkpoint folder (RUN/checkpoints/step_N).", Required = true };
        var output = new Option<string>("--out") { Description = "Output folder for model.safetensors + config.json (HF LlamaForCausalLM).", Required = true };
        var cmd = new Command("export", "Export a checkpoint for Hugging Face transformers (muP readout and attention scale folded in).")
        {
            checkpoint, output,
        };
        cmd.SetAction(pr =>
        {
            var outDir = PathChecks.OutputFolder("--out", pr.GetValue(output));
            HfExport.Export(pr.GetValue(checkpoint)!, outDir);
            Console.WriteLine($"wrote {Path.Combine(outDir, "model.safetensors")} and config.json (load with LlamaForCausalLM.from_pretrained)");
            return 0;
        });
        return cmd;
    }
}
