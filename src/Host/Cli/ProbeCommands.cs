using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using ActorLab.Actors.Control;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Node;
using ActorLab.Actors.Probes;
using ActorLab.Model.Common;
using ActorLab.Model.Probes;
using ActorLab.Model.Qa;
using ActorLab.Model.Storage;
using Akka.Actor;
using Akka.Configuration;

namespace ActorLab.Host.Cli;

/// <summary>`actorlab probe`: linear probes over layers and token positions of a checkpoint (SPEC 6).</summary>
public static class ProbeCommands
{
    public static Command Build()
    {
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Checkpoint folder (RUN/checkpoints/step_N) or a run folder (its newest valid checkpoint)." };
        var run = new Option<string?>("--run") { Description = "A completed run of a running cluster (run id or name; needs --contact): queues its probe sweep as a job on a free slot; results in RUN/probes/." };
        var contact = new Option<string?>("--contact") { Description = "HOST:PORT[,HOST:PORT...] of coordinator-role nodes of the cluster that trained --run." };
        var layers = new Option<string>("--layers") { Description = "Residual-stream layers: 0 = embeddings, l = after block l. A range (0-4), a list (0,2,4) or 'all'.", DefaultValueFactory = _ => "all" };
        var positions = new Option<string?>("--positions") { Description = "Comma list of name, relation (2-hop), attribute, last, all. Default: name,relation,attribute,last,all (2-hop) or name,attribute,last,all (1-hop); with --reference name,relation,attribute,all." };
        var hops = new Option<int?>("--hops") { Description = "1 or 2. Default: the run's highest question order." };
        var target = new Option<string?>("--target") { Description = "answer, first-hop (2-hop only) or both comma-separated. Default: answer (1-hop), answer,first-hop (2-hop)." };
        var mode = new Option<string?>("--mode") { Description = "Where 2-hop questions come from (an eval mode; default train_twohop)." };
        var samples = new Option<int>("--samples") { Description = "Distinct questions to capture (train + eval).", DefaultValueFactory = _ => 10000 };
        var evalFraction = new Option<double?>("--eval-fraction") { Description = "Share of the questions held out to score the probes (default 0.2; --reference: 0.05)." };
        var split = new Option<string?>("--split") { Description = "person (default): held-out questions are about people the probes never trained on; question: distinct questions, possibly about the same people. --reference splits questions at random." };
        var seed = new Option<int>("--seed") { Description = "Seed for the questions drawn and the cross-validation folds.", DefaultValueFactory = _ => 0 };
        var output = new Option<string?>("--out") { Description = "Output folder. Default: RUN/probes/step_N_hopsH_MODE." };
        var parallel = new Option<int?>("--parallel") { Description = "Probe actors fitting probes at once (an in-process actor system when > 1). Default 1." };
        var attempts = new Option<int>("--attempts") { Description = "Tries per probe before it is reported as failed.", DefaultValueFactory = _ => 2 };
        var device = new Option<string>("--device") { Description = "cpu or cuda:N (model forward and probe fits).", DefaultValueFactory = _ => "cpu" };
        var threads = new Option<int>("--threads") { Description = "torch threads; 0 = cores / parallel.", DefaultValueFactory = _ => 0 };
        var penalties = new Option<string?>("--penalties") { Description = "Comma list of L2 penalties cross-validation chooses from (default: 0 + logspace(-8, -4, 4))." };
        var maxIter = new Option<int?>("--max-iter") { Description = $"L-BFGS iterations per probe fit (default {ProbeFitOptions.Default.MaxIterations}; --reference: {ProbeFitOptions.Reference.MaxIterations})." };
        var reference = new Option<bool>("--reference")
        {
            Description = "Probes as the reference code fits them, for comparable numbers: 2-hop questions read inside packed training sequences, " +
                          "target the bridge entity's first token, positions the first two name tokens, first relation and subject tokens, " +
                          "first 4 relations only, a random 95/5 split from --seed, strong-Wolfe L-BFGS with 1000 iterations.",
        };
        var cmd = new Command("probe", "Linear probes: where in the network each hop's answer becomes linearly readable. Writes probes.csv, probe weights and heatmaps.")
        {
            checkpoint, run, contact, layers, positions, hops, target, mode, samples, evalFraction, split, seed, output, parallel, attempts, device, threads, penalties, maxIter,
            reference,
        };
        new TlsOptions().AddTo(cmd); // for --run through --contact, to a cluster with TLS on
        cmd.SetAction(pr =>
        {
            var dir = ResolveCheckpoint(pr.GetValue(checkpoint), pr.GetValue(run), pr.GetValue(contact), pr.GetValue(parallel));
            if (dir is null)
            {
                // A queued job carries only layers and samples; reference probes would silently become present ones.
                if (pr.GetValue(reference)) throw new UserInputException("--reference goes with --checkpoint; a probe job queued with --run fits the present probes");
                using var client = ConsoleClient.Connect(pr.GetValue(contact)!, "actorlab-probe-client", TlsOptions.Settings(pr), ActorLab.Actors.Gateway.OperatorTokens.ForConsole(null));
                var reply = Submit(client, pr.GetValue(run)!, pr.GetValue(layers)!, pr.GetValue(samples));
                if (!reply.Ok) throw new UserInputException(reply.Message);
                Console.WriteLine(reply.Message);
                return 0;
            }
            bool refMode = pr.GetValue(reference);
            if (refMode && pr.GetValue(split) != null) throw new UserInputException("--split does not go with --reference: reference probes split questions at random, 95/5");
            if (refMode && pr.GetValue(evalFraction) != null) throw new UserInputException("--eval-fraction does not go with --reference: reference probes score 5% of the questions");
            return Run(new ProbeArgs(dir,
                pr.GetValue(layers)!, pr.GetValue(positions), pr.GetValue(hops), pr.GetValue(target),
                pr.GetValue(mode), pr.GetValue(samples), pr.GetValue(evalFraction) ?? 0.2, pr.GetValue(split) ?? "person", pr.GetValue(seed), pr.GetValue(output),
                pr.GetValue(parallel) ?? 1, pr.GetValue(attempts), pr.GetValue(device)!, pr.GetValue(threads), pr.GetValue(maxIter),
                pr.GetValue(penalties), refMode));
        });
        return cmd;
    }

    /// <summary>
    /// `actorlab console probe RUN` and `actorlab probe --run RUN --contact HOST:PORT`: queues the probe sweep of a
    /// completed run as a job; the coordinator leases it to a free slot of the cluster, with the defaults of
    /// `actorlab probe` (every layer or the ones given, the default positions and targets); results land in RUN/probes/.
    /// </summary>
    public static CommandReply Submit(ConsoleClient client, string run, string layers, int samples)
    {
        if (samples < 1) throw new UserInputException($"--samples must be >= 1, got {samples}");
        if (layers.Trim() != "all") ParseLayers(layers, int.MaxValue);
        var reply = client.Ask<CommandReply>(new SubmitProbe(run, new ProbeRequest(layers, samples)));
        return reply.Ok ? reply with { Message = $"probe of {run} queued ({reply.Message}); results go to its folder's probes/ (watch with `actorlab console watch`)" } : reply;
    }

    /// <summary>A probe job on a node: the job's run, at the checkpoint the journal recorded for it.</summary>
    public static void RunJob(JobSpec spec, RunStorage storage, int parallel, CancellationToken cancel)
    {
        cancel.ThrowIfCancellationRequested();
        var checkpoint = storage.Run(spec.RunId!, spec.Checkpoint!.Epoch).CheckpointDir(spec.Checkpoint);
        var code = Run(new ProbeArgs(checkpoint, spec.Probe!.Layers, null, null, null, null, spec.Probe.Samples, 0.2, "person", 0, null,
            Math.Max(1, parallel), 2, "cpu", 0, null, null));
        if (code != 0) throw new InvalidOperationException($"the probe sweep of {spec.RunId} ended with {code} (some probes failed; see the node's output)");
    }

    /// <summary>--checkpoint as given; --run with --contact is a job for the cluster (<see cref="Submit"/>).</summary>
    static string? ResolveCheckpoint(string? checkpoint, string? run, string? contact, int? parallel)
    {
        if (parallel is < 1) throw new UserInputException($"--parallel must be >= 1, got {parallel}");
        if (checkpoint != null && run != null) throw new UserInputException("give either --checkpoint or --run, not both");
        if (checkpoint != null)
        {
            if (contact != null) throw new UserInputException("--contact goes with --run, not --checkpoint");
            return checkpoint;
        }
        if (run == null) throw new UserInputException("give --checkpoint DIR, or --run RUN with --contact HOST:PORT");
        if (contact == null) throw new UserInputException("--run needs --contact HOST:PORT of a node of the cluster that trained it");
        return null;
    }

    public sealed record ProbeArgs(string Checkpoint, string Layers, string? Positions, int? Hops, string? Target, string? Mode,
        int Samples, double EvalFraction, string Split, int Seed, string? Out, int Parallel, int Attempts, string Device, int Threads, int? MaxIter, string? Penalties = null,
        bool Reference = false);

    public static int Run(ProbeArgs a)
    {
        // Flags that need no checkpoint are checked first, so a typo fails fast.
        if (a.Hops is { } h && h is not (1 or 2)) throw new UserInputException($"--hops must be 1 or 2, got {h}");
        if (a.Parallel < 1) throw new UserInputException($"--parallel must be >= 1, got {a.Parallel}");
        if (a.Attempts < 1) throw new UserInputException($"--attempts must be >= 1, got {a.Attempts}");
        if (a.Threads < 0) throw new UserInputException($"--threads must be >= 0, got {a.Threads}");
        var fit = a.Reference ? ProbeFitOptions.Reference : ProbeFitOptions.Default;
        int maxIter = a.MaxIter ?? fit.MaxIterations;
        if (maxIter < 1) throw new UserInputException($"--max-iter must be >= 1, got {maxIter}");
        var positionList = a.Positions is null ? null : ParseList(a.Positions, "--positions", ProbePositions.Known);
        var targetList = a.Target is null ? null : ParseList(a.Target, "--target", ProbeTargets.Known);
        if (a.Reference && a.Hops == 1) throw new UserInputException("--hops 1 does not go with --reference: reference probes read 2-hop questions (their target is the bridge entity)");
        if (a.Reference && targetList is { } tl && tl.Contains(ProbeTargets.Answer))
            throw new UserInputException("--target answer does not go with --reference: reference probes predict the bridge entity (first-hop)");
        if (a.Reference && positionList is { } pl && pl.Contains(ProbePositions.Last))
            throw new UserInputException("--positions last does not go with --reference: reference probes read name, relation, attribute and all");
        EvalMode? mode = a.Mode is null ? null : QaCommands.ParseMode(a.Mode);
        var split = a.Split switch
        {
            "person" => ProbeSplit.Person,
            "question" => ProbeSplit.Question,
            _ => throw new UserInputException($"--split must be person or question, got '{a.Split}'"),
        };
        var penaltyList = a.Penalties is null ? null : ParsePenalties(a.Penalties);
        var layerSpec = a.Layers.Trim();
        if (layerSpec != "all") ParseLayers(layerSpec, int.MaxValue);
        new CaptureSpec { Hops = a.Hops ?? 2, Mode = mode, Samples = a.Samples, EvalFraction = a.EvalFraction }.Validate();
        if (a.Reference) ReferenceCapture.CheckSamples(a.Samples);
        if (a.Out != null) PathChecks.OutputFolder("--out", a.Out);

        int threads = a.Threads > 0 ? a.Threads : Math.Max(1, Environment.ProcessorCount / a.Parallel);
        var sw = Stopwatch.StartNew();
        ActivationSet set;
        string outDir, title;
        using (var ck = ProbeCheckpoint.Open(a.Checkpoint, a.Device, threads))
        {
            int hops = a.Reference ? 2 : a.Hops ?? Math.Min(2, ck.Run.MaxOrder);
            if (hops == 2 && ck.Splits is null)
                throw new UserInputException($"{(a.Reference ? "--reference" : "--hops 2")}: run '{ck.RunDir}' was trained on 1-hop questions only");
            var spec = new CaptureSpec { Hops = hops, Mode = mode, Samples = a.Samples, EvalFraction = a.EvalFraction, Seed = a.Seed, Split = split };
            spec.Validate();
            int maxLayer = ck.Core.Model.Config.Layers;
            if (layerSpec != "all") ParseLayers(layerSpec, maxLayer); // range check now that L is known
            outDir = PathChecks.OutputFolder(a.Out != null ? "--out" : "--checkpoint",
                a.Out ?? Path.Combine(ck.RunDir, "probes", $"step_{ck.Step}_hops{hops}_{spec.EffectiveMode.Name()}{(a.Reference ? "_reference" : "")}"));
            Console.WriteLine($"probing {ck.CheckpointDir} (step {ck.Step}, {maxLayer} blocks, width {ck.Core.Model.Config.Width}): " +
                              $"{hops}-hop {spec.EffectiveMode.Name()} questions, {a.Samples} samples{(a.Reference ? ", reference probes (packed sequences)" : "")}");
            var description = new Dictionary<string, string>
            {
                ["checkpoint"] = Path.GetFullPath(ck.CheckpointDir),
                ["step"] = ck.Step.ToString(CultureInfo.InvariantCulture),
                ["run"] = ck.Run.RunName,
            };
            set = a.Reference
                ? ReferenceCapture.Capture(ck.Core.Model, ck.Db, ck.Tokenizer, ck.Splits, spec, ck.Run.SeqLen, ck.Run.Cot, description)
                : ActivationCapture.Capture(ck.Core.Model, ck.Db, ck.Tokenizer, ck.Splits, spec, description: description);
            title = $"{ck.Run.RunName}, step {ck.Step}, {hops}-hop {spec.EffectiveMode.Name()}{(a.Reference ? ", reference" : "")}";
            Console.WriteLine($"captured {set.Count} questions x {set.LayerCount} layers in {sw.Elapsed.TotalSeconds:F1}s");
        }
        using (set)
        {
            var layerList = layerSpec == "all" ? Enumerable.Range(0, set.LayerCount).ToList() : ParseLayers(layerSpec, set.LayerCount - 1);
            positionList ??= a.Reference ? [.. set.Positions] : set.Hops == 2 ? ["name", "relation", "attribute", "last", "all"] : ["name", "attribute", "last", "all"];
            targetList ??= a.Reference ? [ProbeTargets.FirstHop] : set.Hops == 2 ? ["answer", "first-hop"] : ["answer"];
            var jobs = ProbeSweep.Plan(set, layerList, positionList, targetList);
            Directory.CreateDirectory(outDir);
            var options = new ProbeSweepOptions
            {
                Seed = a.Seed,
                Penalties = penaltyList,
                Fit = fit with { MaxIterations = maxIter, Device = a.Device == "cpu" ? null : TorchSharp.torch.device(a.Device) },
            };
            var executor = new ActivationSetExecutor(set, options, outDir);
            Console.WriteLine($"{jobs.Count} probes on {a.Parallel} slot(s), {threads} torch thread(s) each; output {outDir}");
            var finished = RunSweep(jobs, executor, a.Parallel, a.Attempts, outDir, title);
            PrintTable(finished.Results);
            foreach (var f in finished.Files) Console.WriteLine($"wrote {f}");
            Console.WriteLine($"done in {sw.Elapsed.TotalSeconds:F1}s");
            if (finished.Failures.Count > 0)
            {
                foreach (var f in finished.Failures)
                    Console.Error.WriteLine($"error: probe {f.Job.Key} failed after {f.Attempts} attempt(s): {f.LastError}");
                return 1;
            }
            return 0;
        }
    }

    /// <summary>One slot: a plain loop. Several: probe actors in an in-process actor system.</summary>
    static ProbeSweepFinished RunSweep(IReadOnlyList<ProbeJob> jobs, IProbeJobExecutor executor, int parallel, int attempts, string outDir, string title)
    {
        var spec = new ProbeSweepSpec { Jobs = jobs, Parallel = parallel, MaxAttempts = attempts, OutDir = outDir, Title = title };
        void Progress(ProbeSweepProgress p) =>
            Console.WriteLine($"[{p.Done}/{p.Total}] {p.Job.Key}: {(p.Succeeded ? p.Detail : "FAILED " + p.Detail)}");
        if (parallel == 1)
        {
            var results = new List<ProbeResult>();
            var failures = new List<ProbeJobFailure>();
            foreach (var job in jobs)
            {
                var jsw = Stopwatch.StartNew();
                string? error = null;
                for (int attempt = 1; attempt <= attempts; attempt++)
                {
                    try
                    {
                        var r = executor.Execute(job);
                        results.Add(r);
                        error = null;
                        Progress(new ProbeSweepProgress(results.Count + failures.Count, failures.Count, jobs.Count, job, true,
                            $"loss {r.ProbeLoss:0.000} (baseline {r.BaselineLoss:0.000}), {jsw.Elapsed.TotalSeconds:0.0}s"));
                        break;
                    }
                    catch (Exception e) when (e is not UserInputException)
                    {
                        error = $"{e.GetType().Name}: {e.Message}";
                    }
                }
                if (error != null)
                {
                    failures.Add(new ProbeJobFailure(job, attempts, error));
                    Progress(new ProbeSweepProgress(results.Count + failures.Count, failures.Count, jobs.Count, job, false, error));
                }
            }
            var files = results.Count > 0 ? ProbeSweep.WriteReport(outDir, results, title) : [];
            return new ProbeSweepFinished(results, failures, files);
        }
        using var system = ActorSystem.Create("actorlab-probe", ConfigurationFactory.ParseString(
            ProbeActor.DispatcherConfig + "\nakka.loglevel = WARNING\nakka.stdout-loglevel = WARNING"));
        try
        {
            return ProbeSweepRunner.RunAsync(system, spec, executor, Progress).GetAwaiter().GetResult();
        }
        finally
        {
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
        }
    }

    static void PrintTable(IReadOnlyList<ProbeResult> rows)
    {
        Console.WriteLine($"{"target",-10} {"layer",5} {"position",-10} {"penalty",9} {"probe",7} {"acc",5} {"base",7} {"model",7} {"rel",6}");
        foreach (var r in rows.OrderBy(r => r.Target).ThenBy(r => r.Layer).ThenBy(r => r.Position))
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Target,-10} {r.Layer,5} {r.Position,-10} {r.Penalty,9:G3} {r.ProbeLoss,7:F3} {r.ProbeAccuracy,5:F2} {r.BaselineLoss,7:F3} {(double.IsNaN(r.ModelLoss) ? "-" : r.ModelLoss.ToString("F3", CultureInfo.InvariantCulture)),7} {r.RelativeLoss,6:F3}"));
    }

    /// <summary>"0-4", "0,2,4", "1-2,4": sorted distinct layers, each in [0, maxLayer].</summary>
    public static List<int> ParseLayers(string text, int maxLayer)
    {
        var layers = new SortedSet<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            var ends = part.Split('-', StringSplitOptions.TrimEntries);
            if (ends.Length is < 1 or > 2 || !ends.All(e => int.TryParse(e, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
                throw new UserInputException($"--layers '{text}': '{part}' is not a layer or a range like 0-4");
            int lo = int.Parse(ends[0], CultureInfo.InvariantCulture), hi = int.Parse(ends[^1], CultureInfo.InvariantCulture);
            if (lo > hi) throw new UserInputException($"--layers '{text}': range '{part}' runs backwards");
            if (hi > maxLayer)
                throw new UserInputException($"--layers '{text}': layer {hi} is out of range; this model has layers 0 (embeddings) to {maxLayer}");
            for (int l = lo; l <= hi; l++) layers.Add(l);
        }
        return layers.ToList();
    }

    static List<double> ParsePenalties(string text)
    {
        var list = new List<double>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !(v >= 0) || double.IsInfinity(v))
                throw new UserInputException($"--penalties '{text}': '{part}' is not a finite number >= 0");
            list.Add(v);
        }
        if (list.Count == 0) throw new UserInputException("--penalties is empty");
        return list.Distinct().Order().ToList();
    }

    static List<string> ParseList(string text, string flag, IReadOnlyList<string> known)
    {
        var items = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Distinct().ToList();
        if (items.Count == 0) throw new UserInputException($"{flag} is empty; use some of: {string.Join(", ", known)}");
        foreach (var i in items)
            if (!known.Contains(i)) throw new UserInputException($"{flag} '{i}' is not one of: {string.Join(", ", known)}");
        return items;
    }
}
