using System.Diagnostics;
using ActorLab.Model.Common;
using ActorLab.Model.Storage;

namespace ActorLab.Model.Training;

/// <summary>What re-evaluating one run did: checkpoints evaluated now, skipped as already done, and seconds spent.</summary>
public sealed record ReevaluatedRun(string RunDir, int Evaluated, int AlreadyDone, double Seconds, string? Error);

/// <summary>
/// Subject-wise re-evaluation of saved checkpoints, like the reference's loss_over_time: for every run under a
/// results folder, up to K checkpoints evenly spaced over its saved ones (the reference's np.linspace(0, n-1, K)),
/// each evaluated subject-wise (<see cref="RunSession.EvaluateSubjectwise"/>) into the run's eval_results_full.csv,
/// with per-question loss histograms in eval_histograms_full.csv. A checkpoint is done once its histograms are
/// written (they come last), so an interrupted re-evaluation resumes where it stopped.
/// </summary>
public static class Reevaluation
{
    public const int DefaultCheckpoints = 20;

    /// <summary>Up to <paramref name="k"/> of <paramref name="all"/> (ascending), evenly spaced, first and last included.</summary>
    public static IReadOnlyList<T> Pick<T>(IReadOnlyList<T> all, int k)
    {
        CheckCount(k);
        if (all.Count <= k) return all;
        if (k == 1) return [all[0]]; // np.linspace(0, n-1, 1) is [0]
        // np.linspace(0, n-1, k, dtype=int) truncates i (n-1)/(k-1); distinct because n > k
        return Enumerable.Range(0, k).Select(i => all[(int)((long)i * (all.Count - 1) / (k - 1))]).ToArray();
    }

    static void CheckCount(int k)
    {
        if (k < 1) throw new UserInputException($"--checkpoints must be >= 1, got {k}");
    }

    /// <summary>The checkpoints of a run, one per step (a step saved under several lease epochs: the newest).</summary>
    public static IReadOnlyList<(long Step, string Dir)> CheckpointsOf(string runDir) =>
        Checkpoints.ListWithEpochs(runDir).GroupBy(c => c.Step).Select(g => (g.Key, g.Last().Dir)).ToArray();

    /// <summary>
    /// Re-evaluates every run under <paramref name="resultsDir"/>. <paramref name="load"/> gives a run's dataset
    /// (loaded once per distinct dataset); <paramref name="evalQuestions"/> overrides each run's questions per
    /// subject. A run that cannot be evaluated (no dataset) or a damaged checkpoint is reported and the rest go on.
    /// </summary>
    /// <param name="slots">Runs re-evaluated at once, each on its own thread with <see cref="TrainerOptions.Threads"/>
    /// torch threads (a run's files are its own, so runs never share a file).</param>
    public static IReadOnlyList<ReevaluatedRun> Run(string resultsDir, int checkpoints, TrainerOptions options, int? evalQuestions,
        Func<RunConfig, string, LoadedDataset> load, Action<string> log, CancellationToken cancel = default, int slots = 1)
    {
        CheckCount(checkpoints); // before any work
        if (slots is < 1 or > 256) throw new UserInputException($"--slots must be in 1..256, got {slots}");
        var datasets = new System.Collections.Concurrent.ConcurrentDictionary<(object?, string?, string?, string?), Lazy<LoadedDataset>>();
        var done = new System.Collections.Concurrent.ConcurrentBag<ReevaluatedRun>();
        Parallel.ForEach(RunTable.RunDirs(resultsDir), new ParallelOptions { MaxDegreeOfParallelism = slots, CancellationToken = cancel }, runDir =>
        {
            cancel.ThrowIfCancellationRequested();
            var clock = Stopwatch.StartNew();
            int evaluated = 0, skipped = 0;
            try
            {
                var run = RunConfig.Load(runDir);
                var folder = new RunFolder(runDir, epoch: null);
                var histograms = Path.Combine(runDir, EvalResultsCsv.HistogramFileName);
                var finished = EvalResultsCsv.Steps(histograms);
                var todo = Pick(CheckpointsOf(runDir), checkpoints).Where(c =>
                {
                    if (!finished.Contains(c.Step)) return true;
                    skipped++;
                    return false;
                }).ToArray();
                if (todo.Length == 0)
                {
                    done.Add(new ReevaluatedRun(runDir, 0, skipped, clock.Elapsed.TotalSeconds, null));
                    return;
                }
                // relative paths in run.json are relative to the run, so they key the cache with it
                var key = (run.Dataset as object, run.Profiles, run.Tokenizer, run.Dataset is null ? runDir : null);
                // loaded once per distinct dataset, whichever slot needs it first
                var data = datasets.GetOrAdd(key, _ => new Lazy<LoadedDataset>(() => load(run, runDir))).Value;
                string? error = null;
                foreach (var (step, dir) in todo)
                {
                    cancel.ThrowIfCancellationRequested();
                    var sw = Stopwatch.StartNew();
                    try
                    {
                        using var session = RunSession.OpenCheckpoint(dir, options with { VocabSize = data.Tokenizer.VocabSize }, data, evalQuestions);
                        var report = session.EvaluateSubjectwise(cancel: cancel, histograms: true);
                        EvalResultsCsv.AppendSubjectwise(folder.EvalResultsFull, report);
                        EvalResultsCsv.AppendHistograms(histograms, report); // last: marks the checkpoint done
                        evaluated++;
                        log($"{Path.GetFileName(runDir)}: step {step} re-evaluated ({report.Modes.Count} modes, {report.Modes.Sum(m => m.Questions):N0} questions, {sw.Elapsed.TotalSeconds:F1} s)");
                    }
                    catch (Exception e) when (e is UserInputException or InvalidDataException)
                    {
                        // one damaged checkpoint does not cost the run's others
                        error = $"checkpoint {dir}: {e.Message}";
                        log($"warning: skipped {error}");
                    }
                }
                done.Add(new ReevaluatedRun(runDir, evaluated, skipped, clock.Elapsed.TotalSeconds, error));
            }
            catch (Exception e) when (e is UserInputException or IOException or InvalidDataException or FormatException or System.Text.Json.JsonException)
            {
                log($"warning: skipped run {runDir}: {e.Message}");
                done.Add(new ReevaluatedRun(runDir, evaluated, skipped, clock.Elapsed.TotalSeconds, e.Message));
            }
        });
        return [.. done.OrderBy(r => r.RunDir, StringComparer.Ordinal)];
    }
}
