using ActorLab.Model.Capacity;
using ActorLab.Model.Qa;

namespace ActorLab.Model.Tests.Capacity;

public class CapacityPlotsTests
{
    /// <summary>A report of synthetic runs (estimated entropies), with late steps so the derivative plot has data.</summary>
    static MeasureReport SyntheticReport(int runs)
    {
        var root = CapacityTestData.TempDir();
        var rng = new Random(5);
        for (int i = 0; i < runs; i++)
        {
            int n = i % 2 == 0 ? 1000 : 2000;
            long p = 100_000 * (1 + i / 2);
            var dir = Directory.CreateDirectory(Path.Combine(root, $"mup_n{n}_p{p}_omin1_omax2_wd0.1_l4_lr0.001_beta10.99_sf_r4")).FullName;
            var lines = new List<string> { "loss,global_step,mode,parameter_l2" };
            foreach (var step in new long[] { 100, 1000, 10000, 100000 }.Concat(Enumerable.Range(1, 30).Select(k => 1_000_000L + 100_000L * k)))
                foreach (var mode in EvalModes.All)
                {
                    double floor = mode == EvalMode.TrainOnehop ? 0.5 : mode == EvalMode.TrainTwohop ? 2 : 10;
                    lines.Add(FormattableString.Invariant($"{floor + 60.0 * 1e5 / (step + 1e5) + rng.NextDouble() * 0.01},{step},{mode.Name()},0.01"));
                }
            File.WriteAllLines(Path.Combine(dir, "eval_results.csv"), lines);
        }
        return CapacityMeasurement.Measure(new MeasureOptions { ResultsDir = root, MaxParallelism = 2 });
    }

    static void AssertPng(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length > 10_000, $"{path} is only {bytes.Length} bytes");
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
    }

    [Fact]
    public void Every_plot_is_written_as_png_and_svg()
    {
        var report = SyntheticReport(4);
        var outDir = CapacityTestData.TempDir();
        var warnings = new List<string>();
        var files = CapacityPlots.Write(outDir, report, 2, maxRunPlots: 2, warnings);
        string[] expected =
        [
            "capacity_vs_params_optimal_optimal_hops2", "bits_per_param_vs_params_optimal_optimal_hops2", "capacity_vs_N_optimal_optimal_hops2",
            "capacity_vs_step_optimal_optimal_hops2", "capacity_vs_norm_optimal_optimal_hops2",
            "capacity_fraction_of_entropy_optimal_optimal_hops2", "capacity_1hop_vs_2hop_optimal_optimal", "loss_derivatives",
        ];
        foreach (var name in expected)
        {
            AssertPng(Path.Combine(outDir, name + ".png"));
            var svg = File.ReadAllText(Path.Combine(outDir, name + ".svg"));
            Assert.Contains("<svg", svg);
        }
        // Titles and axis labels are in the SVG text.
        var paramsSvg = File.ReadAllText(Path.Combine(outDir, "capacity_vs_params_optimal_optimal_hops2.svg"));
        Assert.Contains("capacity (bits, log scale)", paramsSvg);
        // the bits-per-parameter levels live in their own plot, not as guide lines over the capacity data
        Assert.DoesNotContain("bits/parameter", paramsSvg);
        Assert.Contains("2 bits/parameter", File.ReadAllText(Path.Combine(outDir, "bits_per_param_vs_params_optimal_optimal_hops2.svg")));
        var runPlots = Directory.GetFiles(Path.Combine(outDir, "runs"), "*.png");
        Assert.Equal(2, runPlots.Length);
        foreach (var f in runPlots) AssertPng(f);
        Assert.Contains("eval_complete_two_hop_questions", File.ReadAllText(Path.ChangeExtension(runPlots[0], ".svg")));
        Assert.Equal(2, warnings.Count);
        Assert.Contains("2 of 4 runs", warnings[0]);
        // these runs have eval results only: no loss curve, one warning saying so (not a plot of nothing)
        Assert.Contains("2 of the 2 plotted run(s) have no progress.csv rows", warnings[1]);
        Assert.Equal(8 * 2 + 2 * 2, files.Count);
        Assert.Contains("least-squares fit", File.ReadAllText(Path.Combine(outDir, "capacity_vs_norm_optimal_optimal_hops2.svg")));
        Assert.Contains("y = 2 - x", File.ReadAllText(Path.Combine(outDir, "capacity_1hop_vs_2hop_optimal_optimal.svg")));
        Assert.Contains("capacity / dataset entropy", File.ReadAllText(Path.Combine(outDir, "capacity_fraction_of_entropy_optimal_optimal_hops2.svg")));
    }

    [Fact]
    public void Many_runs_get_a_median_and_band_derivative_plot_without_a_legend_per_run()
    {
        var report = SyntheticReport(8); // 16 derivative curves: more than a legend can hold
        var plot = CapacityPlots.LossDerivatives(report.Convergence, ConvergenceConfig.Default);
        var dir = CapacityTestData.TempDir();
        var files = CapacityPlots.Save(plot, Path.Combine(dir, "d")).ToList();
        AssertPng(files[0]);
        var svg = File.ReadAllText(files[1]);
        Assert.Contains("train_onehop median of 8 runs", svg);
        Assert.Contains("train_twohop 10th / 90th percentile", svg);
        Assert.DoesNotContain("mup_n", svg);
    }

    [Fact]
    public void Plots_without_data_still_render_with_a_note()
    {
        var report = SyntheticReport(1);
        var plot = CapacityPlots.CapacityVsParams(report.Final, 1.5, "test");
        var dir = CapacityTestData.TempDir();
        var files = CapacityPlots.Save(plot, Path.Combine(dir, "empty")).ToList();
        AssertPng(files[0]);
        Assert.Contains("no final 1.5-hop rows", File.ReadAllText(files[1]));
    }
}
