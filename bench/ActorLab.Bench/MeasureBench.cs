using System.Diagnostics;
using System.Globalization;
using System.Text;
using ActorLab.Model.Capacity;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Training;

namespace ActorLab.Bench;

/// <summary>
/// `measure` over a synthetic results tree (issue 5 target: 1,000 runs x 50 checkpoints in under 5 s). The tree is
/// written first (not timed): runs with run.json pointing at 4 real profiles parquet files (N = 2k..16k, R = 4) and
/// eval_results.csv with all 9 eval modes at the SPEC 4 eval steps (10 log-spaced up to 1e5, then every 1e5), so
/// the convergence rule has points after 1e6. Then `measure` runs in a fresh process, timed per phase: read + compute
/// (CSV parsing, entropies from parquet, capacities, convergence), tables, plots (5 summary plots + 20 per-run plots,
/// PNG + SVG each). A second row measures the subject-wise form on 100 runs (eval_results_full.csv).
/// </summary>
public static class MeasureBench
{
    public const string ChildCommand = "measure-child";

    public static int Run(string[] args)
    {
        int runs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1000;
        int checkpoints = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 50;
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
                var m = Child(results, Path.Combine(dir, subjectwise ? "out-subjectwise" : "out"), subjectwise ? "subjectwise" : "averaged");
                rows.Add(string.Create(CultureInfo.InvariantCulture,
                    $"| {n:N0} | {checkpoints} | {(subjectwise ? "subject-wise" : "averaged")} | {rowsWritten:N0} | {synth:F1} | {m["read_compute_s"]:F2} ({m["read_compute_cpu_s"]:F2}) | {m["tables_s"]:F2} ({m["tables_cpu_s"]:F2}) | {m["plots_s"]:F2} ({m["plots_cpu_s"]:F2}) | **{m["total_s"]:F2}** ({m["cpu_s"]:F2}) | {m["peak_mib"]:F0} | {m["capacity_rows"]:N0} |"));
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
            .AppendLine($"`dotnet run --project bench/ActorLab.Bench -c Release -- measure {runs} {checkpoints}` on {BenchResults.Machine()}, {DateTime.UtcNow:yyyy-MM-dd}.")
            .AppendLine("Synthetic runs (run.json + eval_results.csv with 9 modes per checkpoint; 4 shared profiles parquet files, R = 4);")
            .AppendLine("`measure` (scheme optimal, selection optimal) in a fresh process: wall seconds per phase, CPU seconds of the process in parentheses,")
            .AppendLine($"peak = peak working set. Plots: 4 summary plots + 20 per-run generalisation-gap plots, PNG + SVG. Load average at the end: {LoadAverage()}.")
            .AppendLine()
            .AppendLine("| runs | checkpoints | form | CSV rows | synthesise s (not timed) | read + compute s (cpu) | tables s (cpu) | plots s (cpu) | total s (cpu) | peak MiB | capacity rows |")
            .AppendLine("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in rows) md.AppendLine(r);
        var text = md.ToString();
        Console.WriteLine(text);
        Console.WriteLine($"written to {BenchResults.Write("measure", text)}");
        return 0;
    }

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
        });
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
