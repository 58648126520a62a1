using System.Globalization;
using System.Text;
using ActorLab.Model.Common;
using ActorLab.Model.Profiles;

namespace ActorLab.Model.Capacity;

/// <summary>
/// The CSV outputs of `measure`, with the reference's column names and order:
/// capacity_all_steps_{scheme}_{selection}.csv, capacity_final_{scheme}_{selection}.csv (columns n_params,
/// N_profiles, layers, relations, min_train_hops, max_train_hops, hops, weight_decay, global_step, parameter_norm,
/// capacity, baseline_capacity, dataset_entropy, then {subject}_capacity when subject-wise; the final table then adds
/// total_capacity, bits_per_param and fraction_of_entropy; then run; the final table ends with converged),
/// loss_derivatives.csv and never_converged.csv. Written atomically.
/// </summary>
public static class CapacityTables
{
    public static readonly IReadOnlyList<string> ReferenceColumns =
    [
        "n_params", "N_profiles", "layers", "relations", "min_train_hops", "max_train_hops", "hops", "weight_decay",
        "global_step", "parameter_norm", "capacity", "baseline_capacity", "dataset_entropy",
    ];

    public static string AllStepsFile(CapacityScheme s, SelectionScheme sel) => $"capacity_all_steps_{s.Name()}_{sel.Name()}.csv";
    public static string FinalFile(CapacityScheme s, SelectionScheme sel) => $"capacity_final_{s.Name()}_{sel.Name()}.csv";
    public const string DerivativesFile = "loss_derivatives.csv";
    public const string NeverConvergedFile = "never_converged.csv";

    /// <summary>Writes the four tables into <paramref name="outDir"/>; returns their paths.</summary>
    public static IReadOnlyList<string> Write(string outDir, MeasureReport report)
    {
        var o = report.Options;
        var converged = report.Convergence.ToDictionary(c => c.Run.Dir, c => c.Result);
        var paths = new List<string>
        {
            Path.Combine(outDir, AllStepsFile(o.Scheme, o.Selection)),
            Path.Combine(outDir, FinalFile(o.Scheme, o.Selection)),
            Path.Combine(outDir, DerivativesFile),
            Path.Combine(outDir, NeverConvergedFile),
        };
        Parallel.Invoke(
            () => AtomicFile.WriteAllText(paths[0], CapacityCsv(report.AllSteps, o.Subjectwise, report.MaxRelations, null)),
            () => AtomicFile.WriteAllText(paths[1], CapacityCsv(report.Final, o.Subjectwise, report.MaxRelations, converged)),
            () => AtomicFile.WriteAllText(paths[2], DerivativesCsv(report.Convergence)),
            () => AtomicFile.WriteAllText(paths[3], NeverConvergedCsv(report.Convergence)));
        return paths;
    }

    static string F(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);
    static string F(long v) => v.ToString(CultureInfo.InvariantCulture);
    static string Hops(double h) => h.ToString("0.#", CultureInfo.InvariantCulture);

    /// <summary>The convergence column: when it converged, or why not (the rule's own reason).</summary>
    public static string ConvergenceText(ConvergenceResult? c) => c switch
    {
        null => "not assessed",
        { Converged: true } => $"converged at step {c.FirstConvergedStep}",
        _ => c.Reason ?? "not converged",
    };

    static string Quote(string s) => s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;

    public static string CapacityCsv(IReadOnlyList<CapacityRow> rows, bool subjectwise, int maxRelations, IReadOnlyDictionary<string, ConvergenceResult>? converged)
    {
        var subjects = subjectwise ? Subjects.Names(Math.Max(1, maxRelations)) : [];
        var sb = new StringBuilder(rows.Count * 160);
        sb.AppendJoin(',', ReferenceColumns);
        foreach (var s in subjects) sb.Append(',').Append(s).Append("_capacity");
        if (converged != null) sb.Append(",total_capacity,bits_per_param,fraction_of_entropy");
        sb.Append(",run");
        if (converged != null) sb.Append(",converged,convergence");
        sb.Append('\n');
        // Formatting doubles dominates: format chunks of rows in parallel, then join in order.
        const int chunk = 8192;
        var parts = new string[(rows.Count + chunk - 1) / chunk];
        Parallel.For(0, parts.Length, c =>
        {
            var part = new StringBuilder(chunk * 160);
            for (int i = c * chunk; i < Math.Min(rows.Count, (c + 1) * chunk); i++) AppendRow(part, rows[i], subjects, converged);
            parts[c] = part.ToString();
        });
        foreach (var p in parts) sb.Append(p);
        return sb.ToString();
    }

    static void AppendRow(StringBuilder sb, CapacityRow r, IReadOnlyList<string> subjects, IReadOnlyDictionary<string, ConvergenceResult>? converged)
    {
        {
            var run = r.Run;
            sb.Append(F(run.NParams)).Append(',').Append(F(run.NProfiles)).Append(',').Append(F(run.Layers)).Append(',')
              .Append(F(run.Relations)).Append(',').Append(F(run.MinOrder)).Append(',').Append(F(run.MaxOrder)).Append(',')
              .Append(Hops(r.Hops)).Append(',').Append(F(run.WeightDecay)).Append(',').Append(F(r.Step)).Append(',')
              .Append(F(r.ParameterNorm)).Append(',').Append(F(r.Capacity)).Append(',').Append(F(r.BaselineCapacity)).Append(',')
              .Append(F(r.DatasetEntropy));
            for (int i = 0; i < subjects.Count; i++)
                sb.Append(',').Append(r.SubjectCapacities != null && i < r.SubjectCapacities.Count ? F(r.SubjectCapacities[i]) : "");
            // total_capacity is the reference's name for capacity; the ratios are what the scaling plots read
            if (converged != null)
                sb.Append(',').Append(F(r.Capacity)).Append(',').Append(F(r.BitsPerParam)).Append(',').Append(F(r.FractionOfEntropy));
            sb.Append(',').Append(Quote(run.Name));
            if (converged != null)
            {
                var c = converged.GetValueOrDefault(run.Dir);
                sb.Append(',').Append(c?.Converged == true ? "true" : "false").Append(',').Append(Quote(ConvergenceText(c)));
            }
            sb.Append('\n');
        }
    }

    public static string DerivativesCsv(IReadOnlyList<RunConvergence> convergence)
    {
        var sb = new StringBuilder();
        sb.Append("n_params,N_profiles,layers,relations,max_train_hops,weight_decay,hops,step,smoothed_derivative,smoothed_derivative_rolling,below_threshold,run\n");
        foreach (var c in convergence)
            foreach (var (mode, points) in c.Result.Derivatives.OrderBy(kv => kv.Key))
                foreach (var p in points)
                {
                    var run = c.Run;
                    sb.Append(F(run.NParams)).Append(',').Append(F(run.NProfiles)).Append(',').Append(F(run.Layers)).Append(',')
                      .Append(F(run.Relations)).Append(',').Append(F(run.MaxOrder)).Append(',').Append(F(run.WeightDecay)).Append(',')
                      .Append(mode == Qa.EvalMode.TrainOnehop ? 1 : 2).Append(',').Append(F(p.Step)).Append(',')
                      .Append(F(p.Smoothed)).Append(',').Append(F(p.Rolling)).Append(',').Append(p.BelowThreshold ? "true" : "false").Append(',')
                      .Append(Quote(run.Name)).Append('\n');
                }
        return sb.ToString();
    }

    public static string NeverConvergedCsv(IReadOnlyList<RunConvergence> convergence)
    {
        var sb = new StringBuilder();
        sb.Append("n_params,N_profiles,relations,layers,min_train_hops,max_train_hops,weight_decay,run,reason\n");
        foreach (var c in convergence.Where(c => !c.Result.Converged))
        {
            var run = c.Run;
            sb.Append(F(run.NParams)).Append(',').Append(F(run.NProfiles)).Append(',').Append(F(run.Relations)).Append(',')
              .Append(F(run.Layers)).Append(',').Append(F(run.MinOrder)).Append(',').Append(F(run.MaxOrder)).Append(',')
              .Append(F(run.WeightDecay)).Append(',').Append(Quote(run.Name)).Append(',').Append(Quote(c.Result.Reason ?? "")).Append('\n');
        }
        return sb.ToString();
    }
}
