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
    public const string FileName = "eval_results.csv", FullFileName = "eval_results_full.csv";
    const string Header = "loss,global_step,mode,parameter_l2", FullHeader = "loss,global_step,mode,subject,parameter_l2";

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
