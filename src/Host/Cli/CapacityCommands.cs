using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ActorLab.Model.Capacity;
using ActorLab.Model.Common;
using ActorLab.Model.Profiles;

namespace ActorLab.Host.Cli;

/// <summary>`actorlab entropy`, `actorlab solve-n`, `actorlab measure` (SPEC 5: capacity measurement).</summary>
public static class CapacityCommands
{
    public static IEnumerable<Command> Build() => [Entropy(), SolveN(), Measure()];

    static Option<string> SchemeOption() => new("--scheme")
    {
        Description = $"How 2-hop answers are encoded: {string.Join(", ", Schemes.SchemeNames)}.",
        DefaultValueFactory = _ => "optimal",
    };

    static Option<string> SelectionOption() => new("--selection-scheme")
    {
        Description = $"How the names and birth dates in use are chosen: {string.Join(", ", Schemes.SelectionNames)}.",
        DefaultValueFactory = _ => "optimal",
    };

    static Option<string> FormulasOption() => new("--formulas")
    {
        Description = "Dataset-entropy and averaged formulas: actorlab (docs/capacity.md), or reference (the reference code's numbers).",
        DefaultValueFactory = _ => "actorlab",
    };

    static Option<bool> JsonOption() => new("--json") { Description = "Print one JSON object instead of text." };

    static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    static ProfileDatabase ReadProfiles(string path) => ProfileParquet.Read(path);

    static Command Entropy()
    {
        var profiles = new Option<string>("--profiles") { Description = "Profiles parquet file.", Required = true };
        var scheme = SchemeOption();
        var selection = SelectionOption();
        var formulas = FormulasOption();
        var json = JsonOption();
        var cmd = new Command("entropy", "Per-subject entropies, selection entropies and dataset entropy (bits) of a profiles file.")
        {
            profiles, scheme, selection, formulas, json,
        };
        cmd.SetAction(pr =>
        {
            var s = Schemes.ParseScheme(pr.GetValue(scheme)!);
            var sel = Schemes.ParseSelection(pr.GetValue(selection)!);
            var f = Schemes.ParseFormulas(pr.GetValue(formulas)!);
            var db = ReadProfiles(pr.GetValue(profiles)!);
            var e = EntropyCalculator.Compute(db, sel);
            double one = CapacityCalculator.DatasetEntropy1Hop(e, s), two = CapacityCalculator.DatasetEntropy2Hop(e, s, f);
            if (pr.GetValue(json))
            {
                var entropies = new JsonObject();
                for (int a = 0; a < e.SubjectCount; a++) entropies[e.SubjectNames[a]] = e.SubjectEntropies[a];
                var o = new JsonObject
                {
                    ["N"] = e.N,
                    ["relations"] = e.Relations,
                    ["scheme"] = s.Name(),
                    ["selection_scheme"] = sel.Name(),
                    ["entropies"] = entropies,
                    ["name_selection_entropy"] = e.NameSelectionEntropy,
                    ["birth_date_selection_entropy"] = e.BirthDateSelectionEntropy,
                    ["dataset_entropy_1hop"] = one,
                    ["dataset_entropy_2hop"] = two,
                };
                Console.WriteLine(o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            Console.WriteLine($"N = {e.N}, relations = {e.Relations}, scheme {s.Name()}, selection scheme {sel.Name()}");
            Console.WriteLine("per-subject entropy H_a (bits per profile):");
            for (int a = 0; a < e.SubjectCount; a++) Console.WriteLine($"  {e.SubjectNames[a],-18} {e.SubjectEntropies[a],12:F4}");
            Console.WriteLine($"name selection entropy       {e.NameSelectionEntropy,16:F1} bits");
            Console.WriteLine($"birth-date selection entropy {e.BirthDateSelectionEntropy,16:F1} bits");
            Console.WriteLine($"dataset entropy, 1-hop       {one,16:F1} bits");
            Console.WriteLine($"dataset entropy, 2-hop       {two,16:F1} bits ({(f == CapacityFormulas.ActorLab ? "incremental" : "not incremental, as the reference")})");
            return 0;
        });
        return cmd;
    }

    static Command SolveN()
    {
        var target = new Option<double>("--target-bits") { Description = "Target 1-hop dataset entropy in bits.", Required = true };
        var relations = new Option<int>("--relations") { Description = $"Relations R (1..{RelationNames.Max}).", Required = true };
        var listsDir = new Option<string?>("--lists-dir") { Description = "Value lists folder (default: the built-in lists)." };
        var bipartite = new Option<bool>("--bipartite") { Description = "Bipartite relations (every profile is a target)." };
        var seed = new Option<int>("--seed") { Description = "Seed of the dataset generated to check the answer.", DefaultValueFactory = _ => 0 };
        var scheme = SchemeOption();
        var selection = SelectionOption();
        var json = JsonOption();
        var cmd = new Command("solve-n", "Find N whose 1-hop dataset entropy is closest to a target; checked by generating that dataset.")
        {
            target, relations, listsDir, bipartite, seed, scheme, selection, json,
        };
        cmd.SetAction(pr =>
        {
            var s = Schemes.ParseScheme(pr.GetValue(scheme)!);
            var sel = Schemes.ParseSelection(pr.GetValue(selection)!);
            var dir = pr.GetValue(listsDir);
            var lists = dir == null ? ValueLists.Default : ValueLists.FromDirectory(dir);
            bool bip = pr.GetValue(bipartite);
            var solution = NSolver.Solve(pr.GetValue(target), pr.GetValue(relations), ValueListSizes.Of(lists), sel, s, bip);
            // Check: generate that N and measure its real 1-hop entropy.
            var db = ProfileGenerator.Generate(new ProfileGeneratorConfig(solution.N, pr.GetValue(relations), pr.GetValue(seed), bip), lists);
            double actual = CapacityCalculator.DatasetEntropy1Hop(EntropyCalculator.Compute(db, sel), s);
            double relError = (actual - solution.PredictedEntropy1Hop) / solution.PredictedEntropy1Hop;
            if (Math.Abs(relError) > 0.01)
                Console.Error.WriteLine($"warning: generated N={solution.N} has 1-hop entropy {actual:F0} bits, {relError:P2} off the prediction {solution.PredictedEntropy1Hop:F0}.");
            if (pr.GetValue(json))
            {
                var o = new JsonObject
                {
                    ["n"] = solution.N,
                    ["dataset_entropy_1hop"] = actual,
                    ["predicted_dataset_entropy_1hop"] = solution.PredictedEntropy1Hop,
                    ["target_bits"] = solution.TargetBits,
                    ["seed"] = pr.GetValue(seed),
                };
                Console.WriteLine(o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            Console.WriteLine($"N = {solution.N}");
            Console.WriteLine($"1-hop dataset entropy: predicted {solution.PredictedEntropy1Hop:F0} bits, generated (seed {pr.GetValue(seed)}) {actual:F0} bits, target {solution.TargetBits:F0} bits");
            return 0;
        });
        return cmd;
    }

    static Command Measure()
    {
        var results = new Option<string>("--results") { Description = "Results folder: every run folder under it with eval_results.csv.", Required = true };
        var output = new Option<string>("--out") { Description = "Output folder for tables and plots (created if missing).", Required = true };
        var scheme = SchemeOption();
        var selection = SelectionOption();
        var subjectwise = new Option<bool>("--subjectwise") { Description = "Per-subject capacities from eval_results_full.csv." };
        var hops = new Option<string>("--hops") { Description = "Hop level of the capacity plots: 1, 2 or 2.1.", DefaultValueFactory = _ => "2" };
        var profilesDir = new Option<string[]>("--profiles-dir")
        {
            Description = "Folder(s) with reference datasets profiles_dataset_{N}_uniform[_r{R}].parquet, for runs without run.json.",
            AllowMultipleArgumentsPerToken = true,
        };
        var listsDir = new Option<string?>("--lists-dir") { Description = "Value lists used to estimate entropies when a run's profiles file is missing (default: reference sizes)." };
        var minFinal = new Option<long>("--min-final-step") { Description = "Drop final rows before this step (the reference used 700000).", DefaultValueFactory = _ => 0 };
        var runPlots = new Option<int>("--run-plots") { Description = "Plot the generalisation gap of at most this many runs.", DefaultValueFactory = _ => 20 };
        var formulas = FormulasOption();
        // The reference's filters: measure only runs whose config has one of the values given.
        Option<T[]> Filter<T>(string name, string what) => new(name)
        {
            Description = $"Measure only runs with one of these {what}.", AllowMultipleArgumentsPerToken = true,
        };
        var nParams = Filter<long>("--n-params", "parameter counts (n_params)");
        var nProfiles = Filter<int>("--n-profiles", "profile counts N (N_profiles)");
        var layers = Filter<int>("--layers", "layer counts");
        var minHops = Filter<int>("--min-train-hops", "minimum trained hops (1 or 2)");
        var maxHops = Filter<int>("--max-train-hops", "maximum trained hops (1 or 2)");
        var weightDecay = Filter<double>("--weight-decay", "weight decays");
        var cmd = new Command("measure", "Capacity of every run under a results folder: tables (CSV) and plots (PNG, SVG).")
        {
            results, output, scheme, selection, subjectwise, hops, profilesDir, listsDir, minFinal, runPlots, formulas,
            nParams, nProfiles, layers, minHops, maxHops, weightDecay,
        };
        cmd.SetAction(pr =>
        {
            var hopsText = pr.GetValue(hops)!;
            if (!double.TryParse(hopsText, NumberStyles.Float, CultureInfo.InvariantCulture, out var h) || h is not (1 or 2 or 2.1))
                throw new UserInputException($"--hops must be 1, 2 or 2.1, got '{hopsText}'.");
            if (pr.GetValue(runPlots) < 0) throw new UserInputException("--run-plots must be 0 or more.");
            CheckFilter("--n-params", pr.GetValue(nParams)?.Select(v => (double)v), v => v >= 1, "positive");
            CheckFilter("--n-profiles", pr.GetValue(nProfiles)?.Select(v => (double)v), v => v >= 1, "positive");
            CheckFilter("--layers", pr.GetValue(layers)?.Select(v => (double)v), v => v >= 1, "positive");
            CheckFilter("--min-train-hops", pr.GetValue(minHops)?.Select(v => (double)v), v => v is 1 or 2, "1 or 2");
            CheckFilter("--max-train-hops", pr.GetValue(maxHops)?.Select(v => (double)v), v => v is 1 or 2, "1 or 2");
            CheckFilter("--weight-decay", pr.GetValue(weightDecay), v => v >= 0, "0 or more");
            var outDir = PathChecks.OutputFolder("--out", pr.GetValue(output));
            PathChecks.InputFolder("--results", pr.GetValue(results), "results folder");
            var listDir = pr.GetValue(listsDir);
            var options = new MeasureOptions
            {
                ResultsDir = pr.GetValue(results)!,
                Scheme = Schemes.ParseScheme(pr.GetValue(scheme)!),
                Selection = Schemes.ParseSelection(pr.GetValue(selection)!),
                Subjectwise = pr.GetValue(subjectwise),
                ProfilesDirs = pr.GetValue(profilesDir) ?? [],
                LoadProfiles = ReadProfiles,
                Lists = listDir == null ? ValueListSizes.Reference : ValueListSizes.Of(ValueLists.FromDirectory(listDir)),
                MinFinalStep = pr.GetValue(minFinal),
                Formulas = Schemes.ParseFormulas(pr.GetValue(formulas)!),
                Filter = new RunFilter
                {
                    NParams = pr.GetValue(nParams) ?? [], NProfiles = pr.GetValue(nProfiles) ?? [], Layers = pr.GetValue(layers) ?? [],
                    MinTrainHops = pr.GetValue(minHops) ?? [], MaxTrainHops = pr.GetValue(maxHops) ?? [], WeightDecay = pr.GetValue(weightDecay) ?? [],
                },
            };
            foreach (var d in options.ProfilesDirs)
                if (!Directory.Exists(d)) throw new UserInputException($"--profiles-dir '{d}' does not exist.");
            return RunMeasure(options, outDir, h, pr.GetValue(runPlots));
        });
        return cmd;
    }

    static void CheckFilter(string name, IEnumerable<double>? values, Func<double, bool> ok, string what)
    {
        foreach (var v in values ?? [])
            if (!ok(v)) throw new UserInputException($"{name} values must be {what}, got {F(v)}.");
    }

    /// <summary>Measures, writes tables and plots, prints a summary; exit 0 when at least one run was measured.</summary>
    public static int RunMeasure(MeasureOptions options, string outDir, double hops, int runPlots)
    {
        var report = CapacityMeasurement.Measure(options);
        foreach (var w in report.Warnings) Console.Error.WriteLine($"warning: {w}");
        foreach (var (run, reason) in report.Skipped) Console.Error.WriteLine($"warning: skipped run: {reason}");
        if (report.Runs.Count == 0 && report.Skipped.Count == 0)
            throw new UserInputException($"No run under '{options.ResultsDir}' matches {options.Filter} ({report.FilteredOut} run(s) filtered out).");
        if (report.Runs.Count == 0)
            throw new UserInputException($"Nothing could be measured: all {report.Skipped.Count} run(s) under '{options.ResultsDir}' were skipped (see the warnings above).");
        try { Directory.CreateDirectory(outDir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserInputException($"Cannot create output folder '{outDir}': {e.Message}", e);
        }
        var files = new List<string>(CapacityTables.Write(outDir, report));
        var plotWarnings = new List<string>();
        files.AddRange(CapacityPlots.Write(outDir, report, hops, runPlots, plotWarnings));
        // beside the tables, not in the runs' folders: `measure` writes only under --out
        CapacityTensorBoard.Write(report, r => Path.Combine(outDir, "tensorboard", r.Name));
        foreach (var w in plotWarnings) Console.Error.WriteLine($"warning: {w}");
        int converged = report.Convergence.Count(c => c.Result.Converged);
        Console.WriteLine($"measured {report.Runs.Count} run(s) ({report.Skipped.Count} skipped{(report.FilteredOut > 0 ? $", {report.FilteredOut} filtered out" : "")}), {report.AllSteps.Count} capacity rows; " +
                          $"{converged} converged, {report.Convergence.Count - converged} never converged");
        foreach (var final in files.Where(f => Path.GetFileName(f).StartsWith("capacity_final_", StringComparison.Ordinal)))
            CapacitySummary.Print(final);
        Console.WriteLine($"wrote {files.Count} files to {Path.GetFullPath(outDir)}");
        return 0;
    }
}
