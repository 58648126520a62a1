using System.Globalization;
using System.Text;
using ActorLab.Model.Common;

namespace ActorLab.Model.Probes;

/// <summary>
/// One probe's outcome: where it read (layer 0 = embeddings, l = after block l; position kind), what it read
/// (target: "answer" or "first-hop"), on how many samples, the chosen penalty, and its eval cross-entropy
/// (nats, first answer token) beside the empirical baseline and the model's own loss on that token.
/// </summary>
public sealed record ProbeResult(
    int Layer, string Position, string Target, int Hops, int NTrain, int NEval, double Penalty,
    double ProbeLoss, double ProbeAccuracy, double BaselineLoss, double ModelLoss)
{
    /// <summary>Probe loss over baseline loss: 1 = the hidden state tells nothing beyond label frequencies, 0 = perfect.</summary>
    public double RelativeLoss => ProbeLoss / BaselineLoss;
}

/// <summary>Reads and writes probe results CSV (one row per (layer, position, target)).</summary>
public static class ProbeResults
{
    public static readonly string[] Columns =
        ["layer", "position", "target", "hops", "n_train", "n_eval", "penalty", "probe_loss", "probe_accuracy",
         "baseline_loss", "model_loss", "relative_loss"];

    public static string ToCsv(IEnumerable<ProbeResult> rows)
    {
        var sb = new StringBuilder();
        sb.AppendLine(string.Join(',', Columns));
        foreach (var r in rows)
        {
            if (r.Position.Contains(',') || r.Target.Contains(','))
                throw new ArgumentException($"position '{r.Position}' / target '{r.Target}' must not contain commas");
            sb.AppendLine(string.Join(',',
                I(r.Layer), r.Position, r.Target, I(r.Hops), I(r.NTrain), I(r.NEval), D(r.Penalty), D(r.ProbeLoss),
                D(r.ProbeAccuracy), D(r.BaselineLoss), D(r.ModelLoss), D(r.RelativeLoss)));
        }
        return sb.ToString();
    }

    public static void Write(string path, IEnumerable<ProbeResult> rows) => AtomicFile.WriteAllText(path, ToCsv(rows));

    public static IReadOnlyList<ProbeResult> Read(string path)
    {
        if (!File.Exists(path)) throw new UserInputException($"Probe results file '{path}' does not exist.");
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToArray();
        if (lines.Length == 0 || lines[0] != string.Join(',', Columns))
            throw new UserInputException($"'{path}' is not a probe results CSV (expected header '{string.Join(',', Columns)}').");
        var rows = new List<ProbeResult>();
        for (int i = 1; i < lines.Length; i++)
        {
            var f = lines[i].Split(',');
            if (f.Length != Columns.Length)
                throw new UserInputException($"'{path}' line {i + 1}: expected {Columns.Length} fields, found {f.Length}.");
            try
            {
                rows.Add(new ProbeResult(int.Parse(f[0], CultureInfo.InvariantCulture), f[1], f[2],
                    int.Parse(f[3], CultureInfo.InvariantCulture), int.Parse(f[4], CultureInfo.InvariantCulture),
                    int.Parse(f[5], CultureInfo.InvariantCulture), P(f[6]), P(f[7]), P(f[8]), P(f[9]), P(f[10])));
            }
            catch (FormatException e)
            {
                throw new UserInputException($"'{path}' line {i + 1}: {e.Message}", e);
            }
        }
        return rows;
    }

    static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
    // NaN (e.g. no model loss) is written as an empty field, which pandas reads back as NaN.
    static string D(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);
    static double P(string s) => s.Length == 0 ? double.NaN : double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);
}
