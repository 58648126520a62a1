using ActorLab.Model.Common;
using ScottPlot;

namespace ActorLab.Model.Probes;

/// <summary>
/// Heatmap of probe results for one target: layers on the y axis (0 = embeddings at the bottom), position
/// kinds on the x axis, colour = probe loss relative to the empirical baseline (0 = answer fully decodable,
/// 1 = no better than label frequencies), with the value printed in each cell. Missing cells stay blank. The map
/// diverges around the baseline ratio 1 (white: the probe learned nothing; blue: decodable; red: worse than the
/// baseline), on one scale for every target of a report, so their heatmaps compare at a glance.
/// </summary>
public static class ProbeHeatmap
{
    /// <summary>How far from 1 the colour scale reaches (at least 1, so 0 = decodable is its end): shared by every target of <paramref name="rows"/>.</summary>
    public static double Spread(IEnumerable<ProbeResult> rows) =>
        Math.Max(1.0, rows.Select(r => r.RelativeLoss).Where(double.IsFinite).Select(v => Math.Abs(v - 1)).DefaultIfEmpty(0).Max());

    public static byte[] RenderPng(IReadOnlyList<ProbeResult> rows, string target, string title, int width = 800, int height = 600, double? spread = null)
    {
        var sel = rows.Where(r => r.Target == target).ToList();
        if (sel.Count == 0) throw new ArgumentException($"no probe results for target '{target}'");
        var positions = OrderPositions(sel.Select(r => r.Position).Distinct());
        var layers = sel.Select(r => r.Layer).Distinct().Order().ToList();
        int nRows = layers.Max() - layers.Min() + 1, minLayer = layers.Min();

        // ScottPlot draws row 0 of the intensity array at the top, so the highest layer goes first. Its Extent
        // names the centres of the corner cells, which needs at least 2 cells per axis: pad one blank row on
        // top and one blank column on the right, outside the axis limits.
        var data = new double[nRows + 1, positions.Count + 1];
        for (int i = 0; i <= nRows; i++)
            for (int j = 0; j <= positions.Count; j++)
                data[i, j] = double.NaN;
        foreach (var r in sel)
            data[nRows - (r.Layer - minLayer), positions.IndexOf(r.Position)] = r.RelativeLoss;

        var plt = new Plot();
        var hm = plt.Add.Heatmap(data);
        // cmocean's Balance: blue (low: decodable) through white (1: the baseline) to red (worse than the baseline)
        hm.Colormap = new ScottPlot.Colormaps.Balance();
        hm.Extent = new CoordinateRect(0, positions.Count, minLayer, minLayer + nRows);
        var d = spread ?? Spread(rows);
        hm.ManualRange = new ScottPlot.Range(1 - d, 1 + d);
        var bar = plt.Add.ColorBar(hm);
        bar.Label = "probe loss / baseline loss";

        foreach (var r in sel)
        {
            var text = plt.Add.Text(double.IsFinite(r.RelativeLoss) ? r.RelativeLoss.ToString("0.00") : "n/a",
                positions.IndexOf(r.Position), r.Layer);
            text.LabelAlignment = Alignment.MiddleCenter;
            // dark text on the pale middle of the map, white on its deep ends
            text.LabelFontColor = double.IsFinite(r.RelativeLoss) && Math.Abs(r.RelativeLoss - 1) > 0.55 * d ? Colors.White : Colors.Black;
            text.LabelFontSize = 14;
        }

        plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, positions.Count).Select(i => (double)i).ToArray(), positions.ToArray());
        plt.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            layers.Select(l => (double)l).ToArray(), layers.Select(l => l == 0 ? "0 (emb)" : l.ToString()).ToArray());
        plt.Axes.SetLimits(-0.5, positions.Count - 0.5, minLayer - 0.5, minLayer + nRows - 0.5);
        plt.Title(title);
        if (title.Length > 45) plt.Axes.Title.Label.FontSize = (float)Math.Max(9, 14 * 45.0 / title.Length + 2); // a run's long name
        plt.XLabel("position");
        plt.YLabel("layer (residual stream after block)");
        return plt.GetImageBytes(width, height, ImageFormat.Png);
    }

    public static void Write(string path, IReadOnlyList<ProbeResult> rows, string target, string title, double? spread = null) =>
        AtomicFile.WriteAllBytes(path, RenderPng(rows, target, title, spread: spread));

    /// <summary>Known kinds in question order (name, relation, attribute, last, all), anything else after, alphabetically.</summary>
    static List<string> OrderPositions(IEnumerable<string> kinds)
    {
        var known = ProbePositions.Known;
        var set = kinds.ToHashSet();
        return known.Where(set.Contains).Concat(set.Except(known).Order()).ToList();
    }
}
