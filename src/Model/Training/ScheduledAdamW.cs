using ActorLab.Model.Common;
using ActorLab.Model.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace ActorLab.Model.Training;

/// <summary>
/// AdamW with torch.optim.AdamW's update (decoupled decay p *= 1 - lr wd, bias-corrected moments) and a warmup +
/// cosine/linear <see cref="LrSchedule"/>, per muP group (lr * LrScale, wd * WdScale). Written out rather than
/// wrapping TorchSharp's AdamW so the state exports exactly into our checkpoints.
/// </summary>
public sealed class ScheduledAdamW : ITrainingOptimizer
{
    readonly IReadOnlyList<MupGroup> groups;
    readonly double lr, beta1, beta2, weightDecay, eps;
    readonly LrSchedule schedule;
    readonly Dictionary<string, Tensor> expAvg = new(), expAvgSq = new();

    public ScheduledAdamW(IReadOnlyList<MupGroup> groups, double lr, LrSchedule schedule, double beta1 = 0.9,
        double beta2 = 0.999, double weightDecay = 0.01, double eps = 1e-8)
    {
        this.groups = groups;
        (this.lr, this.schedule, this.beta1, this.beta2, this.weightDecay, this.eps) = (lr, schedule, beta1, beta2, weightDecay, eps);
    }

    public long StepCount { get; private set; }
    public double LastLr { get; private set; }
    public bool InTrainMode => true;
    public void Train() { }
    public void Eval() { }

    public void Step()
    {
        using var _ = no_grad();
        var k = StepCount;
        var factor = schedule.Factor(k);
        var t = k + 1;
        var bc1 = 1 - Math.Pow(beta1, t);
        var bc2Sqrt = Math.Sqrt(1 - Math.Pow(beta2, t));
        foreach (var g in groups)
        {
            var lrG = lr * g.LrScale * factor;
            if (g.Name == "other" || groups.Count == 1) LastLr = lrG;
            var decay = weightDecay * g.WdScale;
            foreach (var (name, p) in g.Params)
            {
                var grad = p.grad;
                if (grad is null) continue;
                if (!expAvg.TryGetValue(name, out var m))
                {
                    expAvg[name] = m = zeros_like(p).DetachFromDisposeScope();
                    expAvgSq[name] = zeros_like(p).DetachFromDisposeScope();
                }
                var v = expAvgSq[name];
                using var scope = NewDisposeScope();
                // every Scalar explicit and disposed at the end of this parameter, never left to the finalizer (TorchScalars)
                using Scalar keep = 1 - lrG * decay, b2 = beta2, oneMinusB2 = 1 - beta2, bc2 = bc2Sqrt, epsilon = eps, step = -lrG / bc1;
                p.mul_(keep);
                using (var w = tensor(1 - beta1, dtype: p.dtype, device: p.device)) m.lerp_(grad, w);
                v.mul_(b2).addcmul_(grad, grad, oneMinusB2);
                var denom = v.sqrt().div_(bc2).add_(epsilon, TorchScalars.One);
                p.addcdiv_(m, denom, step);
            }
        }
        StepCount = t;
    }

    public void ZeroGrad()
    {
        foreach (var g in groups)
        foreach (var (_, p) in g.Params)
            p.grad?.zero_();
    }

    public OptimizerState ExportState()
    {
        var tensors = new Dictionary<string, Tensor>();
        foreach (var (name, t) in expAvg) tensors[$"exp_avg.{name}"] = t.detach().cpu().clone();
        foreach (var (name, t) in expAvgSq) tensors[$"exp_avg_sq.{name}"] = t.detach().cpu().clone();
        return new OptimizerState(tensors, new Dictionary<string, double> { ["step"] = StepCount, ["last_lr"] = LastLr });
    }

    public void ImportState(OptimizerState state)
    {
        foreach (var t in expAvg.Values.Concat(expAvgSq.Values)) t.Dispose();
        expAvg.Clear();
        expAvgSq.Clear();
        StepCount = (long)ScheduleFreeAdamW.Scalar(state, "step");
        LastLr = state.Scalars.GetValueOrDefault("last_lr");
        foreach (var g in groups)
        foreach (var (name, p) in g.Params)
        {
            if (!state.Tensors.TryGetValue($"exp_avg.{name}", out var m)) continue;
            expAvg[name] = m.to(p.dtype, p.device).clone().DetachFromDisposeScope();
            expAvgSq[name] = ScheduleFreeAdamW.Tensor(state, $"exp_avg_sq.{name}").to(p.dtype, p.device).clone().DetachFromDisposeScope();
        }
    }

    public void Dispose()
    {
        foreach (var t in expAvg.Values.Concat(expAvgSq.Values)) t.Dispose();
        expAvg.Clear();
        expAvgSq.Clear();
    }
}
