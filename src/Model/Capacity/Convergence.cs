using ActorLab.Model.Qa;

namespace ActorLab.Model.Capacity;

/// <summary>One eval point of a loss curve (loss in nats, as in eval_results.csv).</summary>
public readonly record struct LossPoint(long Step, double Loss);

/// <summary>A smoothed d loss / d step at the middle step of a window, its rolling mean, and whether that is below threshold.</summary>
public readonly record struct DerivativePoint(long Step, double Smoothed, double Rolling, bool BelowThreshold);

/// <summary>The convergence rule's knobs (SPEC 5 defaults, the reference's values).</summary>
public sealed record ConvergenceConfig
{
    /// <summary>Only eval steps strictly above this count.</summary>
    public double MinStep { get; init; } = 1e6;
    /// <summary>Of those, the last this many points.</summary>
    public int LastPoints { get; init; } = 50;
    /// <summary>Sliding window length: the derivative of a window is the mean of its central differences.</summary>
    public int Window { get; init; } = 15;
    /// <summary>Rolling mean over this many consecutive window derivatives (fewer at the start).</summary>
    public int RollingMean { get; init; } = 3;
    /// <summary>|d loss/d step| (nats per step) below this is converged.</summary>
    public double Threshold { get; init; } = 2e-8;

    public static readonly ConvergenceConfig Default = new();
}

/// <summary>A run's verdict: converged at <see cref="FirstConvergedStep"/>, or why not.</summary>
public sealed record ConvergenceResult(
    bool Converged,
    long? FirstConvergedStep,
    string? Reason,
    IReadOnlyDictionary<EvalMode, IReadOnlyList<DerivativePoint>> Derivatives);

/// <summary>
/// The reference convergence rule (SPEC 5, reference measure_capacity.py): per training mode, take eval steps
/// &gt; 1e6, keep the last 50; for each window of 15 consecutive points take numpy.gradient(loss, step)
/// (second-order central differences on the uneven grid inside, one-sided at the window's ends) and average it,
/// labelled with the window's middle step; smooth those with a rolling mean of 3 (min_periods 1). A run has
/// converged when at some labelled step |rolling| &lt; 2e-8 for every required mode (train_onehop and
/// train_twohop). Where the reference silently dropped curves with fewer than 15 points (NaN keys), this reports
/// them as not converged with the reason.
/// </summary>
public static class Convergence
{
    /// <summary>numpy.gradient(y, x) with edge_order 1, for strictly increasing x.</summary>
    public static double[] Gradient(ReadOnlySpan<double> y, ReadOnlySpan<double> x)
    {
        int n = y.Length;
        if (n != x.Length) throw new ArgumentException("x and y differ in length");
        if (n < 2) throw new ArgumentException("gradient needs at least 2 points");
        var g = new double[n];
        g[0] = (y[1] - y[0]) / (x[1] - x[0]);
        g[n - 1] = (y[n - 1] - y[n - 2]) / (x[n - 1] - x[n - 2]);
        for (int i = 1; i < n - 1; i++)
        {
            double h1 = x[i] - x[i - 1], h2 = x[i + 1] - x[i];
            g[i] = (-h2 / (h1 * (h1 + h2))) * y[i - 1] + ((h2 - h1) / (h1 * h2)) * y[i] + (h1 / (h2 * (h1 + h2))) * y[i + 1];
        }
        return g;
    }

    /// <summary>The smoothed derivatives of one loss curve (any order of points; one point per step expected).</summary>
    public static IReadOnlyList<DerivativePoint> SmoothedDerivatives(IEnumerable<LossPoint> curve, ConvergenceConfig? config = null)
    {
        var c = config ?? ConvergenceConfig.Default;
        var points = curve.Where(p => p.Step > c.MinStep).OrderBy(p => p.Step).ToArray();
        if (points.Length > c.LastPoints) points = points[^c.LastPoints..];
        if (points.Length < c.Window) return [];
        var steps = points.Select(p => (double)p.Step).ToArray();
        var losses = points.Select(p => p.Loss).ToArray();
        int windows = points.Length - c.Window + 1;
        var smoothed = new double[windows];
        var labels = new long[windows];
        for (int i = 0; i < windows; i++)
        {
            var g = Gradient(losses.AsSpan(i, c.Window), steps.AsSpan(i, c.Window));
            smoothed[i] = g.Average();
            labels[i] = points[i + c.Window / 2].Step;
        }
        var result = new DerivativePoint[windows];
        for (int i = 0; i < windows; i++)
        {
            int from = Math.Max(0, i - c.RollingMean + 1);
            double rolling = 0;
            for (int j = from; j <= i; j++) rolling += smoothed[j];
            rolling /= i - from + 1;
            result[i] = new DerivativePoint(labels[i], smoothed[i], rolling, Math.Abs(rolling) < c.Threshold);
        }
        return result;
    }

    /// <summary>Assesses a run from its loss curves per mode; <paramref name="required"/> are the modes that must all be flat.</summary>
    public static ConvergenceResult Assess(
        IReadOnlyDictionary<EvalMode, IReadOnlyList<LossPoint>> curves, IReadOnlyList<EvalMode> required, ConvergenceConfig? config = null)
    {
        var c = config ?? ConvergenceConfig.Default;
        var derivatives = new Dictionary<EvalMode, IReadOnlyList<DerivativePoint>>();
        foreach (var mode in required)
        {
            var curve = curves.GetValueOrDefault(mode) ?? [];
            derivatives[mode] = SmoothedDerivatives(curve, c);
        }
        foreach (var mode in required)
        {
            if (derivatives[mode].Count == 0)
            {
                int have = (curves.GetValueOrDefault(mode) ?? []).Count(p => p.Step > c.MinStep);
                return new ConvergenceResult(false, null,
                    $"{mode.Name()} has {have} eval points after step {c.MinStep:0}, the rule needs {c.Window}", derivatives);
            }
        }
        // Steps at which every required mode is below threshold.
        HashSet<long>? flat = null;
        foreach (var mode in required)
        {
            var below = derivatives[mode].Where(d => d.BelowThreshold).Select(d => d.Step).ToHashSet();
            if (flat == null) flat = below; else flat.IntersectWith(below);
        }
        if (flat is { Count: > 0 })
            return new ConvergenceResult(true, flat.Min(), null, derivatives);
        return new ConvergenceResult(false, null,
            $"|d loss/d step| never below {c.Threshold:G} for {string.Join(" and ", required.Select(m => m.Name()))} at the same step", derivatives);
    }
}
