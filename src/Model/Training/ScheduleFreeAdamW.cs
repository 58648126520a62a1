using ActorLab.Model.Common;
using ActorLab.Model.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace ActorLab.Model.Training;

/// <summary>
/// Schedule-Free AdamW (Defazio et al. 2024, "The Road Less Scheduled"), following the `schedulefree` package's
/// AdamWScheduleFree: three points per parameter, z (the SGD-like iterate), x (the weighted average of z, the point
/// to evaluate) and y = (1 - beta1) z + beta1 x (where gradients are taken, what the parameters hold in train mode).
/// Per group and step k (0-based), exactly as `schedulefree` 1.3 (bias correction in the denominator, none on lr):
///   lr_k = lr * min(1, (k+1)/warmup);  lr_max = max(lr_max, lr_k)
///   c = lr_max^2 / sum of lr_max^2 so far            (weight_lr_power 2, r 0)
///   v = beta2 v + (1-beta2) g^2;  u = g / (sqrt(v / (1 - beta2^(k+1))) + eps) + wd * y     (decay at y)
///   y = lerp(y, z, c) + lr_k (beta1 (1 - c) - 1) u;  z = z - lr_k u
/// which updates y in place without materialising x. Eval() moves the parameters to x = lerp(y, z, 1 - 1/beta1);
/// unlike the reference, Train() restores the exact y saved by Eval() (the reference re-derives y by a lerp that
/// is only equal up to rounding), so evaluating never perturbs training and resumes stay bitwise exact.
/// </summary>
public sealed class ScheduleFreeAdamW : ITrainingOptimizer
{
    sealed class Group(MupGroup spec)
    {
        public readonly MupGroup Spec = spec;
        public long K;
        public double WeightSum;
        public double LrMax = -1.0;
    }

    readonly Group[] groups;
    readonly double lr, beta1, beta2, weightDecay, eps, r, weightLrPower;
    readonly int warmupSteps;
    readonly Dictionary<string, Tensor> z = new(), expAvgSq = new();
    Dictionary<string, Tensor>? yBackup;

    public ScheduleFreeAdamW(IReadOnlyList<MupGroup> groups, double lr, double beta1 = 0.9, double beta2 = 0.999,
        double weightDecay = 0, int warmupSteps = 1000, double eps = 1e-8, double r = 0, double weightLrPower = 2)
    {
        if (!(lr > 0)) throw new ArgumentOutOfRangeException(nameof(lr), "lr must be > 0");
        if (beta1 is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(beta1), "beta1 must be in (0, 1)");
        this.groups = groups.Select(g => new Group(g)).ToArray();
        (this.lr, this.beta1, this.beta2, this.weightDecay, this.warmupSteps, this.eps, this.r, this.weightLrPower) =
            (lr, beta1, beta2, weightDecay, warmupSteps, eps, r, weightLrPower);
    }

    public long StepCount => groups[0].K;
    public double LastLr { get; private set; }
    public bool InTrainMode { get; private set; } = true;

    public void Step()
    {
        if (!InTrainMode) throw new InvalidOperationException("schedule-free step in eval mode: call Train() first");
        using var _ = no_grad();
        foreach (var g in groups)
        {
            var k = g.K;
            var sched = k < warmupSteps ? (k + 1.0) / warmupSteps : 1.0;
            var biasCorrection2 = 1 - Math.Pow(beta2, k + 1);
            var lrK = lr * g.Spec.LrScale * sched;
            g.LrMax = Math.Max(lrK, g.LrMax);
            var weight = Math.Pow(k + 1, r) * Math.Pow(g.LrMax, weightLrPower);
            g.WeightSum += weight;
            var ckp1 = g.WeightSum == 0 ? 0 : weight / g.WeightSum;
            var decay = weightDecay * g.Spec.WdScale;
            if (g.Spec.Name == "other" || groups.Length == 1) LastLr = lrK;

            foreach (var (name, p) in g.Spec.Params)
            {
                var grad = p.grad;
                if (grad is null) continue;
                if (!z.ContainsKey(name))
                {
                    z[name] = p.detach().clone().DetachFromDisposeScope();
                    expAvgSq[name] = zeros_like(p).DetachFromDisposeScope();
                }
                using var scope = NewDisposeScope();
                var zp = z[name];
                var v = expAvgSq[name];
                // every Scalar explicit and disposed at the end of this parameter, never left to the finalizer
                // (an implicit one can be freed by the GC while libtorch reads it: TorchScalars)
                using Scalar b2 = beta2, oneMinusB2 = 1 - beta2, bc2 = biasCorrection2, epsilon = eps, wd = decay,
                    yStep = lrK * (beta1 * (1 - ckp1) - 1), zStep = -lrK;
                v.mul_(b2).addcmul_(grad, grad, oneMinusB2);
                var u = grad / v.div(bc2).sqrt_().add_(epsilon, TorchScalars.One);
                if (decay != 0) u.add_(p, wd);
                using var c = tensor(ckp1, dtype: p.dtype, device: p.device);
                p.lerp_(zp, c);
                p.add_(u, yStep);
                zp.add_(u, zStep);
            }
            g.K = k + 1;
        }
    }

    public void ZeroGrad()
    {
        foreach (var g in groups)
        foreach (var (_, p) in g.Spec.Params)
            p.grad?.zero_();
    }

    public void Eval()
    {
        if (!InTrainMode) return;
        using var _ = no_grad();
        yBackup = new Dictionary<string, Tensor>();
        foreach (var g in groups)
        foreach (var (name, p) in g.Spec.Params)
        {
            if (!z.TryGetValue(name, out var zp)) continue;
            yBackup[name] = p.detach().clone().DetachFromDisposeScope();
            using var w = tensor(1 - 1 / beta1, dtype: p.dtype, device: p.device);
            p.lerp_(zp, w);
        }
        InTrainMode = false;
    }

    public void Train()
    {
        if (InTrainMode) return;
        using var _ = no_grad();
        foreach (var g in groups)
        foreach (var (name, p) in g.Spec.Params)
        {
            if (!z.TryGetValue(name, out var zp)) continue;
            if (yBackup != null && yBackup.TryGetValue(name, out var y)) p.copy_(y);
            else
            {
                using var w = tensor(1 - beta1, dtype: p.dtype, device: p.device);
                p.lerp_(zp, w);
            }
        }
        DisposeBackup();
        InTrainMode = true;
    }

    void DisposeBackup()
    {
        if (yBackup == null) return;
        foreach (var t in yBackup.Values) t.Dispose();
        yBackup = null;
    }

    public OptimizerState ExportState()
    {
        if (!InTrainMode) throw new InvalidOperationException("export schedule-free state in train mode");
        var tensors = new Dictionary<string, Tensor>();
        foreach (var (name, t) in z) tensors[$"z.{name}"] = t.detach().cpu().clone();
        foreach (var (name, t) in expAvgSq) tensors[$"exp_avg_sq.{name}"] = t.detach().cpu().clone();
        var scalars = new Dictionary<string, double>();
        foreach (var g in groups)
        {
            scalars[$"{g.Spec.Name}.k"] = g.K;
            scalars[$"{g.Spec.Name}.weight_sum"] = g.WeightSum;
            scalars[$"{g.Spec.Name}.lr_max"] = g.LrMax;
        }
        scalars["last_lr"] = LastLr;
        return new OptimizerState(tensors, scalars);
    }

    public void ImportState(OptimizerState state)
    {
        Train();
        foreach (var t in z.Values.Concat(expAvgSq.Values)) t.Dispose();
        z.Clear();
        expAvgSq.Clear();
        foreach (var g in groups)
        {
            g.K = (long)Scalar(state, $"{g.Spec.Name}.k");
            g.WeightSum = Scalar(state, $"{g.Spec.Name}.weight_sum");
            g.LrMax = Scalar(state, $"{g.Spec.Name}.lr_max");
            foreach (var (name, p) in g.Spec.Params)
            {
                if (!state.Tensors.TryGetValue($"z.{name}", out var zt)) continue;
                z[name] = zt.to(p.dtype, p.device).clone().DetachFromDisposeScope();
                expAvgSq[name] = Tensor(state, $"exp_avg_sq.{name}").to(p.dtype, p.device).clone().DetachFromDisposeScope();
            }
        }
        LastLr = state.Scalars.GetValueOrDefault("last_lr");
    }

    internal static double Scalar(OptimizerState s, string key) =>
        s.Scalars.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"optimizer state lacks '{key}'");

    internal static Tensor Tensor(OptimizerState s, string key) =>
        s.Tensors.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"optimizer state lacks tensor '{key}'");

    public void Dispose()
    {
        DisposeBackup();
        foreach (var t in z.Values.Concat(expAvgSq.Values)) t.Dispose();
        z.Clear();
        expAvgSq.Clear();
    }
}
