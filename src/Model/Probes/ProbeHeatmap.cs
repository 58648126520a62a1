using ActorLab.Model.Common;
using ScottPlot;

namespace ActorLab.Model.Probes;

/// <summary>
/// Heatmap of probe results for one target: layers on the y axis (0 = embeddings at the bottom), position
/// kinds on the x axis, colour = probe loss relative to the empirical baseline (0 = answer fully decodable,
/// 1 = no better than label frequencies), with the value printed in each cell. Missing cells stay blank.
/// </summary>
public static class ProbeHeatmap
{
    public static byte[] RenderPng(IReadOnlyList<ProbeResult> rows, string target, string title, int width = 800, int height = 600)
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
        hm.Colormap = new ScottPlot.Colormaps.Viridis();
        hm.Extent = new CoordinateRect(0, positions.Count, minLayer, minLayer + nRows);
        var finite = sel.Select(r => r.RelativeLoss).Where(double.IsFinite).ToList();
        var hi = Math.Max(1.0, finite.Count > 0 ? finite.Max() : 1.0);
        hm.ManualRange = new ScottPlot.Range(0, hi);
        var bar = plt.Add.ColorBar(hm);
        bar.Label = "probe loss / baseline loss";

        foreach (var r in sel)
        {
            var text = plt.Add.Text(double.IsFinite(r.RelativeLoss) ? r.RelativeLoss.ToString("0.00") : "n/a",
                positions.IndexOf(r.Position), r.Layer);
            text.LabelAlignment = Alignment.MiddleCenter;
            text.LabelFontColor = r.RelativeLoss < 0.5 * hi ? Colors.White : Colors.Black;
            text.LabelFontSize = 14;
        }

        plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, positions.Count).Select(i => (double)i).ToArray(), positions.ToArray());
        plt.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            layers.Select(l => (double)l).ToArray(), layers.Select(l => l == 0 ? "0 (emb)" : l.ToString()).ToArray());
        plt.Axes.SetLimits(-0.5, positions.Count - 0.5, minLayer - 0.5, minLayer + nRows - 0.5);
        plt.Title(title);
        plt.XLabel("position");
        plt.YLabel("layer (residual stream after block)");
        return plt.GetImageBytes(width, height, ImageFormat.Png);
    }

    public static void Write(string path, IReadOnlyList<ProbeResult> rows, string target, string title) =>
        AtomicFile.WriteAllBytes(path, RenderPng(rows, target, title));

    /// <summary>Known kinds in question order (name, relation, attribute, last, all), anything else after, alphabetically.</summary>
    static List<string> OrderPositions(IEnumerable<string> kinds)
    {
        var known = ProbePositions.Known;
        var set = kinds.ToHashSet();
        return known.Where(set.Contains).Concat(set.Except(known).Order()).ToList();
    }
}
