using ActorLab.Model.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ActorLab.Model.Probes;

/// <summary>How a probe is fitted. Defaults suit a few thousand samples of a few hundred dims.</summary>
public sealed record ProbeFitOptions
{
    /// <summary>L-BFGS iterations (one closure evaluation each, roughly).</summary>
    public int MaxIterations { get; init; } = 200;
    public int HistorySize { get; init; } = 20;
    /// <summary>Stop when the largest gradient entry falls below this.</summary>
    public double ToleranceGrad { get; init; } = 1e-7;
    public double ToleranceChange { get; init; } = 1e-10;
    /// <summary>Device the fit runs on (hidden states are moved there).</summary>
    public Device? Device { get; init; }
    /// <summary>
    /// Divide features by their training std as well as centring them. Off by default: the penalty grid of SPEC 6
    /// is meant for weights on the raw residual stream, and scaling the features to unit variance would change
    /// what a penalty means (by the square of the stream's scale).
    /// </summary>
    public bool Standardize { get; init; }
    /// <summary>
    /// Fit with <see cref="StrongWolfeLbfgs"/> (L-BFGS with a strong-Wolfe line search) instead of TorchSharp's
    /// L-BFGS at a fixed step. The reference fits its probes this way.
    /// </summary>
    public bool StrongWolfe { get; init; }

    public static ProbeFitOptions Default { get; } = new();

    /// <summary>The reference's probe fit: torch.optim.LBFGS(line_search_fn="strong_wolfe", max_iter=1000) with torch's defaults.</summary>
    public static ProbeFitOptions Reference { get; } = new()
    {
        MaxIterations = 1000, HistorySize = 100, ToleranceGrad = 1e-7, ToleranceChange = 1e-9, StrongWolfe = true,
    };
}

/// <summary>
/// A linear probe: multinomial logistic regression from a hidden state to a class (a compact answer-token id).
/// logits = ((x - mean) / std) W + b, W [d x C], b [C], with mean the training mean (centring changes nothing but
/// the bias, and helps L-BFGS) and std = 1 unless <see cref="ProbeFitOptions.Standardize"/> (then the training
/// std, and the penalty applies to weights in standardised units).
/// Objective: mean cross-entropy (nats) + penalty * ||W||_F^2 (bias not penalised). Fitted in float64, from
/// zero weights (the problem is convex, so the start only affects speed, and zero keeps it deterministic).
/// </summary>
public sealed class LinearProbe : nn.Module<Tensor, Tensor>
{
    public int Dim { get; }
    public int NumClasses { get; }
    public double Penalty { get; private set; }
    /// <summary>Training objective at the end of the fit (mean CE + penalty term).</summary>
    public double TrainObjective { get; private set; } = double.NaN;

    readonly Parameter weight; // [d, C]
    readonly Parameter bias;   // [C]
    readonly Tensor featureMean; // [d]
    readonly Tensor featureStd;  // [d]

    public Tensor Weight => weight;
    public Tensor Bias => bias;
    public Tensor FeatureMean => featureMean;
    public Tensor FeatureStd => featureStd;

    LinearProbe(int dim, int numClasses, Tensor mean, Tensor std, Device device) : base(nameof(LinearProbe))
    {
        Dim = dim;
        NumClasses = numClasses;
        // Detached from any dispose scope the caller has open: the probe owns these and frees them on Dispose.
        weight = new Parameter(zeros(dim, numClasses, dtype: float64, device: device).DetachFromDisposeScope());
        bias = new Parameter(zeros(numClasses, dtype: float64, device: device).DetachFromDisposeScope());
        featureMean = mean.detach().to(float64, device, copy: true).DetachFromDisposeScope();
        featureStd = std.detach().to(float64, device, copy: true).DetachFromDisposeScope();
        register_parameter("weight", weight);
        register_parameter("bias", bias);
        register_buffer("feature_mean", featureMean);
        register_buffer("feature_std", featureStd);
    }

    /// <summary>A probe with given parameters (loaded weights, tests).</summary>
    public static LinearProbe FromTensors(Tensor weight, Tensor bias, Tensor mean, Tensor std, double penalty)
    {
        if (weight.ndim != 2) throw new ArgumentException("weight must be [d, C]");
        var p = new LinearProbe((int)weight.shape[0], (int)weight.shape[1], mean, std, weight.device) { Penalty = penalty };
        using (no_grad())
        {
            p.weight.copy_(weight);
            p.bias.copy_(bias);
        }
        return p;
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var z = (x.to(float64).to(weight.device) - featureMean) / featureStd;
        return z.matmul(weight).add(bias).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Fits a probe on hidden states <paramref name="x"/> [n, d] with compact labels <paramref name="y"/>
    /// (int64 in [0, numClasses)).
    /// </summary>
    public static LinearProbe Fit(Tensor x, Tensor y, int numClasses, double penalty, ProbeFitOptions? options = null)
    {
        options ??= ProbeFitOptions.Default;
        Validate(x, y, numClasses);
        if (!(penalty >= 0) || double.IsInfinity(penalty))
            throw new ArgumentOutOfRangeException(nameof(penalty), penalty, "penalty must be finite and >= 0");
        var device = options.Device ?? x.device;

        // Copies (not views) so disposing them never touches the caller's tensors.
        using var xd = x.to(float64, device, copy: true);
        using var yd = y.to(int64, device, copy: true);
        using var mean = xd.mean([0L]);
        // Constant features (std 0) stay at 0 after centring; the floor only avoids dividing by zero.
        using var std = options.Standardize ? xd.std(0, unbiased: false).clamp_min(1e-6) : ones_like(mean);
        if (options.StrongWolfe) return FitStrongWolfe(xd, yd, numClasses, penalty, mean, std, device, options);

        // TorchSharp's L-BFGS has no line search (libtorch's strong-Wolfe option is not exposed), so a step of
        // lr 1 can overshoot on a badly conditioned problem. Guard: if the fit ends non-finite or worse than
        // the zero-weight start, refit from zero with half the step size.
        LinearProbe? probe = null;
        double lr = 1.0;
        for (int attempt = 0; attempt < 6; attempt++, lr *= 0.5)
        {
            probe?.Dispose();
            probe = new LinearProbe((int)x.shape[1], numClasses, mean, std, device) { Penalty = penalty };
            double start;
            using (no_grad()) start = ObjectiveValue(probe, xd, yd, penalty);
            var end = RunLbfgs(probe, xd, yd, penalty, lr, options);
            if (double.IsFinite(end) && end <= start + 1e-12)
            {
                probe.TrainObjective = end;
                break;
            }
            probe.TrainObjective = double.NaN;
        }
        if (!double.IsFinite(probe!.TrainObjective))
            throw new InvalidOperationException($"L-BFGS failed to fit the probe (penalty {penalty}): the objective diverged at every step size down to {lr * 2}.");
        return probe;
    }

    /// <summary>One strong-Wolfe L-BFGS run from zero weights: the line search needs no step-size guard.</summary>
    static LinearProbe FitStrongWolfe(Tensor x, Tensor y, int numClasses, double penalty, Tensor mean, Tensor std, Device device, ProbeFitOptions o)
    {
        var probe = new LinearProbe((int)x.shape[1], numClasses, mean, std, device) { Penalty = penalty };
        long wn = probe.weight.numel();
        var settings = new LbfgsSettings
        {
            MaxIterations = o.MaxIterations, HistorySize = o.HistorySize, ToleranceGrad = o.ToleranceGrad, ToleranceChange = o.ToleranceChange,
        };
        (double, double[]) ValueAndGradient(double[] flat)
        {
            using var scope = NewDisposeScope();
            SetFlat(probe, flat, wn);
            probe.weight.grad?.zero_();
            probe.bias.grad?.zero_();
            var loss = Objective(probe, x, y, penalty);
            loss.backward();
            var g = cat([probe.weight.grad!.flatten(), probe.bias.grad!.flatten()]).cpu().data<double>().ToArray();
            return (loss.item<double>(), g);
        }
        var result = StrongWolfeLbfgs.Minimize(ValueAndGradient, new double[wn + probe.bias.numel()], settings);
        SetFlat(probe, result.X, wn);
        using (no_grad()) probe.TrainObjective = ObjectiveValue(probe, x, y, penalty);
        if (!double.IsFinite(probe.TrainObjective))
            throw new InvalidOperationException($"strong-Wolfe L-BFGS failed to fit the probe (penalty {penalty}): the objective is not finite.");
        return probe;
    }

    /// <summary>Writes a flat vector (weight row-major, then bias) into the probe's parameters.</summary>
    static void SetFlat(LinearProbe probe, double[] flat, long weightCount)
    {
        using var _ = no_grad();
        using var all = tensor(flat, dtype: float64).to(probe.weight.device);
        using var w = all.narrow(0, 0, weightCount).view(probe.weight.shape);
        using var b = all.narrow(0, weightCount, all.shape[0] - weightCount);
        probe.weight.copy_(w);
        probe.bias.copy_(b);
    }

    static double RunLbfgs(LinearProbe probe, Tensor x, Tensor y, double penalty, double lr, ProbeFitOptions o)
    {
        using var opt = optim.LBFGS(probe.parameters(), lr: lr, max_iter: o.MaxIterations, max_eval: o.MaxIterations * 5 / 4,
            tolerange_grad: o.ToleranceGrad, tolerance_change: o.ToleranceChange, history_size: o.HistorySize);
        Func<Tensor> closure = () =>
        {
            using var scope = NewDisposeScope();
            // Zero the gradients directly: the optimizer's zero_grad goes through libtorch's deprecated
            // Optimizer::parameters(), which prints a warning on every call.
            probe.weight.grad?.zero_();
            probe.bias.grad?.zero_();
            var loss = Objective(probe, x, y, penalty);
            loss.backward();
            return loss.MoveToOuterDisposeScope();
        };
        // One step runs up to MaxIterations inner iterations; stops earlier on the tolerances.
        using (var _ = opt.step(closure)) { }
        using (no_grad())
            return ObjectiveValue(probe, x, y, penalty);
    }

    static double ObjectiveValue(LinearProbe probe, Tensor x, Tensor y, double penalty)
    {
        using var scope = NewDisposeScope();
        return Objective(probe, x, y, penalty).item<double>();
    }

    static Tensor Objective(LinearProbe probe, Tensor x, Tensor y, double penalty)
    {
        var loss = nn.functional.cross_entropy(probe.forward(x), y);
        return penalty > 0 ? loss + penalty * probe.weight.square().sum() : loss;
    }

    /// <summary>Mean cross-entropy (nats) and accuracy on (x, y).</summary>
    public ProbeScore Evaluate(Tensor x, Tensor y)
    {
        Validate(x, y, NumClasses);
        if (x.shape[1] != Dim) throw new ArgumentException($"x has {x.shape[1]} features, the probe expects {Dim}");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var logits = forward(x);
        var yd = y.to(int64).to(logits.device);
        var loss = nn.functional.cross_entropy(logits, yd).item<double>();
        var acc = logits.argmax(1).eq(yd).to(float64).mean().item<double>();
        return new ProbeScore(loss, acc, (int)x.shape[0]);
    }

    internal static void Validate(Tensor x, Tensor y, int numClasses)
    {
        if (x.ndim != 2) throw new ArgumentException($"hidden states must be [n, d], got {x.ndim} dims");
        if (y.ndim != 1 || y.shape[0] != x.shape[0])
            throw new ArgumentException($"labels must be [n] with n = {x.shape[0]}, got shape [{string.Join(", ", y.shape)}]");
        if (x.shape[0] == 0) throw new ArgumentException("no samples");
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "need at least one class");
        if (x.is_floating_point() == false) throw new ArgumentException("hidden states must be floating point");
        using var yl = y.to(int64);
        var min = yl.min().item<long>();
        var max = yl.max().item<long>();
        if (min < 0 || max >= numClasses)
            throw new ArgumentException($"labels must lie in [0, {numClasses}), got [{min}, {max}]");
        using var finite = x.isfinite().all();
        if (!finite.item<bool>()) throw new ArgumentException("hidden states contain NaN or infinity");
    }
}

/// <summary>Mean cross-entropy in nats, accuracy in [0, 1], over N samples.</summary>
public readonly record struct ProbeScore(double Loss, double Accuracy, int N);
