using System.Globalization;
using ActorLab.Model.Common;
using ActorLab.Model.Qa;
using ScottPlot;

namespace ActorLab.Model.Capacity;

/// <summary>
/// The plots of `measure` (ScottPlot, each written as PNG and SVG): capacity vs parameters (one line per N, with
/// each N's dataset entropy, log-log), bits per parameter vs parameters (with the 1 and 2 bits/parameter levels),
/// capacity vs N, capacity per parameter
/// vs step, capacity vs parameter norm, capacity as a fraction of the dataset entropy vs parameters, final 1-hop vs
/// 2-hop capacity per parameter, the smoothed loss derivatives of the convergence rule, and per run the
/// generalisation gap (loss of every eval mode over steps). Log axes are drawn as log10 of the data with ticks labelled in real units.
/// Lines are told apart by colour, width and marker, never by dash pattern: Skia's SVG backend drops dash path
/// effects (printing "Unsupported path effect" to stderr for each), so SVG and PNG would differ.
/// </summary>
public static class CapacityPlots
{
    public const int Width = 1000, Height = 700;
    /// <summary>Above this many series a plot drops its legend (it would hide the data) and colours by model size.</summary>
    public const int MaxLegendEntries = 14;

    /// <summary>Writes every plot into <paramref name="outDir"/> (per-run plots under runs/); returns the files written.</summary>
    public static IReadOnlyList<string> Write(string outDir, MeasureReport report, double hops, int maxRunPlots, List<string> warnings)
    {
        var o = report.Options;
        string tag = $"{o.Scheme.Name()}_{o.Selection.Name()}_hops{HopsText(hops)}";
        string schemeText = $"scheme {o.Scheme.Name()}, selection {o.Selection.Name()}";
        var runs = report.Runs.OrderBy(r => r.Info.Name, StringComparer.Ordinal).ToList();
        if (runs.Count > maxRunPlots)
            warnings.Add($"Plotted the generalisation gap of {maxRunPlots} of {runs.Count} runs (raise --run-plots for more).");
        var runDir = Path.Combine(outDir, "runs");
        var selected = runs.Take(Math.Max(0, maxRunPlots)).ToList();
        if (selected.Count > 0) Directory.CreateDirectory(runDir);

        // Every plot is independent: build and render them in parallel, keep the file order stable.
        var jobs = new List<(Func<Plot> Build, string Path)>
        {
            (() => CapacityVsParams(report.Final, hops, schemeText), Path.Combine(outDir, $"capacity_vs_params_{tag}")),
            (() => BitsPerParamVsParams(report.Final, hops, schemeText), Path.Combine(outDir, $"bits_per_param_vs_params_{tag}")),
            (() => CapacityVsN(report.Final, hops, schemeText), Path.Combine(outDir, $"capacity_vs_N_{tag}")),
            (() => CapacityVsStep(report.AllSteps, hops, schemeText), Path.Combine(outDir, $"capacity_vs_step_{tag}")),
            (() => CapacityVsNorm(report.AllSteps, hops, schemeText), Path.Combine(outDir, $"capacity_vs_norm_{tag}")),
            (() => NormalisedCapacity(report.Final, hops, schemeText), Path.Combine(outDir, $"capacity_fraction_of_entropy_{tag}")),
            // not per hop level: the same file whichever --hops
            (() => OneHopVsTwoHop(report.Final, schemeText), Path.Combine(outDir, $"capacity_1hop_vs_2hop_{o.Scheme.Name()}_{o.Selection.Name()}")),
            (() => LossDerivatives(report.Convergence, o.Convergence), Path.Combine(outDir, "loss_derivatives")),
        };
        var noProgress = new List<string>();
        foreach (var run in selected)
        {
            jobs.Add((() => GeneralisationGap(run), Path.Combine(runDir, $"{SafeName(run.Info.Name)}_generalisation_gap")));
            // the loss curve needs the run's progress files (ActorLab runs write them; the reference's do not)
            var train = Training.ProgressSampler.TrainLoss(run.Info.Dir);
            if (train.Count > 0) jobs.Add((() => LossCurve(run, train), Path.Combine(runDir, $"{SafeName(run.Info.Name)}_loss_curve")));
            else noProgress.Add(run.Info.Name);
        }
        if (noProgress.Count > 0)
            warnings.Add($"{noProgress.Count} of the {selected.Count} plotted run(s) have no progress.csv rows (e.g. {noProgress[0]}): no loss curve for them");
        var written = new List<string>[jobs.Count];
        Parallel.For(0, jobs.Count, i => written[i] = Save(jobs[i].Build(), jobs[i].Path).ToList());
        var files = new List<string>();
        foreach (var f in written) files.AddRange(f);
        return files;
    }

    /// <summary>Ten distinct colours, or twenty where a plot has more series: a legend never shows one colour twice.</summary>
    static IPalette Palette(int series) => series <= 10 ? new ScottPlot.Palettes.Category10() : new ScottPlot.Palettes.Category20();

    static string HopsText(double h) => h.ToString("0.#", CultureInfo.InvariantCulture);

    static string SafeName(string name) =>
        new(name.Select(c => char.IsLetterOrDigit(c) || c is '_' or '-' or '.' ? c : '_').ToArray());

    /// <summary>PNG and SVG of one plot, written atomically.</summary>
    public static IEnumerable<string> Save(Plot plot, string pathWithoutExtension)
    {
        var png = pathWithoutExtension + ".png";
        var svg = pathWithoutExtension + ".svg";
        AtomicFile.WriteAllBytes(png, plot.GetImageBytes(Width, Height, ImageFormat.Png));
        AtomicFile.WriteAllText(svg, plot.GetSvgXml(Width, Height));
        return [png, svg];
    }

    /// <summary>Ticks on a log10-transformed axis, labelled in real units.</summary>
    static void LogAxis(IAxis axis)
    {
        // round values (1, 2, 5 x 10^k), minor ticks at the other integers of each decade
        axis.TickGenerator = new RoundLogTicks(FormatReal);
    }

    static string FormatReal(double v) => v switch
    {
        >= 1e9 => (v / 1e9).ToString("G3", CultureInfo.InvariantCulture) + "G",
        >= 1e6 => (v / 1e6).ToString("G3", CultureInfo.InvariantCulture) + "M",
        >= 1e3 => (v / 1e3).ToString("G3", CultureInfo.InvariantCulture) + "k",
        _ => v.ToString("G3", CultureInfo.InvariantCulture),
    };

    static Plot NewPlot(string title, string xLabel, string yLabel)
    {
        var plt = new Plot();
        plt.Title(title);
        // the title is centred over the data (the legend sits to its right): a run's long name gets a smaller font
        if (title.Length > 50) plt.Axes.Title.Label.FontSize = Math.Max(10, 14 * 50f / title.Length + 2);
        plt.XLabel(xLabel);
        plt.YLabel(yLabel);
        return plt;
    }

    static void Empty(Plot plt, string why)
    {
        var t = plt.Add.Text(why, 0, 0);
        t.LabelFontSize = 16;
        plt.Axes.SetLimits(-1, 1, -1, 1);
    }

    // the trained hops are in every label (a 1-hop-only and a 1+2-hop line must never look alike)
    static string SeriesLabel(RunInfo run, bool byLayers, string lead) =>
        lead + (byLayers ? $", L={run.Layers}" : "") + ", " + TrainedHops(run);

    static string TrainedHops(RunInfo run) =>
        run.MinOrder == run.MaxOrder ? $"trained hops {run.MinOrder}" : $"trained hops {run.MinOrder}-{run.MaxOrder}";

    public static Plot CapacityVsParams(IReadOnlyList<CapacityRow> final, double hops, string schemeText)
    {
        var plt = NewPlot($"{HopsText(hops)}-hop capacity vs parameters ({schemeText})", "parameters (log scale)", "capacity (bits, log scale)");
        var rows = final.Where(r => r.Hops == hops).ToList();
        var positive = rows.Where(r => r.Capacity > 0).ToList();
        if (positive.Count == 0) { Empty(plt, $"no final {HopsText(hops)}-hop rows with positive capacity"); return plt; }
        bool byLayers = rows.Select(r => r.Run.Layers).Distinct().Count() > 1;
        bool byOrders = rows.Select(r => r.Run.MaxOrder).Distinct().Count() > 1;
        var groups = positive.GroupBy(r => (r.Run.NProfiles, byLayers ? r.Run.Layers : 0, byOrders ? r.Run.MaxOrder : 0)).OrderBy(g => g.Key).ToList();
        var palette = Palette(groups.Count);
        for (int i = 0; i < groups.Count; i++)
        {
            var g = groups[i].OrderBy(r => r.Run.NParams).ToList();
            var color = palette.GetColor(i);
            var line = plt.Add.Scatter(g.Select(r => Math.Log10(r.Run.NParams)).ToArray(), g.Select(r => Math.Log10(r.Capacity)).ToArray(), color);
            line.LegendText = groups.Count <= MaxLegendEntries ? SeriesLabel(g[0].Run, byLayers, $"N={g[0].Run.NProfiles}") : "";
            line.MarkerSize = 7;
            var entropy = g[0].DatasetEntropy;
            if (entropy > 0)
            {
                var h = plt.Add.HorizontalLine(Math.Log10(entropy), 1, color.WithAlpha(0.45));
                h.LegendText = groups.Count <= MaxLegendEntries ? $"dataset entropy N={g[0].Run.NProfiles}" : "";
            }
        }
        // bits per parameter have their own plot (BitsPerParamVsParams): guide lines here would squash the data
        int dropped = rows.Count - positive.Count;
        if (dropped > 0) plt.Title($"{HopsText(hops)}-hop capacity vs parameters ({schemeText}; {dropped} non-positive not shown)");
        LogAxis(plt.Axes.Bottom);
        LogAxis(plt.Axes.Left);
        plt.ShowLegend(Edge.Right);
        return plt;
    }

    /// <summary>Capacity per parameter against parameters, one line per N (and layers, hops), with the 1 and 2 bits/parameter levels.</summary>
    public static Plot BitsPerParamVsParams(IReadOnlyList<CapacityRow> final, double hops, string schemeText)
    {
        var plt = NewPlot($"{HopsText(hops)}-hop bits per parameter vs parameters ({schemeText})", "parameters (log scale)", "capacity per parameter (bits)");
        var rows = final.Where(r => r.Hops == hops && r.Run.NParams > 0).ToList();
        if (rows.Count == 0) { Empty(plt, $"no final {HopsText(hops)}-hop rows"); return plt; }
        LinesOverLogX(plt, rows, r => r.NProfiles, r => r.NParams, r => r.BitsPerParam, r => $"N={r.NProfiles}");
        foreach (var (bits, color) in new[] { (1.0, Colors.Gray), (2.0, Colors.Black) })
        {
            var level = plt.Add.HorizontalLine(bits, 1, color);
            level.LegendText = $"{bits:0} bit{(bits > 1 ? "s" : "")}/parameter";
        }
        LogAxis(plt.Axes.Bottom);
        plt.ShowLegend(Edge.Right);
        return plt;
    }

    /// <summary>
    /// One line per series (<paramref name="series"/>, and layers and trained hops where those vary) over log10 of
    /// <paramref name="x"/>, each its own colour, labelled while the legend stays readable.
    /// </summary>
    static void LinesOverLogX(Plot plt, IReadOnlyList<CapacityRow> rows, Func<RunInfo, long> series, Func<RunInfo, double> x,
        Func<CapacityRow, double> y, Func<RunInfo, string> lead)
    {
        bool byLayers = rows.Select(r => r.Run.Layers).Distinct().Count() > 1;
        bool byOrders = rows.Select(r => r.Run.MaxOrder).Distinct().Count() > 1;
        var groups = rows.GroupBy(r => (series(r.Run), byLayers ? r.Run.Layers : 0, byOrders ? r.Run.MaxOrder : 0)).OrderBy(g => g.Key).ToList();
        var palette = Palette(groups.Count);
        for (int i = 0; i < groups.Count; i++)
        {
            var g = groups[i].OrderBy(r => x(r.Run)).ToList();
            var line = plt.Add.Scatter(g.Select(r => Math.Log10(x(r.Run))).ToArray(), g.Select(y).ToArray(), palette.GetColor(i));
            line.LegendText = groups.Count <= MaxLegendEntries ? SeriesLabel(g[0].Run, byLayers, lead(g[0].Run)) : "";
            line.MarkerSize = 7;
        }
    }

    public static Plot CapacityVsN(IReadOnlyList<CapacityRow> final, double hops, string schemeText)
    {
        var plt = NewPlot($"{HopsText(hops)}-hop capacity vs N ({schemeText})", "profiles N (log scale)", "capacity (bits)");
        var rows = final.Where(r => r.Hops == hops).ToList();
        if (rows.Count == 0) { Empty(plt, $"no final {HopsText(hops)}-hop rows"); return plt; }
        LinesOverLogX(plt, rows, r => r.NParams, r => r.NProfiles, r => r.Capacity, r => $"{FormatReal(r.NParams)} params");
        var entropy = rows.GroupBy(r => r.Run.NProfiles).OrderBy(g => g.Key).Select(g => (N: g.Key, H: g.Average(r => r.DatasetEntropy))).ToList();
        var e = plt.Add.Scatter(entropy.Select(p => Math.Log10(p.N)).ToArray(), entropy.Select(p => p.H).ToArray(), Colors.Red);
        e.LineWidth = 2;
        e.MarkerShape = MarkerShape.OpenSquare;
        e.LegendText = "dataset entropy";
        LogAxis(plt.Axes.Bottom);
        plt.ShowLegend(Edge.Right);
        return plt;
    }

    public static Plot CapacityVsStep(IReadOnlyList<CapacityRow> all, double hops, string schemeText)
    {
        var plt = NewPlot($"{HopsText(hops)}-hop capacity over training ({schemeText})", "training step (log scale)", "capacity per parameter (bits/parameter)");
        var runs = all.Where(r => r.Hops == hops && r.Step > 0).GroupBy(r => r.Run.Dir).ToList();
        if (runs.Count == 0) { Empty(plt, $"no {HopsText(hops)}-hop rows"); return plt; }
        bool legend = runs.Count <= MaxLegendEntries;
        var palette = Palette(runs.Count);
        var cmap = new ScottPlot.Colormaps.Viridis();
        double lo = Math.Log10(runs.Min(g => (double)g.First().Run.NParams)), hi = Math.Log10(runs.Max(g => (double)g.First().Run.NParams));
        int i = 0;
        foreach (var g in runs.OrderBy(g => g.First().Run.Name, StringComparer.Ordinal))
        {
            var pts = g.OrderBy(r => r.Step).ToList();
            var run = pts[0].Run;
            var color = legend ? palette.GetColor(i++) : cmap.GetColor(hi > lo ? (Math.Log10(run.NParams) - lo) / (hi - lo) : 0.5);
            var line = plt.Add.Scatter(pts.Select(r => Math.Log10(r.Step)).ToArray(), pts.Select(r => r.BitsPerParam).ToArray(), color);
            line.MarkerSize = legend ? 4 : 0;
            line.LegendText = legend ? SeriesLabel(run, byLayers: true, $"N={run.NProfiles}, {FormatReal(run.NParams)} params") : "";
        }
        foreach (var bits in new[] { 1.0, 2.0 })
        {
            var h = plt.Add.HorizontalLine(bits, 1, bits == 1 ? Colors.Gray : Colors.Black);
            h.LegendText = $"{bits:0} bit{(bits > 1 ? "s" : "")}/parameter";
        }
        if (!legend) plt.Title($"{HopsText(hops)}-hop capacity over training ({schemeText}; {runs.Count} runs, colour = log parameters)");
        LogAxis(plt.Axes.Bottom);
        plt.ShowLegend(Edge.Right);
        return plt;
    }

    /// <summary>The reference's cap_vs_norm: capacity at every eval step against the parameter norm, with a least-squares line.</summary>
    public static Plot CapacityVsNorm(IReadOnlyList<CapacityRow> all, double hops, string schemeText)
    {
        var plt = NewPlot($"{HopsText(hops)}-hop capacity vs parameter norm, every eval step ({schemeText})", "parameter L2 norm / sqrt(#params)", "capacity (bits)");
        var rows = all.Where(r => r.Hops == hops && double.IsFinite(r.ParameterNorm)).ToList();
        if (rows.Count == 0) { Empty(plt, $"no {HopsText(hops)}-hop rows with a parameter norm"); return plt; }
        var groups = rows.GroupBy(r => (r.Run.NProfiles, r.Run.MaxOrder)).OrderBy(g => g.Key).ToList();
        var palette = Palette(groups.Count);
        for (int i = 0; i < groups.Count; i++)
        {
            var g = groups[i].ToList();
            var dots = plt.Add.ScatterPoints(g.Select(r => r.ParameterNorm).ToArray(), g.Select(r => r.Capacity).ToArray(), palette.GetColor(i).WithAlpha(0.6));
            dots.MarkerShape = g[0].Run.MaxOrder >= 2 ? MarkerShape.FilledTriangleUp : MarkerShape.FilledCircle;
            dots.LegendText = groups.Count <= MaxLegendEntries ? $"N={g[0].Run.NProfiles}, {TrainedHops(g[0].Run)}" : "";
        }
        // least squares over all points, as the reference's regplot
        double mx = rows.Average(r => r.ParameterNorm), my = rows.Average(r => r.Capacity);
        double sxx = rows.Sum(r => (r.ParameterNorm - mx) * (r.ParameterNorm - mx));
        if (sxx > 0)
        {
            double slope = rows.Sum(r => (r.ParameterNorm - mx) * (r.Capacity - my)) / sxx;
            double x0 = rows.Min(r => r.ParameterNorm), x1 = rows.Max(r => r.ParameterNorm);
            var fit = plt.Add.Line(x0, my + slope * (x0 - mx), x1, my + slope * (x1 - mx));
            fit.Color = Colors.Gray;
            fit.LineWidth = 2;
            fit.LegendText = "least-squares fit";
        }
        plt.ShowLegend(Edge.Right);
        return plt;
    }

    /// <summary>Final capacity as a fraction of the dataset entropy (fraction_of_entropy) against parameters, one line per N.</summary>
    public static Plot NormalisedCapacity(IReadOnlyList<CapacityRow> final, double hops, string schemeText)
    {
        var plt = NewPlot($"{HopsText(hops)}-hop capacity / dataset entropy vs parameters ({schemeText})", "parameters (log scale)", "capacity / dataset entropy");
        var rows = final.Where(r => r.Hops == hops && double.IsFinite(r.FractionOfEntropy) && r.Run.NParams > 0).ToList();
        if (rows.Count == 0) { Empty(plt, $"no final {HopsText(hops)}-hop rows with a dataset entropy"); return plt; }
        LinesOverLogX(plt, rows, r => r.NProfiles, r => r.NParams, r => r.FractionOfEntropy, r => $"N={r.NProfiles}");
        var all = plt.Add.HorizontalLine(1, 1, Colors.Black);
        all.LegendText = "all of the dataset";
        LogAxis(plt.Axes.Bottom);
        plt.ShowLegend(Edge.Right);
        return plt;
    }

    /// <summary>
    /// The reference's normalized_capacity_plot: per run, final 1-hop against final 2-hop capacity per parameter,
    /// marker by trained hops, colour by log parameters, with the line y = 2 - x (2 bits/parameter shared).
    /// </summary>
    public static Plot OneHopVsTwoHop(IReadOnlyList<CapacityRow> final, string schemeText)
    {
        var plt = NewPlot($"1-hop vs 2-hop capacity per parameter, final ({schemeText})", "1-hop capacity / parameters (bits)", "2-hop capacity / parameters (bits)");
        var pairs = final.Where(r => r.Hops is 1 or 2).GroupBy(r => r.Run.Dir)
            .Select(g => (Run: g.First().Run, One: g.FirstOrDefault(r => r.Hops == 1), Two: g.FirstOrDefault(r => r.Hops == 2)))
            .Where(p => p.One != null && p.Two != null && p.Run.NParams > 0).ToList();
        if (pairs.Count == 0) { Empty(plt, "no run has final 1-hop and 2-hop rows"); return plt; }
        var cmap = new ScottPlot.Colormaps.Viridis();
        double lo = pairs.Min(p => Math.Log10(p.Run.NParams)), hi = pairs.Max(p => Math.Log10(p.Run.NParams));
        // 20 colours over log parameters, as the reference: one plottable per (trained hops, colour), not per run
        int Bin(long nParams) => hi > lo ? (int)Math.Round((Math.Log10(nParams) - lo) / (hi - lo) * 19) : 0;
        foreach (var byOrder in pairs.GroupBy(p => p.Run.MaxOrder).OrderBy(g => g.Key))
        {
            bool first = true;
            foreach (var bin in byOrder.GroupBy(p => Bin(p.Run.NParams)).OrderBy(g => g.Key))
            {
                var dots = plt.Add.ScatterPoints(bin.Select(p => p.One!.BitsPerParam).ToArray(), bin.Select(p => p.Two!.BitsPerParam).ToArray(),
                    cmap.GetColor(bin.Key / 19.0));
                dots.MarkerShape = byOrder.Key >= 2 ? MarkerShape.FilledTriangleUp : MarkerShape.FilledCircle;
                dots.MarkerSize = 9;
                dots.LegendText = first ? $"{TrainedHops(byOrder.First().Run)} (colour = log parameters)" : "";
                first = false;
            }
        }
        var guide = plt.Add.Line(0, 2, 2, 0);
        guide.Color = Colors.Gray;
        guide.LegendText = "y = 2 - x";
        plt.ShowLegend(Edge.Right);
        return plt;
    }

    public static Plot LossDerivatives(IReadOnlyList<RunConvergence> convergence, ConvergenceConfig config)
    {
        var plt = NewPlot("Smoothed loss derivative (convergence rule)", "training step", "d loss / d step (nats per step, rolling mean)");
        var series = convergence
            .SelectMany(c => c.Result.Derivatives.Where(kv => kv.Value.Count > 0).Select(kv => (c.Run, Mode: kv.Key, Points: kv.Value)))
            .ToList();
        if (series.Count == 0) { Empty(plt, $"no run has {config.Window} eval points after step {config.MinStep:0}"); return plt; }
        bool legend = series.Count <= MaxLegendEntries;
        var palette = Palette(series.Count);
        if (legend)
            for (int i = 0; i < series.Count; i++)
            {
                var (run, mode, pts) = series[i];
                var line = plt.Add.Scatter(pts.Select(p => (double)p.Step).ToArray(), pts.Select(p => p.Rolling).ToArray(), palette.GetColor(i));
                line.MarkerSize = 4;
                line.MarkerShape = mode == EvalMode.TrainOnehop ? MarkerShape.FilledCircle : MarkerShape.OpenTriangleUp;
                line.LegendText = $"{run.Name} {mode.Name()}";
            }
        else
            // Many runs: per mode the median and the 10th-90th percentile band over runs at each step (thousands of
            // separate curves cost seconds to render and cannot be told apart anyway).
            foreach (var mode in new[] { EvalMode.TrainOnehop, EvalMode.TrainTwohop })
            {
                var byStep = series.Where(x => x.Mode == mode).SelectMany(x => x.Points)
                    .GroupBy(p => p.Step).OrderBy(g => g.Key)
                    .Select(g => (Step: (double)g.Key, Values: g.Select(p => p.Rolling).Order().ToArray())).ToList();
                if (byStep.Count == 0) continue;
                var color = palette.GetColor((int)mode);
                int runs = series.Count(x => x.Mode == mode);
                foreach (var (q, width, label) in new[] { (0.5, 2.5f, $"{mode.Name()} median of {runs} runs"), (0.1, 1f, $"{mode.Name()} 10th / 90th percentile"), (0.9, 1f, "") })
                {
                    var line = plt.Add.Scatter(byStep.Select(x => x.Step).ToArray(), byStep.Select(x => Quantile(x.Values, q)).ToArray(), color);
                    line.LineWidth = width;
                    line.MarkerSize = q == 0.5 ? 4 : 0;
                    line.MarkerShape = mode == EvalMode.TrainOnehop ? MarkerShape.FilledCircle : MarkerShape.OpenTriangleUp;
                    line.LegendText = label;
                }
            }
        foreach (var t in new[] { config.Threshold, -config.Threshold })
        {
            var h = plt.Add.HorizontalLine(t, 1, Colors.Red);
            h.LegendText = t > 0 ? $"threshold ±{config.Threshold:G}" : "";
        }
        if (!legend) plt.Title($"Smoothed loss derivative ({series.Count} curves)");
        plt.ShowLegend(Edge.Right);
        return plt;
    }

    /// <summary>Linear-interpolated quantile of sorted values.</summary>
    static double Quantile(double[] sorted, double q)
    {
        double pos = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos), hi = Math.Min(sorted.Length - 1, lo + 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }

    /// <summary>
    /// A run's training curve: train loss per step (nats per answer token, left axis) and each eval mode's loss at
    /// its eval steps (nats per question, right axis), log steps.
    /// </summary>
    public static Plot LossCurve(RunResults run, IReadOnlyList<(long Step, double Loss)> train)
    {
        var plt = NewPlot($"Loss curve: {run.Info.Name}", "training step (log scale)", "train loss (nats per answer token)");
        var pts = train.Where(p => p.Step > 0).ToList();
        var line = plt.Add.Scatter(pts.Select(p => Math.Log10(p.Step)).ToArray(), pts.Select(p => p.Loss).ToArray(), Colors.Black);
        line.LegendText = "train loss (left, nats per token)";
        line.MarkerSize = 0;
        line.LineWidth = 1.5f;
        var source = run.OverallRows.Count > 0 ? run.OverallRows : run.Rows;
        var palette = new ScottPlot.Palettes.Category10();
        foreach (var g in source.Where(r => r.Step > 0).GroupBy(r => r.Mode).OrderBy(g => g.Key))
        {
            var e = g.GroupBy(r => r.Step).OrderBy(sg => sg.Key).Select(sg => (Step: sg.Key, Loss: sg.Average(r => r.Loss))).ToList();
            var s = plt.Add.Scatter(e.Select(p => Math.Log10(p.Step)).ToArray(), e.Select(p => p.Loss).ToArray(), palette.GetColor((int)g.Key));
            s.Axes.YAxis = plt.Axes.Right;
            s.LegendText = $"{g.Key.Name()} (right, nats per question)";
            s.MarkerSize = 5;
            s.LineWidth = 1;
        }
        plt.Axes.Right.Label.Text = "eval loss (nats per question)";
        LogAxis(plt.Axes.Bottom);
        plt.ShowLegend(Edge.Right);
        return plt;
    }

    public static Plot GeneralisationGap(RunResults run)
    {
        var info = run.Info;
        var plt = NewPlot($"Loss per eval mode: {info.Name}", "training step (log scale)", "loss per question (nats)");
        var source = run.OverallRows.Count > 0 ? run.OverallRows : run.Rows;
        var modes = source.Where(r => r.Step > 0).GroupBy(r => r.Mode).OrderBy(g => g.Key).ToList();
        if (modes.Count == 0) { Empty(plt, "no eval rows after step 0"); return plt; }
        var palette = new ScottPlot.Palettes.Category10();
        foreach (var g in modes)
        {
            var pts = g.GroupBy(r => r.Step).OrderBy(sg => sg.Key).Select(sg => (Step: sg.Key, Loss: sg.Average(r => r.Loss))).ToList();
            var line = plt.Add.Scatter(pts.Select(p => Math.Log10(p.Step)).ToArray(), pts.Select(p => p.Loss).ToArray(), palette.GetColor((int)g.Key));
            line.LegendText = g.Key.Name();
            line.MarkerSize = 4;
            // Training modes thick; held-out eval modes thin with open markers.
            if (!g.Key.IsTwoHop() || g.Key == EvalMode.TrainTwohop) line.LineWidth = 2.5f;
            else { line.LineWidth = 1; line.MarkerShape = MarkerShape.OpenCircle; }
        }
        LogAxis(plt.Axes.Bottom);
        plt.ShowLegend(Edge.Right);
        return plt;
    }
}

/// <summary>
/// Ticks of a log10 axis at round values, 1, 2 and 5 x 10^k, labelled in real units (20k, 5M); where fewer than
/// three of those fall in the range (narrower than a decade), every integer multiple of the power of ten instead.
/// </summary>
sealed class RoundLogTicks(Func<double, string> format) : ScottPlot.ITickGenerator
{
    public ScottPlot.Tick[] Ticks { get; set; } = [];
    public int MaxTickCount { get; set; } = 50;

    public void Regenerate(ScottPlot.CoordinateRange range, ScottPlot.Edge edge, ScottPlot.PixelLength size, ScottPlot.Paint paint, ScottPlot.LabelStyle labelStyle)
    {
        double lo = Math.Min(range.Min, range.Max), hi = Math.Max(range.Min, range.Max);
        var ticks = Round(lo, hi, [1, 2, 5]);
        if (ticks.Count(t => t.IsMajor) < 3) ticks = Round(lo, hi, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        Ticks = ticks.ToArray();
    }

    List<ScottPlot.Tick> Round(double lo, double hi, int[] mantissas)
    {
        var ticks = new List<ScottPlot.Tick>();
        if (!double.IsFinite(lo) || !double.IsFinite(hi) || hi - lo > 40) return ticks;
        for (var k = (int)Math.Floor(lo) - 1; k <= (int)Math.Ceiling(hi); k++)
            for (var m = 1; m <= 9; m++)
            {
                var at = k + Math.Log10(m);
                if (at < lo || at > hi) continue;
                var major = mantissas.Contains(m);
                ticks.Add(major ? ScottPlot.Tick.Major(at, format(m * Math.Pow(10, k))) : ScottPlot.Tick.Minor(at));
            }
        return ticks;
    }
}
