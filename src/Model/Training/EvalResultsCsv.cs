using System.Globalization;
using System.Text;
using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;

namespace ActorLab.Model.Training;

/// <summary>
/// eval_results.csv (reference columns loss, global_step, mode, parameter_l2) and eval_results_full.csv (the same
/// plus a subject column, one row per mode and subject). Rows are upserted by (global_step, mode[, subject]) so
/// re-evaluating a checkpoint replaces its rows; files are rewritten atomically. Paths come from
/// <see cref="Storage.RunFolder"/> (sweep runs write one pair of files per lease epoch).
/// </summary>
public static class EvalResultsCsv
{
    public const string FileName = "eval_results.csv", FullFileName = "eval_results_full.csv", HistogramFileName = "eval_histograms_full.csv";
    const string Header = "loss,global_step,mode,parameter_l2", FullHeader = "loss,global_step,mode,subject,parameter_l2",
        HistogramHeader = "global_step,mode,subject,loss_from,loss_to,questions";

    static string F(double x) => x.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Upserts the report's rows into an eval_results.csv at <paramref name="path"/>.</summary>
    public static void Append(string path, EvalReport report)
    {
        var rows = report.Modes.Select(m => (Key: $"{report.Step},{m.Mode.Name()}",
            Line: $"{F(m.Loss)},{report.Step},{m.Mode.Name()},{F(report.ParameterL2)}"));
        Upsert(path, Header, rows, keyColumns: [1, 2]);
    }

    /// <summary>Upserts the report's per-subject rows into an eval_results_full.csv at <paramref name="path"/>.</summary>
    public static void AppendSubjectwise(string path, EvalReport report)
    {
        var rows = report.Modes.SelectMany(m => m.Subjects.OrderBy(s => s.Key).Select(s =>
            (Key: $"{report.Step},{m.Mode.Name()},{Subjects.Name(s.Key)}",
             Line: $"{F(s.Value.Loss)},{report.Step},{m.Mode.Name()},{Subjects.Name(s.Key)},{F(report.ParameterL2)}")));
        Upsert(path, FullHeader, rows, keyColumns: [1, 2, 3]);
    }

    /// <summary>
    /// Upserts the report's per-question loss histograms (nats, non-empty bins only; the last bin is open-ended) into
    /// an eval_histograms_full.csv at <paramref name="path"/>, keyed by (global_step, mode, subject).
    /// </summary>
    public static void AppendHistograms(string path, EvalReport report)
    {
        var rows = report.Modes.Where(m => m.Histograms != null).SelectMany(m => m.Histograms!.OrderBy(h => h.Key).SelectMany(h =>
            h.Value.Counts.Select((count, bin) => (count, bin)).Where(x => x.count > 0).Select(x =>
                (Key: $"{report.Step},{m.Mode.Name()},{Subjects.Name(h.Key)}",
                 Line: $"{report.Step},{m.Mode.Name()},{Subjects.Name(h.Key)},{F(x.bin * LossHistogram.Width)}," +
                       $"{(x.bin == LossHistogram.Bins - 1 ? "inf" : F((x.bin + 1) * LossHistogram.Width))},{x.count}"))));
        Upsert(path, HistogramHeader, rows, keyColumns: [0, 1, 2]);
    }

    /// <summary>Steps that have rows in the CSV at <paramref name="path"/> (its global_step column); empty if absent.</summary>
    public static HashSet<long> Steps(string path)
    {
        var steps = new HashSet<long>();
        if (!File.Exists(path)) return steps;
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0) return steps;
        int col = Array.IndexOf(lines[0].Split(','), "global_step");
        if (col < 0) throw new UserInputException($"{path} has header '{lines[0]}' without a global_step column");
        foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
        {
            var cols = line.Split(',');
            if (col < cols.Length && long.TryParse(cols[col], NumberStyles.None, CultureInfo.InvariantCulture, out var step)) steps.Add(step);
        }
        return steps;
    }

    static void Upsert(string path, string header, IEnumerable<(string Key, string Line)> rows, int[] keyColumns)
    {
        var lines = new List<(string Key, string Line)>();
        if (File.Exists(path))
        {
            var existing = File.ReadAllLines(path);
            if (existing.Length > 0 && existing[0] != header)
                throw new UserInputException($"{path} has header '{existing[0]}', expected '{header}'");
            foreach (var line in existing.Skip(1).Where(l => l.Length > 0))
            {
                var cols = line.Split(',');
                lines.Add((string.Join(",", keyColumns.Select(c => c < cols.Length ? cols[c] : "")), line));
            }
        }
        var fresh = rows.ToList();
        var replaced = fresh.Select(r => r.Key).ToHashSet();
        lines.RemoveAll(l => replaced.Contains(l.Key));
        lines.AddRange(fresh);
        var sb = new StringBuilder().Append(header).Append('\n');
        foreach (var (_, line) in lines.OrderBy(l => long.Parse(l.Key.Split(',')[0], CultureInfo.InvariantCulture)))
            sb.Append(line).Append('\n');
        AtomicFile.WriteAllText(path, sb.ToString());
    }
}
