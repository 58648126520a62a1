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
            var lrK = lr * lrScale * Math.Min(1.0, (k + 1.0) / warmup) * Math.Sqrt(1 - Math.Pow(beta2, k + 1));
            lrMax = Math.Max(lrMax, lrK);
            weightSum += lrMax * lrMax;
            var c = lrMax * lrMax / weightSum;
            for (int i = 0; i < 3; i++)
            {
                var g = A[i] * (y[i] - B[i]);
                v[i] = beta2 * v[i] + (1 - beta2) * g * g;
                var u = g / (Math.Sqrt(v[i]) + eps) + wd * wdScale * y[i];
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

    [Fact]
    public void ScheduleFreeFirstStepByHand()
    {
        // Step 0, warmup 1, wd 0: lr_0 = 0.1 sqrt(1-0.999); c = 1 (x = z); v = 0.001 g^2 so g / sqrt(v) = sign(g) / sqrt(0.001).
        // u = sign(g)/sqrt(0.001) => z = y0 - 0.1 sqrt(0.001) sign(g)/sqrt(0.001) = y0 - 0.1 sign(g); y = z (c = 1, beta-mix of equal points).
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
