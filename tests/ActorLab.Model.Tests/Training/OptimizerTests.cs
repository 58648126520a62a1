using ActorLab.Model.Training;
using ActorLab.Model.Transformer;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ActorLab.Model.Tests.Training;

public class OptimizerTests
{
    static OptimizerTests() => torch.set_num_threads(1);

    static readonly double[] A = [1.0, 3.0, 0.5], B = [2.0, -1.0, 0.25], Y0 = [0.5, 0.7, -0.3];

    /// <summary>Loss 0.5 sum a (p - b)^2, so grad = a (p - b).</summary>
    static void Backward(Parameter p)
    {
        p.grad?.zero_();
        using var a = tensor(A.Select(v => (float)v).ToArray());
        using var b = tensor(B.Select(v => (float)v).ToArray());
        using var loss = (0.5 * a * (p - b).pow(2)).sum();
        loss.backward();
    }

    static Parameter NewParam() => new(tensor(Y0.Select(v => (float)v).ToArray()));

    /// <summary>
    /// Schedule-free AdamW in the paper's form (z, x, y kept separately), derived by hand, against the in-place
    /// implementation; group scales lr/m and wd*m applied as muP does.
    /// </summary>
    [Theory]
    [InlineData(1.0, 1.0)]
    [InlineData(0.5, 2.0)]
    public void ScheduleFreeMatchesPaperFormStepByStep(double lrScale, double wdScale)
    {
        const double lr = 0.1, beta1 = 0.9, beta2 = 0.999, wd = 0.05, eps = 1e-8;
        const int warmup = 3, steps = 6;
        using var p = NewParam();
        var group = new MupGroup("hidden", [("w", p)], lrScale, wdScale);
        using var opt = new ScheduleFreeAdamW([group], lr, beta1, beta2, wd, warmup, eps);

        var z = (double[])Y0.Clone();
        var x = (double[])Y0.Clone();
        var y = (double[])Y0.Clone();
        var v = new double[3];
        double lrMax = -1, weightSum = 0;
        for (int k = 0; k < steps; k++)
        {
            var lrK = lr * lrScale * Math.Min(1.0, (k + 1.0) / warmup);
            lrMax = Math.Max(lrMax, lrK);
            weightSum += lrMax * lrMax;
            var c = lrMax * lrMax / weightSum;
            for (int i = 0; i < 3; i++)
            {
                var g = A[i] * (y[i] - B[i]);
                v[i] = beta2 * v[i] + (1 - beta2) * g * g;
                var u = g / (Math.Sqrt(v[i] / (1 - Math.Pow(beta2, k + 1))) + eps) + wd * wdScale * y[i];
                z[i] -= lrK * u;
                x[i] = (1 - c) * x[i] + c * z[i];
                y[i] = (1 - beta1) * z[i] + beta1 * x[i];
            }

            Backward(p);
            opt.Step();
            var got = p.data<float>().ToArray();
            for (int i = 0; i < 3; i++) Assert.Equal(y[i], got[i], 5);
        }

        // Eval moves to the average x; Train restores exactly the same y.
        var yBits = p.data<float>().ToArray();
        opt.Eval();
        var xs = p.data<float>().ToArray();
        for (int i = 0; i < 3; i++) Assert.Equal(x[i], xs[i], 5);
        Assert.NotEqual(yBits, xs);
        opt.Train();
        Assert.Equal(yBits, p.data<float>().ToArray());
    }

    /// <summary>
    /// Three steps of `schedulefree` 1.3 AdamWScheduleFree derived by hand. One weight, y0 = z0 = 1, loss 2 w so the
    /// gradient is g = 2 at every point; lr 0.1, betas (0.9, 0.999), wd 0.5, warmup 2, eps 0.
    /// A constant gradient makes v_k = (1 - beta2^k) g^2 exactly, so the bias-corrected denominator
    /// sqrt(v / (1 - beta2^k)) = |g| = 2 and g / denom = 1 at every step; u = 1 + wd y (decay at y).
    ///   k=0: lr_0 = 0.1 * 1/2 = 0.05 (no sqrt(1 - beta2) factor); lr_max = 0.05; weights 0.0025, sum 0.0025, c = 1.
    ///        u = 1 + 0.5 * 1 = 1.5; y = lerp(1, z=1, 1) + 0.05 (0.9 * 0 - 1) 1.5 = 0.925; z = 1 - 0.05 * 1.5 = 0.925.
    ///   k=1: lr_1 = 0.1; lr_max = 0.1; weight 0.01, sum 0.0125, c = 0.8.
    ///        u = 1 + 0.5 * 0.925 = 1.4625; z = 0.925 - 0.14625 = 0.77875;
    ///        x = 0.2 * 0.925 + 0.8 * 0.77875 = 0.808; y = 0.1 z + 0.9 x = 0.805075.
    ///   k=2: lr_2 = 0.1; lr_max = 0.1; weight 0.01, sum 0.0225, c = 4/9.
    ///        u = 1 + 0.5 * 0.805075 = 1.4025375; z = 0.77875 - 0.14025375 = 0.63849625;
    ///        x = 5/9 * 0.808 + 4/9 * 0.63849625 = 0.732665; y = 0.1 z + 0.9 x = 0.723248125.
    /// The old form (lr_k sqrt(1 - beta2^(k+1)), undivided v) would give y = 0.9492 after step 0.
    /// </summary>
    [Fact]
    public void ScheduleFreeThreeStepsByHandAsSchedulefree13()
    {
        using var p = new Parameter(tensor(new[] { 1.0f }));
        using var opt = new ScheduleFreeAdamW([new MupGroup("other", [("w", p)], 1, 1)], 0.1, 0.9, 0.999, 0.5, warmupSteps: 2, eps: 0);
        double[] expectedY = [0.925, 0.805075, 0.723248125], expectedLr = [0.05, 0.1, 0.1];
        for (int k = 0; k < 3; k++)
        {
            p.grad?.zero_();
            using (var loss = (2 * p).sum()) loss.backward();
            opt.Step();
            Assert.InRange(p.data<float>()[0], expectedY[k] - 1e-6, expectedY[k] + 1e-6); // float32 weights
            Assert.Equal(expectedLr[k], opt.LastLr, 12);
        }
        opt.Eval();
        Assert.InRange(p.data<float>()[0], 0.732665 - 1e-6, 0.732665 + 1e-6); // x, the eval point
        opt.Train();
        Assert.InRange(p.data<float>()[0], 0.723248125 - 1e-6, 0.723248125 + 1e-6);
    }

    [Fact]
    public void ScheduleFreeFirstStepByHand()
    {
        // Step 0, warmup 1, wd 0: lr_0 = 0.1; c = 1 (x = z); v = 0.001 g^2, bias-corrected v / 0.001 = g^2, so
        // u = g / |g| = sign(g) => z = y0 - 0.1 sign(g); y = z (c = 1, beta-mix of equal points).
        using var p = NewParam();
        using var opt = new ScheduleFreeAdamW([new MupGroup("other", [("w", p)], 1, 1)], 0.1, 0.9, 0.999, 0, warmupSteps: 1, eps: 0);
        Backward(p);
        opt.Step();
        var got = p.data<float>().ToArray();
        // grads a(y0-b): -1.5, 5.1, -0.275 -> signs -, +, -
        Assert.Equal(0.5 + 0.1, got[0], 6);
        Assert.Equal(0.7 - 0.1, got[1], 6);
        Assert.Equal(-0.3 + 0.1, got[2], 6);
    }

    [Fact]
    public void ScheduleFreeRefusesToStepInEvalMode()
    {
        using var p = NewParam();
        using var opt = new ScheduleFreeAdamW([new MupGroup("other", [("w", p)], 1, 1)], 0.1);
        opt.Eval();
        Backward(p);
        Assert.Throws<InvalidOperationException>(() => opt.Step());
    }

    [Fact]
    public void AdamWMatchesTorchUpdateWithWarmupCosine()
    {
        const double lr = 0.1, beta1 = 0.9, beta2 = 0.999, wd = 0.1, eps = 1e-8;
        var schedule = new LrSchedule(DecayShape.Cosine, 2, 6);
        using var p = NewParam();
        using var opt = new ScheduledAdamW([new MupGroup("hidden", [("w", p)], 0.5, 2.0)], lr, schedule, beta1, beta2, wd, eps);
        var w = (double[])Y0.Clone();
        var m = new double[3];
        var v = new double[3];
        for (int k = 0; k < 6; k++)
        {
            var lrK = lr * 0.5 * schedule.Factor(k);
            int t = k + 1;
            for (int i = 0; i < 3; i++)
            {
                var g = A[i] * (w[i] - B[i]);
                w[i] *= 1 - lrK * wd * 2.0;
                m[i] = beta1 * m[i] + (1 - beta1) * g;
                v[i] = beta2 * v[i] + (1 - beta2) * g * g;
                var mHat = m[i] / (1 - Math.Pow(beta1, t));
                var denom = Math.Sqrt(v[i]) / Math.Sqrt(1 - Math.Pow(beta2, t)) + eps;
                w[i] -= lrK * mHat / denom;
            }
            Backward(p);
            opt.Step();
            var got = p.data<float>().ToArray();
            for (int i = 0; i < 3; i++) Assert.Equal(w[i], got[i], 5);
            // HF warmup starts at lr 0: the first step leaves the weights where they were.
            if (k == 0) Assert.Equal(Y0.Select(y => (float)y).ToArray(), got);
        }
    }

    [Fact]
    public void SchedulesWarmUpThenDecay()
    {
        var cos = new LrSchedule(DecayShape.Cosine, 10, 110);
        var lin = new LrSchedule(DecayShape.Linear, 10, 110);
        Assert.Equal(0.0, cos.Factor(0));
        Assert.Equal(0.5, cos.Factor(5), 12);
        Assert.Equal(1.0, cos.Factor(10), 12);
        Assert.Equal(0.5, cos.Factor(60), 12);
        Assert.Equal(0.0, cos.Factor(110), 12);
        Assert.Equal(0.5, lin.Factor(60), 12);
        Assert.Equal(0.25, lin.Factor(85), 12);
        Assert.Equal(0.0, lin.Factor(200));
    }

    [Fact]
    public void StateRoundTripContinuesIdentically()
    {
        using var p1 = NewParam();
        using var p2 = NewParam();
        using var o1 = new ScheduleFreeAdamW([new MupGroup("other", [("w", p1)], 1, 1)], 0.05, warmupSteps: 2, weightDecay: 0.1);
        using var o2 = new ScheduleFreeAdamW([new MupGroup("other", [("w", p2)], 1, 1)], 0.05, warmupSteps: 2, weightDecay: 0.1);
        for (int i = 0; i < 3; i++) { Backward(p1); o1.Step(); }
        using (no_grad()) p2.copy_(p1);
        var state = o1.ExportState();
        o2.ImportState(state);
        foreach (var t in state.Tensors.Values) t.Dispose();
        for (int i = 0; i < 3; i++)
        {
            Backward(p1); o1.Step();
            Backward(p2); o2.Step();
        }
        Assert.Equal(p1.data<float>().ToArray(), p2.data<float>().ToArray());
    }
}
