using System.Globalization;
using ActorLab.Model.Capacity;
using ActorLab.Model.Common;
using ActorLab.Model.Qa;
using ActorLab.Model.Training;

namespace ActorLab.Model.Storage;

/// <summary>One run as `actorlab runs` lists it: its configuration and how far it got, with its latest losses.</summary>
public sealed record RunRow(
    string Sweep, string Run, string Dir,
    int NProfiles, int Relations, long NParams, int Layers, string TrainedHops,
    string Optimizer, double Lr, double WeightDecay, int BatchSize, int SeqLen, int Seed, long MaxSteps,
    long StepsTrained, long? LastCheckpoint, long? EvalStep,
    double? TrainLoss, double? OneHopLoss, double? TwoHopLoss)
{
    /// <summary>Columns `--sort` accepts, by name, and how each compares.</summary>
    public static readonly IReadOnlyDictionary<string, Func<RunRow, IComparable?>> Columns = new Dictionary<string, Func<RunRow, IComparable?>>
    {
        ["sweep"] = r => r.Sweep, ["run"] = r => r.Run, ["n"] = r => r.NProfiles, ["relations"] = r => r.Relations,
        ["params"] = r => r.NParams, ["layers"] = r => r.Layers, ["hops"] = r => r.TrainedHops, ["lr"] = r => r.Lr,
        ["wd"] = r => r.WeightDecay, ["batch"] = r => r.BatchSize, ["seq"] = r => r.SeqLen, ["seed"] = r => r.Seed,
        ["steps"] = r => r.StepsTrained, ["checkpoint"] = r => r.LastCheckpoint, ["eval-step"] = r => r.EvalStep,
        ["train-loss"] = r => r.TrainLoss, ["1hop-loss"] = r => r.OneHopLoss, ["2hop-loss"] = r => r.TwoHopLoss,
    };
}

/// <summary>
/// Every run under one or more results folders (a sweep's runs/, a storage root, `actorlab train --out` folders):
/// run.json for the configuration, progress*.csv for the steps trained and the latest train loss (nats per answer
/// token), the eval results for the latest eval losses (nats per question: train_onehop, and train_twohop for runs
/// that train 2 hops), checkpoints/ for the newest checkpoint. A damaged run is reported and skipped, not fatal.
/// </summary>
public static class RunTable
{
    public static IReadOnlyList<RunRow> Read(IEnumerable<string> roots, Action<string> warn)
    {
        var rows = new List<RunRow>();
        var seen = new HashSet<string>();
        foreach (var root in roots)
        {
            foreach (var dir in RunDirs(root))
            {
                if (!seen.Add(dir)) continue;
                try { rows.Add(ReadOne(dir)); }
                catch (Exception e) when (e is UserInputException or IOException or FormatException or System.Text.Json.JsonException)
                {
                    warn($"skipped {dir}: {e.Message}");
                }
            }
        }
        return rows;
    }

    /// <summary>
    /// The run folders (those with a run.json) under <paramref name="root"/> or the root itself, by full real path in
    /// ordinal order: a sweep's measured-runs/ links to its run folders, so each run comes once, under its real folder.
    /// </summary>
    public static IReadOnlyList<string> RunDirs(string root)
    {
        if (!Directory.Exists(root)) throw new UserInputException($"--results: '{root}' is not a folder.");
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, MaxRecursionDepth = 8 };
        var dirs = Directory.EnumerateFiles(root, RunConfig.FileName, options).Select(Path.GetDirectoryName)
            .Concat(File.Exists(Path.Combine(root, RunConfig.FileName)) ? [root] : []);
        return dirs.Select(d => RealPath(Path.GetFullPath(d!))).Distinct().Order(StringComparer.Ordinal).ToArray();
    }

    static string RealPath(string dir)
    {
        var info = new DirectoryInfo(dir);
        return info.LinkTarget != null ? info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? dir : dir;
    }

    static RunRow ReadOne(string dir)
    {
        var c = RunConfig.Load(dir);
        var (steps, trainLoss) = Progress(dir);
        var checkpoint = Checkpoints.ListWithEpochs(dir).Select(x => (long?)x.Step).DefaultIfEmpty(null).Max();
        var (evalStep, oneHop, twoHop) = LatestEval(dir, c.Relations);
        return new RunRow(c.Sweep ?? "", c.RunName, dir, c.NProfiles, c.Relations, c.NParams, c.Layers,
            c.MinOrder == c.MaxOrder ? $"{c.MinOrder}" : $"{c.MinOrder}+{c.MaxOrder}",
            c.Optimizer, c.Lr, c.WeightDecay, c.BatchSize, c.SeqLen, c.Seed, c.MaxSteps,
            Math.Max(steps, Math.Max(checkpoint ?? 0, evalStep ?? 0)), checkpoint, evalStep, trainLoss, oneHop, c.MaxOrder >= 2 ? twoHop : null);
    }

    /// <summary>The highest step in any attempt's progress file, and the train loss at it.</summary>
    static (long Step, double? Loss) Progress(string dir)
    {
        long best = 0;
        double? loss = null;
        foreach (var (step, l) in ProgressLines(dir))
        {
            if (step < best) continue;
            (best, loss) = (step, double.IsFinite(l) ? l : null);
        }
        return (best, loss);
    }

    /// <summary>Every (step, train loss) line of every attempt's progress file, oldest epoch first.</summary>
    static IEnumerable<(long Step, double Loss)> ProgressLines(string dir)
    {
        foreach (var file in new RunFolder(dir, null).ProgressFiles())
        foreach (var line in File.ReadLines(file.Path).Skip(1))
        {
            var f = line.Split(',');
            if (f.Length < 4 || f[1] != "step" || !long.TryParse(f[2], CultureInfo.InvariantCulture, out var step)) continue;
            if (!double.TryParse(f[3], CultureInfo.InvariantCulture, out var l)) continue;
            yield return (step, l);
        }
    }

    /// <summary>
    /// A run's train loss per step over all its attempts (a resumed attempt's steps replace the ones it retrains),
    /// finite losses only, by step: what the dashboard's loss chart draws.
    /// </summary>
    public static IReadOnlyList<(long Step, double Loss)> TrainLossSeries(string dir)
    {
        var byStep = new SortedDictionary<long, double>();
        foreach (var (step, loss) in ProgressLines(dir))
            if (double.IsFinite(loss)) byStep[step] = loss;
        return [.. byStep.Select(kv => (kv.Key, kv.Value))];
    }

    /// <summary>A run's eval losses per mode over steps, from the same eval file <see cref="LatestEval"/> reads.</summary>
    public static IReadOnlyDictionary<EvalMode, IReadOnlyList<(long Step, double Loss)>> EvalSeries(string dir, int relations)
    {
        var file = EvalFile(dir);
        if (file is null) return new Dictionary<EvalMode, IReadOnlyList<(long, double)>>();
        return ResultsReader.ReadEvalCsv(file, relations, subjectwise: false, []).Where(r => double.IsFinite(r.Loss))
            .GroupBy(r => r.Mode)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<(long, double)>)[.. g.OrderBy(r => r.Step).Select(r => (r.Step, r.Loss))]);
    }

    /// <summary>One run's row, or null when its folder has no readable run.json yet.</summary>
    public static RunRow? TryReadOne(string dir)
    {
        if (!File.Exists(Path.Combine(dir, RunConfig.FileName))) return null;
        try { return ReadOne(dir); }
        catch (Exception e) when (e is UserInputException or IOException or FormatException or System.Text.Json.JsonException) { return null; }
    }

    static string? EvalFile(string dir)
    {
        var published = Path.Combine(dir, EvalResultsCsv.FileName);
        return File.Exists(published) ? published
            : Directory.GetFiles(dir, "eval_results.e*.csv").OrderByDescending(f => EpochOf(f)).FirstOrDefault();
    }

    /// <summary>
    /// The latest eval of the published eval_results.csv, or else of the newest attempt's (eval_results.eN.csv):
    /// what a run in progress has measured so far.
    /// </summary>
    static (long? Step, double? OneHop, double? TwoHop) LatestEval(string dir, int relations)
    {
        var file = EvalFile(dir);
        if (file is null) return (null, null, null);
        var rows = ResultsReader.ReadEvalCsv(file, relations, subjectwise: false, []);
        if (rows.Count == 0) return (null, null, null);
        var last = rows.Max(r => r.Step);
        double? Loss(EvalMode m) => rows.Where(r => r.Step == last && r.Mode == m).Select(r => (double?)r.Loss).FirstOrDefault();
        return (last, Loss(EvalMode.TrainOnehop), Loss(EvalMode.TrainTwohop));
    }

    static long EpochOf(string file)
    {
        var name = Path.GetFileNameWithoutExtension(file); // eval_results.e12
        return long.TryParse(name[(name.LastIndexOf(".e", StringComparison.Ordinal) + 2)..], CultureInfo.InvariantCulture, out var e) ? e : -1;
    }
}
