using System.Collections.Concurrent;
using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;

namespace ActorLab.Model.Capacity;

/// <summary>One row of the capacity tables: a run at one eval step and hop level (1, 2 or 2.1).</summary>
public sealed record CapacityRow(
    RunInfo Run,
    double Hops,
    long Step,
    double ParameterNorm,
    double Capacity,
    double BaselineCapacity,
    double DatasetEntropy,
    IReadOnlyList<double>? SubjectCapacities)
{
    /// <summary>Capacity per parameter (NaN when the parameter count is unknown).</summary>
    public double BitsPerParam => Run.NParams > 0 ? Capacity / Run.NParams : double.NaN;

    /// <summary>Capacity as a fraction of what the dataset holds at this hop level (NaN when that is 0).</summary>
    public double FractionOfEntropy => DatasetEntropy != 0 ? Capacity / DatasetEntropy : double.NaN;
}

/// <summary>A run's convergence verdict and the loss derivatives behind it.</summary>
public sealed record RunConvergence(RunInfo Run, ConvergenceResult Result);

/// <summary>
/// `measure`'s run filters, as the reference's: a run is measured when each non-empty list holds its value
/// (n_params, N_profiles, layers, min_train_hops, max_train_hops, weight_decay of the tables).
/// </summary>
public sealed record RunFilter
{
    public IReadOnlyList<long> NParams { get; init; } = [];
    public IReadOnlyList<int> NProfiles { get; init; } = [];
    public IReadOnlyList<int> Layers { get; init; } = [];
    public IReadOnlyList<int> MinTrainHops { get; init; } = [];
    public IReadOnlyList<int> MaxTrainHops { get; init; } = [];
    public IReadOnlyList<double> WeightDecay { get; init; } = [];

    public bool Keeps(RunInfo r) =>
        Has(NParams, r.NParams) && Has(NProfiles, r.NProfiles) && Has(Layers, r.Layers) &&
        Has(MinTrainHops, r.MinOrder) && Has(MaxTrainHops, r.MaxOrder) &&
        // wd comes from run names and JSON: 0.1 and 1e-1 are the same decay
        (WeightDecay.Count == 0 || WeightDecay.Any(w => Math.Abs(w - r.WeightDecay) <= 1e-12 * Math.Max(1, Math.Abs(w))));

    static bool Has<T>(IReadOnlyList<T> allowed, T value) => allowed.Count == 0 || allowed.Contains(value);

    /// <summary>The filters given, in the CLI's words, e.g. "--layers 4 --weight-decay 0.1".</summary>
    public override string ToString() => string.Join(' ', new[]
    {
        Given("--n-params", NParams), Given("--n-profiles", NProfiles), Given("--layers", Layers),
        Given("--min-train-hops", MinTrainHops), Given("--max-train-hops", MaxTrainHops), Given("--weight-decay", WeightDecay),
    }.Where(g => g != null));

    static string? Given<T>(string option, IReadOnlyList<T> values) where T : IFormattable =>
        values.Count == 0 ? null : option + " " + string.Join(' ', values.Select(v => v.ToString(null, System.Globalization.CultureInfo.InvariantCulture)));
}

/// <summary>`measure`'s options.</summary>
public sealed record MeasureOptions
{
    public required string ResultsDir { get; init; }
    public CapacityScheme Scheme { get; init; } = CapacityScheme.Optimal;
    public SelectionScheme Selection { get; init; } = SelectionScheme.Optimal;
    /// <summary>ActorLab's formulas, or the reference's (to reproduce its numbers).</summary>
    public CapacityFormulas Formulas { get; init; } = CapacityFormulas.ActorLab;
    /// <summary>Per-subject form from eval_results_full.csv (else the averaged form from eval_results.csv).</summary>
    public bool Subjectwise { get; init; }
    /// <summary>Folders searched for reference datasets profiles_dataset_{N}_{uniform|bipartite}[_r{R}][.parquet].</summary>
    public IReadOnlyList<string> ProfilesDirs { get; init; } = [];
    /// <summary>Reads a profiles file; null: no reader, entropies are estimated (<see cref="NSolver"/>).</summary>
    public Func<string, ProfileDatabase>? LoadProfiles { get; init; }
    /// <summary>List sizes for estimated entropies.</summary>
    public ValueListSizes Lists { get; init; } = ValueListSizes.Reference;
    /// <summary>Final rows earlier than this step are dropped (the reference used 700000; default keeps all).</summary>
    public long MinFinalStep { get; init; }
    public ConvergenceConfig Convergence { get; init; } = ConvergenceConfig.Default;
    /// <summary>Which runs to measure (default: all).</summary>
    public RunFilter Filter { get; init; } = new();
    public int MaxParallelism { get; init; } = Environment.ProcessorCount;
}

/// <summary>Everything `measure` computed; runs that could not be measured are in <see cref="Skipped"/> with the reason.</summary>
public sealed record MeasureReport(
    MeasureOptions Options,
    IReadOnlyList<RunResults> Runs,
    IReadOnlyList<CapacityRow> AllSteps,
    IReadOnlyList<CapacityRow> Final,
    IReadOnlyList<RunConvergence> Convergence,
    IReadOnlyList<(string Run, string Reason)> Skipped,
    IReadOnlyList<string> Warnings)
{
    public int MaxRelations => Runs.Count == 0 ? 0 : Runs.Max(r => r.Info.Relations);

    /// <summary>Runs left out by <see cref="MeasureOptions.Filter"/> (neither measured nor skipped).</summary>
    public int FilteredOut { get; init; }
}

/// <summary>
/// `measure`: every run under a results folder -> capacity per run, step and hop level (SPEC 5), final capacities
/// and convergence. Rows per step: hops 1 from train_onehop, hops 2 from train_twohop (both not incremental, as in
/// the reference), and hops 2.1 = incremental 1-hop capacity + 2-hop capacity wherever both exist at a step.
/// dataset_entropy is the same formula at zero loss; baseline_capacity the selection entropies. A bad run is
/// skipped with its reason and the rest are measured.
/// </summary>
public static class CapacityMeasurement
{
    public static MeasureReport Measure(MeasureOptions o)
    {
        if (o.Scheme == CapacityScheme.TwoHopDouble && !o.Subjectwise)
            throw new UserInputException("Scheme 2-hop-double inverts each subject's 2-hop loss, so it needs per-subject losses: add --subjectwise (reads eval_results_full.csv).");
        var dirs = ResultsReader.DiscoverRuns(o.ResultsDir);
        if (dirs.Count == 0)
            throw new UserInputException($"No runs under '{o.ResultsDir}': no folder holds {ResultsReader.EvalFile} or {ResultsReader.EvalFullFile}.");

        var entropyCache = new ConcurrentDictionary<string, Lazy<(DatasetEntropy, string?)>>();
        var results = new (RunResults? Run, List<CapacityRow>? Rows, RunConvergence? Conv, string? Error, List<string> Warnings)[dirs.Count];
        var filteredOut = new bool[dirs.Count];
        Parallel.For(0, dirs.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, o.MaxParallelism) }, i =>
        {
            var warnings = new List<string>();
            try
            {
                // filter on the config before reading any eval CSV
                var info = ResultsReader.ReadInfo(dirs[i]);
                if (!o.Filter.Keeps(info)) { filteredOut[i] = true; return; }
                var run = ResultsReader.ReadRun(info, o.Subjectwise);
                warnings.AddRange(run.Warnings);
                var (entropy, note) = Entropy(run.Info, o, entropyCache);
                if (note != null) warnings.Add(note);
                var rows = MeasureRun(run, entropy, o);
                var conv = AssessConvergence(run, o);
                results[i] = (run, rows, conv, null, warnings);
            }
            catch (UserInputException e)
            {
                results[i] = (null, null, null, e.Message, warnings);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or FormatException or UnauthorizedAccessException)
            {
                // A file that cannot be read (e.g. a corrupt profiles parquet) skips the run, not the whole measurement.
                results[i] = (null, null, null, $"Run '{dirs[i]}': {e.Message}", warnings);
            }
        });

        var runs = new List<RunResults>();
        var all = new List<CapacityRow>();
        var convs = new List<RunConvergence>();
        var skipped = new List<(string, string)>();
        var allWarnings = new List<string>();
        for (int i = 0; i < dirs.Count; i++)
        {
            if (filteredOut[i]) continue;
            var r = results[i];
            allWarnings.AddRange(r.Warnings);
            if (r.Error != null) { skipped.Add((dirs[i], r.Error)); continue; }
            if (r.Rows!.Count == 0)
            {
                skipped.Add((dirs[i], $"Run '{dirs[i]}' has no train_onehop or train_twohop rows to measure."));
                continue;
            }
            runs.Add(r.Run!);
            all.AddRange(r.Rows!);
            convs.Add(r.Conv!);
        }
        var final = all
            .GroupBy(r => (r.Run.Dir, r.Hops))
            .Select(g => g.MaxBy(r => r.Step)!)
            .Where(r => r.Step >= o.MinFinalStep)
            .ToList();
        // Entropy notes are shared by runs on the same dataset: report each once.
        return new MeasureReport(o, runs, all, final, convs, skipped, allWarnings.Distinct().ToList()) { FilteredOut = filteredOut.Count(f => f) };
    }

    /// <summary>The dataset entropies of a run: its profiles file (run.json or a reference name under --profiles-dir), else estimated.</summary>
    static (DatasetEntropy, string?) Entropy(RunInfo run, MeasureOptions o, ConcurrentDictionary<string, Lazy<(DatasetEntropy, string?)>> cache)
    {
        var path = FindProfiles(run, o);
        if (path != null && o.LoadProfiles != null)
        {
            var lazy = cache.GetOrAdd("file:" + path + "|" + o.Selection, _ => new Lazy<(DatasetEntropy, string?)>(() =>
                (EntropyCalculator.Compute(o.LoadProfiles(path), o.Selection), null)));
            var (e, _) = lazy.Value;
            if (e.N != run.NProfiles)
                throw new UserInputException($"Run '{run.Dir}': profiles file '{path}' has {e.N} profiles, the run says N = {run.NProfiles}.");
            if (e.Relations != run.Relations)
                throw new UserInputException($"Run '{run.Dir}': profiles file '{path}' has {e.Relations} relations, the run says {run.Relations}.");
            return (e, null);
        }
        var key = $"est:{run.NProfiles}|{run.Relations}|{run.Bipartite}|{o.Selection}";
        return cache.GetOrAdd(key, _ => new Lazy<(DatasetEntropy, string?)>(() =>
        (
            NSolver.ExpectedEntropy(run.NProfiles, run.Relations, o.Lists, o.Selection, run.Bipartite),
            (path != null
                ? $"N={run.NProfiles}, R={run.Relations}: no reader for profiles file '{path}'"
                : $"N={run.NProfiles}, R={run.Relations}: no profiles file found") +
            "; entropies estimated from expected distinct counts (pass --profiles-dir, or record profiles in run.json, for exact ones)."
        ))).Value;
    }

    static string? FindProfiles(RunInfo run, MeasureOptions o)
    {
        if (run.Profiles != null)
        {
            var candidates = Path.IsPathRooted(run.Profiles)
                ? [run.Profiles]
                : new[] { Path.Combine(run.Dir, run.Profiles), Path.Combine(o.ResultsDir, run.Profiles), Path.GetFullPath(run.Profiles) };
            var hit = candidates.FirstOrDefault(p => File.Exists(p) || Directory.Exists(p));
            if (hit != null) return hit;
            if (o.ProfilesDirs.Count == 0)
                throw new UserInputException($"Run '{run.Dir}': its profiles file '{run.Profiles}' (run.json) does not exist.");
        }
        var kind = run.Bipartite ? "bipartite" : "uniform";
        var names = new List<string> { $"profiles_dataset_{run.NProfiles}_{kind}_r{run.Relations}" };
        if (run.Relations == ResultsReader.ReferenceDefaultRelations) names.Add($"profiles_dataset_{run.NProfiles}_{kind}");
        foreach (var dir in o.ProfilesDirs)
            foreach (var name in names)
                foreach (var candidate in new[] { Path.Combine(dir, name + ".parquet"), Path.Combine(dir, name) })
                    if (File.Exists(candidate)) return candidate;
        return null;
    }

    static bool IsTraining(EvalMode m) => m is EvalMode.TrainOnehop or EvalMode.TrainTwohop;

    /// <summary>Capacity rows of one run at every step (hops 1, 2, 2.1).</summary>
    public static List<CapacityRow> MeasureRun(RunResults run, DatasetEntropy e, MeasureOptions o)
    {
        var info = run.Info;
        int s = e.SubjectCount;
        // (mode, step) -> per-subject losses in bits (or one mean loss), and the parameter norm; the last row wins.
        var losses = new Dictionary<(EvalMode, long), double[]>();
        var norms = new Dictionary<(EvalMode, long), double>();
        foreach (var row in run.Rows)
        {
            if (!IsTraining(row.Mode)) continue;
            var key = (row.Mode, row.Step);
            if (!losses.TryGetValue(key, out var l))
            {
                l = new double[o.Subjectwise ? s : 1];
                Array.Fill(l, double.NaN);
                losses[key] = l;
            }
            l[o.Subjectwise ? row.Subject : 0] = CapacityCalculator.NatsToBits(row.Loss);
            norms[key] = row.ParameterL2;
        }
        // A group lacking a subject is normal (a held-out second attribute never appears in train_twohop): its
        // capacity and dataset entropy sum the subjects present (NaN = absent), as the reference does.
        double baseline = e.BaselineCapacity;
        var rows = new List<CapacityRow>();
        foreach (var step in losses.Keys.Select(k => k.Item2).Distinct().Order())
        {
            losses.TryGetValue((EvalMode.TrainOnehop, step), out var one);
            losses.TryGetValue((EvalMode.TrainTwohop, step), out var two);
            if (one != null)
                rows.Add(Row(1, CapacityCalculator.Group(e, one, 1, o.Scheme, false, o.Formulas),
                    CapacityCalculator.GroupEntropy(e, one, 1, o.Scheme, false, o.Formulas), norms[(EvalMode.TrainOnehop, step)]));
            if (two != null)
                rows.Add(Row(2, CapacityCalculator.Group(e, two, 2, o.Scheme, false, o.Formulas),
                    CapacityCalculator.GroupEntropy(e, two, 2, o.Scheme, false, o.Formulas), norms[(EvalMode.TrainTwohop, step)]));
            if (one != null && two != null)
                rows.Add(Row(2.1, CapacityCalculator.TwoPointOneHop(e, one, two, o.Scheme, o.Formulas),
                    CapacityCalculator.TwoPointOneHopEntropy(e, one, two, o.Scheme, o.Formulas), norms[(EvalMode.TrainTwohop, step)]));

            CapacityRow Row(double hops, SubjectCapacities c, double entropy, double norm) =>
                new(info, hops, step, norm, c.Total, baseline, entropy, o.Subjectwise ? c.PerSubject : null);
        }
        return rows;
    }

    /// <summary>
    /// The run's convergence from its overall losses (eval_results.csv; when only subject-wise losses exist, their mean
    /// per step). Required modes: train_onehop, and train_twohop when the run trained 2-hop questions or evaluated them.
    /// </summary>
    public static RunConvergence AssessConvergence(RunResults run, MeasureOptions o)
    {
        var source = run.OverallRows.Count > 0 ? run.OverallRows : run.Rows;
        var curves = source
            .Where(r => IsTraining(r.Mode))
            .GroupBy(r => r.Mode)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<LossPoint>)g
                .GroupBy(r => r.Step)
                .Select(sg => new LossPoint(sg.Key, run.OverallRows.Count > 0 ? sg.Last().Loss : sg.Average(r => r.Loss)))
                .OrderBy(p => p.Step).ToList());
        var required = new List<EvalMode> { EvalMode.TrainOnehop };
        if (run.Info.MaxOrder >= 2 || curves.ContainsKey(EvalMode.TrainTwohop)) required.Add(EvalMode.TrainTwohop);
        return new RunConvergence(run.Info, Capacity.Convergence.Assess(curves, required, o.Convergence));
    }
}
