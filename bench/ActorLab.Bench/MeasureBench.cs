using System.Diagnostics;
using System.Globalization;
using System.Text;
using ActorLab.Model.Capacity;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Training;

namespace ActorLab.Bench;

/// <summary>
/// `measure` over a synthetic results tree (issue 5 target: 1,000 runs x 50 checkpoints in under 5 s; issue 11:
/// with the final table's total_capacity, bits_per_param and fraction_of_entropy and the three extra plots). The tree
/// is written first (not timed): runs with run.json pointing at 4 real profiles parquet files (N = 2k..16k, R = 4)
/// and eval_results.csv with all 9 eval modes at the SPEC 4 eval steps (10 log-spaced up to 1e5, then every 1e5), so
/// the convergence rule has points after 1e6. Then `measure` runs in a fresh process, timed per phase: read + compute
/// (CSV parsing, entropies from parquet, capacities, convergence), tables, plots (9 summary plots + 20 per-run
/// plots, PNG + SVG each). Each form is measured `repeats` times (fresh process each): the table gives the median
/// and the range. A second row measures the reference's headline setup on 100 runs: subject-wise
/// (eval_results_full.csv), 2-hop-double, with university absent from every train_twohop group (a held-out second
/// attribute).
/// </summary>
public static class MeasureBench
{
    public const string ChildCommand = "measure-child";

    public static int Run(string[] args)
    {
        int runs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1000;
        int checkpoints = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 50;
        int repeats = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5;
        var dir = Path.Combine(Path.GetTempPath(), "actorlab-bench-measure-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        var rows = new List<string>();
        try
        {
            var profiles = WriteProfiles(dir);
            foreach (var (n, subjectwise) in new[] { (runs, false), (Math.Max(1, runs / 10), true) })
            {
                var results = Path.Combine(dir, subjectwise ? "results-subjectwise" : "results");
                var clock = Stopwatch.StartNew();
                long rowsWritten = Synthesise(results, profiles, n, checkpoints, subjectwise);
                double synth = clock.Elapsed.TotalSeconds;
                var m = Enumerable.Range(0, repeats)
                    .Select(i => Child(results, Path.Combine(dir, (subjectwise ? "out-subjectwise" : "out") + i), subjectwise ? "subjectwise" : "averaged"))
                    .ToList();
                string Stat(string key) => Spread(m.Select(x => x[key]).ToList());
                rows.Add(string.Create(CultureInfo.InvariantCulture,
                    $"| {n:N0} | {checkpoints} | {(subjectwise ? "subject-wise, 2-hop-double" : "averaged, optimal")} | {rowsWritten:N0} | {synth:F1} | {repeats} | {Stat("read_compute_s")} | {Stat("tables_s")} | {Stat("plots_s")} | **{Stat("total_s")}** | {Stat("cpu_s")} | {Median(m.Select(x => x["peak_mib"]).ToList()):F0} | {m[0]["capacity_rows"]:N0} |"));
                Console.Error.WriteLine(rows[^1]);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
        var md = new StringBuilder()
            .AppendLine("# Measure benchmark")
            .AppendLine()
            .AppendLine($"`dotnet run --project bench/ActorLab.Bench -c Release -- measure {runs} {checkpoints} {repeats}` on {BenchResults.Machine()}, {DateTime.UtcNow:yyyy-MM-dd}.")
            .AppendLine("Synthetic runs (run.json + eval_results.csv with 9 modes per checkpoint; 4 shared profiles parquet files, R = 4);")
            .AppendLine("`measure` in a fresh process per repeat: wall seconds per phase as median (min-max over the repeats), CPU seconds of the process,")
            .AppendLine("peak = median peak working set. The final table has total_capacity, bits_per_param, fraction_of_entropy. Plots: 9 summary plots")
            .AppendLine("(capacity vs params, bits per parameter vs params, N, step, norm; fraction of entropy; 1-hop vs 2-hop; loss derivatives) + 20 per-run generalisation-gap plots (no loss curves: synthetic runs have no progress files), PNG + SVG.")
            .AppendLine("Subject-wise row: eval_results_full.csv, scheme 2-hop-double, university absent from every train_twohop group.")
            .AppendLine($"Load average at the end: {LoadAverage()}.")
            .AppendLine()
            .AppendLine("| runs | checkpoints | form | CSV rows | synthesise s (not timed) | repeats | read + compute s | tables s | plots s | total s | cpu s | peak MiB | capacity rows |")
            .AppendLine("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in rows) md.AppendLine(r);
        var text = md.ToString();
        Console.WriteLine(text);
        Console.WriteLine($"written to {BenchResults.Write("measure", text)}");
        return 0;
    }

    static double Median(List<double> xs)
    {
        var s = xs.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    /// <summary>"median (min-max)".</summary>
    static string Spread(List<double> xs) =>
        string.Create(CultureInfo.InvariantCulture, $"{Median(xs):F2} ({xs.Min():F2}-{xs.Max():F2})");

    static readonly int[] Ns = [2000, 4000, 8000, 16000];

    static Dictionary<int, string> WriteProfiles(string dir)
    {
        var files = new Dictionary<int, string>();
        foreach (var n in Ns)
        {
            var path = Path.Combine(dir, $"profiles_dataset_{n}_uniform_r4.parquet");
            ProfileParquet.Write(ProfileGenerator.Generate(new ProfileGeneratorConfig(n, 4, Seed: n), ValueLists.Default), path);
            files[n] = path;
        }
        return files;
    }

    /// <summary>SPEC 4 eval steps: 10 log-spaced in [100, 1e5], then every 1e5 (+1), as many as asked.</summary>
    static List<long> Steps(int count)
    {
        var steps = Enumerable.Range(0, 10).Select(i => (long)Math.Exp(Math.Log(100) + i * (Math.Log(100000) - Math.Log(100)) / 9)).Distinct().ToList();
        for (long s = 200_001; steps.Count < count; s += 100_000) steps.Add(s);
        return steps.Take(count).ToList();
    }

    static long Synthesise(string results, Dictionary<int, string> profiles, int runs, int checkpoints, bool subjectwise)
    {
        var rng = new Random(1234);
        var steps = Steps(checkpoints);
        long rows = 0;
        var subjects = Subjects.Names(4);
        for (int i = 0; i < runs; i++)
        {
            int n = Ns[i % Ns.Length];
            long p = 200_000L * (1 + i % 25);
            var name = $"mup_n{n}_p{p}_omin1_omax2_wd0.1_l4_lr0.001_beta10.99_sf_r4_seed{i}";
            var dir = Directory.CreateDirectory(Path.Combine(results, name)).FullName;
            new RunConfig
            {
                RunName = name, Profiles = profiles[n], Tokenizer = "tokenizer.json", NProfiles = n, Relations = 4,
                NParams = p, ParamBudget = p, Layers = 4, MinOrder = 1, MaxOrder = 2,
            }.Save(dir);
            double rate = 2e5 + rng.NextDouble() * 2e6; // some runs flatten by the end, some do not
            var sb = new StringBuilder(subjectwise ? "loss,global_step,mode,parameter_l2,subject\n" : "loss,global_step,mode,parameter_l2\n");
            foreach (var step in steps)
                foreach (var mode in EvalModes.All)
                {
                    double floor = mode == EvalMode.TrainOnehop ? 1 : mode == EvalMode.TrainTwohop ? 3 : 15;
                    double loss = floor + 40 * rate / (step + rate) + rng.NextDouble() * 1e-3;
                    double l2 = 0.02 + 1e-9 * step;
                    if (subjectwise)
                        foreach (var s in subjects)
                        {
                            if (mode == EvalMode.TrainTwohop && s == "university") continue; // a held-out second attribute
                            sb.Append(string.Create(CultureInfo.InvariantCulture, $"{loss * (0.8 + 0.05 * s.Length % 4)},{step},{mode.Name()},{l2},{s}\n"));
                            rows++;
                        }
                    else
                    {
                        sb.Append(string.Create(CultureInfo.InvariantCulture, $"{loss},{step},{mode.Name()},{l2}\n"));
                        rows++;
                    }
                }
            File.WriteAllText(Path.Combine(dir, subjectwise ? ResultsReader.EvalFullFile : ResultsReader.EvalFile), sb.ToString());
        }
        return rows;
    }

    static Dictionary<string, double> Child(params string[] args) => BenchResults.RunChild(ChildCommand, args);

    /// <summary>One `measure` in this process: the same steps as `actorlab measure`.</summary>
    public static int RunChild(string[] args)
    {
        string results = args[0], outDir = args[1];
        bool subjectwise = args[2] == "subjectwise";
        using var self = Process.GetCurrentProcess();
        var cpu0 = self.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var report = CapacityMeasurement.Measure(new MeasureOptions
        {
            ResultsDir = results, Subjectwise = subjectwise, LoadProfiles = ProfileParquet.Read,
            Scheme = subjectwise ? CapacityScheme.TwoHopDouble : CapacityScheme.Optimal,
        });
        if (!report.AllSteps.Any(r => r.Hops == 2) || !report.AllSteps.Any(r => r.Hops == 2.1))
            throw new InvalidOperationException("no hops 2 or 2.1 rows");
        double measure = clock.Elapsed.TotalSeconds;
        self.Refresh();
        var cpuMeasure = self.TotalProcessorTime;
        if (report.Skipped.Count > 0) throw new InvalidOperationException("skipped: " + report.Skipped[0].Reason);
        Directory.CreateDirectory(outDir);
        clock.Restart();
        CapacityTables.Write(outDir, report);
        double tables = clock.Elapsed.TotalSeconds;
        self.Refresh();
        var cpuTables = self.TotalProcessorTime;
        clock.Restart();
        CapacityPlots.Write(outDir, report, 2, maxRunPlots: 20, []);
        double plots = clock.Elapsed.TotalSeconds;
        self.Refresh();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"read_compute_s={measure}\ntables_s={tables}\nplots_s={plots}\ntotal_s={measure + tables + plots}\n" +
            $"read_compute_cpu_s={(cpuMeasure - cpu0).TotalSeconds}\ntables_cpu_s={(cpuTables - cpuMeasure).TotalSeconds}\nplots_cpu_s={(self.TotalProcessorTime - cpuTables).TotalSeconds}\n" +
            $"cpu_s={(self.TotalProcessorTime - cpu0).TotalSeconds}\npeak_mib={self.PeakWorkingSet64 / (1024.0 * 1024.0)}\ncapacity_rows={report.AllSteps.Count}"));
        return 0;
    }

    static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
