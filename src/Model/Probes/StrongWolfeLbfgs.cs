namespace ActorLab.Model.Probes;

/// <summary>Settings of <see cref="StrongWolfeLbfgs"/>; the defaults are torch.optim.LBFGS's (lr 1, history 100).</summary>
public sealed record LbfgsSettings
{
    public int MaxIterations { get; init; } = 20;
    /// <summary>Objective evaluations allowed in all (torch: max_iter * 5 / 4).</summary>
    public int? MaxEvaluations { get; init; }
    public int HistorySize { get; init; } = 100;
    public double ToleranceGrad { get; init; } = 1e-7;
    public double ToleranceChange { get; init; } = 1e-9;
    public double LearningRate { get; init; } = 1;
}

/// <summary>What a minimisation ended with: the point, its objective, and the work done.</summary>
public sealed record LbfgsResult(double[] X, double Value, int Iterations, int Evaluations);

/// <summary>
/// L-BFGS with a strong-Wolfe line search, step for step as torch.optim.LBFGS(line_search_fn="strong_wolfe")
/// (Nocedal &amp; Wright, algorithms 7.4 and 3.5/3.6 with cubic interpolation). TorchSharp's LBFGS exposes no
/// line search, and the reference fits its probes with this one, so probes comparable with the reference need it.
/// Works on a flat double vector; <c>objective</c> returns the value and gradient at a point.
/// </summary>
public static class StrongWolfeLbfgs
{
    public delegate (double Value, double[] Gradient) Objective(double[] x);

    public static LbfgsResult Minimize(Objective objective, double[] x0, LbfgsSettings s)
    {
        int maxEvals = s.MaxEvaluations ?? s.MaxIterations * 5 / 4;
        var x = (double[])x0.Clone();
        var (loss, g) = objective(x);
        int evals = 1;
        if (MaxAbs(g) <= s.ToleranceGrad) return new LbfgsResult(x, loss, 0, evals);

        var dirs = new List<double[]>(); // y = change of gradient
        var steps = new List<double[]>(); // s = change of x
        var ro = new List<double>();
        double hDiag = 1, t = 0;
        double[] d = [], prevG = [];
        int iter = 0;
        while (iter < s.MaxIterations)
        {
            iter++;
            if (iter == 1) d = Scaled(g, -1);
            else
            {
                var y = Sub(g, prevG);
                var step = Scaled(d, t);
                double ys = Dot(y, step);
                if (ys > 1e-10) // curvature condition; skip the update otherwise
                {
                    if (dirs.Count == s.HistorySize) { dirs.RemoveAt(0); steps.RemoveAt(0); ro.RemoveAt(0); }
                    dirs.Add(y); steps.Add(step); ro.Add(1 / ys);
                    hDiag = ys / Dot(y, y);
                }
                // Two-loop recursion: d = -H g.
                var q = Scaled(g, -1);
                var al = new double[dirs.Count];
                for (int i = dirs.Count - 1; i >= 0; i--)
                {
                    al[i] = Dot(steps[i], q) * ro[i];
                    Axpy(-al[i], dirs[i], q);
                }
                d = Scaled(q, hDiag);
                for (int i = 0; i < dirs.Count; i++)
                    Axpy(al[i] - Dot(dirs[i], d) * ro[i], steps[i], d);
            }
            prevG = g;
            double prevLoss = loss;
            // First step: at most lr / |g|_1, so the first probe point is not wildly far.
            t = iter == 1 ? Math.Min(1, 1 / SumAbs(g)) * s.LearningRate : s.LearningRate;
            double gtd = Dot(g, d);
            if (gtd > -s.ToleranceChange) break; // not a descent direction any more

            var (lsLoss, lsG, lsT, lsEvals) = LineSearch(objective, x, t, d, loss, g, gtd, s.ToleranceChange);
            loss = lsLoss; g = lsG; t = lsT;
            Axpy(t, d, x);
            evals += lsEvals;

            if (iter == s.MaxIterations || evals >= maxEvals) break;
            if (MaxAbs(g) <= s.ToleranceGrad) break;
            if (MaxAbs(d) * Math.Abs(t) <= s.ToleranceChange) break;
            if (Math.Abs(loss - prevLoss) < s.ToleranceChange) break;
        }
        return new LbfgsResult(x, loss, iter, evals);
    }

    /// <summary>Step t along d from x satisfying the strong Wolfe conditions (c1 1e-4, c2 0.9, at most 25 tries).</summary>
    static (double Loss, double[] G, double T, int Evals) LineSearch(Objective f, double[] x, double t, double[] d,
        double loss, double[] g, double gtd, double toleranceChange, double c1 = 1e-4, double c2 = 0.9, int maxLs = 25)
    {
        double dNorm = MaxAbs(d);
        (double, double[]) At(double step) { var p = (double[])x.Clone(); Axpy(step, d, p); return f(p); }
        var (fNew, gNew) = At(t);
        int evals = 1, lsIter = 0;
        double gtdNew = Dot(gNew, d);
        double tPrev = 0, fPrev = loss, gtdPrev = gtd;
        double[] gPrev = g;
        bool done = false;
        double[] bT, bF, bGtd;
        double[][] bG;

        // Bracketing: find an interval that holds a point satisfying the conditions.
        while (true)
        {
            if (lsIter >= maxLs) { bT = [0, t]; bF = [loss, fNew]; bG = [g, gNew]; bGtd = [gtd, gtdNew]; break; }
            if (fNew > loss + c1 * t * gtd || (lsIter > 1 && fNew >= fPrev))
            { bT = [tPrev, t]; bF = [fPrev, fNew]; bG = [gPrev, gNew]; bGtd = [gtdPrev, gtdNew]; break; }
            if (Math.Abs(gtdNew) <= -c2 * gtd) { bT = [t]; bF = [fNew]; bG = [gNew]; bGtd = [gtdNew]; done = true; break; }
            if (gtdNew >= 0) { bT = [tPrev, t]; bF = [fPrev, fNew]; bG = [gPrev, gNew]; bGtd = [gtdPrev, gtdNew]; break; }
            // Extrapolate by cubic interpolation, between a little past t and 10 t.
            double next = Cubic(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, t + 0.01 * (t - tPrev), t * 10);
            tPrev = t; fPrev = fNew; gPrev = gNew; gtdPrev = gtdNew;
            t = next;
            (fNew, gNew) = At(t);
            evals++; lsIter++;
            gtdNew = Dot(gNew, d);
        }

        // Zoom: shrink the bracket until a point satisfies both conditions.
        bool insufficientProgress = false;
        int low = bF[0] <= bF[^1] ? 0 : 1, high = 1 - low;
        while (!done && lsIter < maxLs)
        {
            if (Math.Abs(bT[1] - bT[0]) * dNorm < toleranceChange) break;
            t = Cubic(bT[0], bF[0], bGtd[0], bT[1], bF[1], bGtd[1], Math.Min(bT[0], bT[1]), Math.Max(bT[0], bT[1]));
            // Keep away from the bracket's ends: a point too close to one makes no progress.
            double hi = Math.Max(bT[0], bT[1]), lo = Math.Min(bT[0], bT[1]), eps = 0.1 * (hi - lo);
            if (Math.Min(hi - t, t - lo) < eps)
            {
                if (insufficientProgress || t >= hi || t <= lo)
                {
                    t = Math.Abs(t - hi) < Math.Abs(t - lo) ? hi - eps : lo + eps;
                    insufficientProgress = false;
                }
                else insufficientProgress = true;
            }
            else insufficientProgress = false;
            (fNew, gNew) = At(t);
            evals++; lsIter++;
            gtdNew = Dot(gNew, d);
            if (fNew > loss + c1 * t * gtd || fNew >= bF[low])
            {
                bT[high] = t; bF[high] = fNew; bG[high] = gNew; bGtd[high] = gtdNew;
                low = bF[0] <= bF[1] ? 0 : 1; high = 1 - low;
            }
            else
            {
                if (Math.Abs(gtdNew) <= -c2 * gtd) done = true;
                else if (gtdNew * (bT[high] - bT[low]) >= 0)
                {
                    bT[high] = bT[low]; bF[high] = bF[low]; bG[high] = bG[low]; bGtd[high] = bGtd[low];
                }
                bT[low] = t; bF[low] = fNew; bG[low] = gNew; bGtd[low] = gtdNew;
            }
        }
        return (bF[low], bG[low], bT[low], evals);
    }

    /// <summary>Minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clamped to [lo, hi]; the midpoint when it has none.</summary>
    internal static double Cubic(double x1, double f1, double g1, double x2, double f2, double g2, double lo, double hi)
    {
        double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
        double d2Square = d1 * d1 - g1 * g2;
        if (!(d2Square >= 0)) return (lo + hi) / 2;
        double d2 = Math.Sqrt(d2Square);
        double min = x1 <= x2
            ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
            : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
        return Math.Min(Math.Max(min, lo), hi);
    }

    static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    static void Axpy(double alpha, double[] x, double[] y)
    {
        for (int i = 0; i < x.Length; i++) y[i] += alpha * x[i];
    }

    static double[] Scaled(double[] a, double k)
    {
        var r = new double[a.Length];
        for (int i = 0; i < a.Length; i++) r[i] = k * a[i];
        return r;
    }

    static double[] Sub(double[] a, double[] b)
    {
        var r = new double[a.Length];
        for (int i = 0; i < a.Length; i++) r[i] = a[i] - b[i];
        return r;
    }

    static double MaxAbs(double[] a) => a.Length == 0 ? 0 : a.Max(Math.Abs);
    static double SumAbs(double[] a) => a.Sum(Math.Abs);
}
