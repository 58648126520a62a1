using System.Globalization;
using ActorLab.Model.Capacity;
using Spectre.Console;

namespace ActorLab.Host.Cli;

/// <summary>
/// The table `measure` and `sweep run` end with: one row per run and hop level of a capacity_final CSV, read back
/// from the file itself, so its numbers are the CSV's.
/// </summary>
public static class CapacitySummary
{
    /// <summary>
    /// Each run's capacity (bits) and bits per parameter from a capacity_final CSV, by run name (the dashboard's
    /// columns): the row at the hop level the run trained up to (hops 2 for a 1+2-hop run, 1 for a 1-hop run), else
    /// its first row; empty when the file is not a final table of this version.
    /// </summary>
    public static IReadOnlyDictionary<string, (double Capacity, double BitsPerParam)> ByRun(string capacityFinalCsv)
    {
        var lines = File.ReadAllLines(capacityFinalCsv);
        var byRun = new Dictionary<string, (double, double)>(StringComparer.Ordinal);
        if (lines.Length < 2) return byRun;
        var header = ResultsReader.SplitCsv(lines[0]);
        int Col(string name) => Array.IndexOf(header, name);
        int run = Col("run"), total = Col("total_capacity"), bpp = Col("bits_per_param"), hops = Col("hops"), trained = Col("max_train_hops");
        if (run < 0 || total < 0 || bpp < 0) return byRun;
        foreach (var f in lines.Skip(1).Where(l => l.Length > 0).Select(ResultsReader.SplitCsv))
        {
            if (f.Length <= new[] { run, total, bpp, hops, trained }.Max()) continue;
            var name = Path.GetFileName(f[run].TrimEnd('/'));
            bool trainedLevel = hops >= 0 && trained >= 0 && D(f[hops]) == D(f[trained]);
            if (trainedLevel) byRun[name] = (D(f[total]), D(f[bpp]));
            else byRun.TryAdd(name, (D(f[total]), D(f[bpp])));
        }
        return byRun;
    }

    public static void Print(string capacityFinalCsv)
    {
        var lines = File.ReadAllLines(capacityFinalCsv);
        if (lines.Length < 2) return;
        var header = ResultsReader.SplitCsv(lines[0]);
        int Col(string name) => Array.IndexOf(header, name);
        int run = Col("run"), hops = Col("hops"), n = Col("N_profiles"), p = Col("n_params"), cap = Col("capacity"),
            bpp = Col("bits_per_param"), frac = Col("fraction_of_entropy"), conv = Col("converged"), why = Col("convergence");
        if (new[] { run, hops, n, p, cap, bpp, frac, conv }.Any(i => i < 0)) return; // not a final table of this version
        var rows = lines.Skip(1).Where(l => l.Length > 0).Select(ResultsReader.SplitCsv)
            .OrderBy(f => D(f[hops])).ThenBy(f => D(f[n])).ThenBy(f => D(f[p])).ToList();
        ConsoleCommands.WideTables();
        var t = new Table().Title(Markup.Escape(Path.GetFileName(capacityFinalCsv)))
            .AddColumns("run", "hops", "N", "parameters", "capacity (bits)", "bits / parameter", "of dataset entropy", "converged");
        foreach (var i in new[] { 1, 2, 3, 4, 5, 6 }) t.Columns[i].RightAligned();
        foreach (var f in rows)
            t.AddRow(Markup.Escape(f[run]), f[hops], f[n], f[p], Fixed(f[cap], "F0"), Fixed(f[bpp], "F3"), Percent(f[frac]),
                Markup.Escape(f[conv] == "true" ? "yes" : "no" + (why >= 0 && why < f.Length ? ": " + f[why] : "")));
        AnsiConsole.Write(t);
        var unconverged = rows.Count(f => f[conv] != "true");
        if (unconverged > 0)
            Console.WriteLine($"{unconverged} of {rows.Count} row(s) not converged (the convergence column says why, by the rule's min-step and threshold): " +
                              "their capacity is what the run stored so far, a lower bound.");
    }

    static double D(string s) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN;
    static string Fixed(string s, string format) => double.IsNaN(D(s)) ? s : D(s).ToString(format, CultureInfo.InvariantCulture);
    static string Percent(string s) => double.IsNaN(D(s)) ? s : (100 * D(s)).ToString("F1", CultureInfo.InvariantCulture) + " %";
}
