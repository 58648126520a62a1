using ActorLab.Model.Probes;
using static TorchSharp.torch;

namespace ActorLab.Model.Tests.Probes;

public class LinearProbeTests
{
    public LinearProbeTests() => TorchSharp.torch.set_num_threads(1);

    [Fact]
    public void LearnsALinearlySeparableTask()
    {
        var (x, y) = SyntheticProbeData.Blobs(n: 300, dim: 6, numClasses: 3, separation: 8, seed: 1);
        var (xe, ye) = SyntheticProbeData.Blobs(n: 300, dim: 6, numClasses: 3, separation: 8, seed: 2);
        using var probe = LinearProbe.Fit(x, y, 3, penalty: 1e-4);
        var score = probe.Evaluate(xe, ye);
        Assert.True(score.Accuracy > 0.98, $"accuracy {score.Accuracy}");
        // Chance is ln 3 = 1.10 nats; a separable task should be far below.
        Assert.True(score.Loss < 0.1, $"loss {score.Loss}");
        Assert.Equal(300, score.N);
    }

    [Fact]
    public void UnlearnableLabelsStayNearTheirEntropy()
    {
        // Labels independent of x: the best a probe can do on fresh data is about ln 2.
        var (x, _) = SyntheticProbeData.Blobs(600, 4, 2, 0, seed: 3);
        var rng = new Random(4);
        using var y = tensor(Enumerable.Range(0, 600).Select(_ => (long)rng.Next(2)).ToArray());
        var (xe, _) = SyntheticProbeData.Blobs(600, 4, 2, 0, seed: 5);
        using var ye = tensor(Enumerable.Range(0, 600).Select(_ => (long)rng.Next(2)).ToArray());
        using var probe = LinearProbe.Fit(x, y, 2, penalty: 0);
        var score = probe.Evaluate(xe, ye);
        Assert.InRange(score.Loss, Math.Log(2) - 0.03, Math.Log(2) + 0.05);
    }

    [Fact]
    public void FitIsDeterministic()
    {
        var (x, y) = SyntheticProbeData.Blobs(120, 5, 4, 2, seed: 6);
        using var a = LinearProbe.Fit(x, y, 4, 1e-3);
        using var b = LinearProbe.Fit(x, y, 4, 1e-3);
        Assert.Equal(a.Weight.data<double>().ToArray(), b.Weight.data<double>().ToArray());
        Assert.Equal(a.TrainObjective, b.TrainObjective);
    }

    [Fact]
    public void PenaltyShrinksWeights()
    {
        var (x, y) = SyntheticProbeData.Logistic(400, 5, 2, 2, seed: 7);
        using var free = LinearProbe.Fit(x, y, 2, 0);
        using var tight = LinearProbe.Fit(x, y, 2, 0.1);
        var nFree = free.Weight.norm().item<double>();
        var nTight = tight.Weight.norm().item<double>();
        Assert.True(nTight < 0.5 * nFree, $"|W| penalised {nTight} vs free {nFree}");
    }

    [Fact]
    public void PenaltyActsOnRawFeaturesUnlessStandardized()
    {
        // Hidden states at a small scale (like embeddings, std 0.02): raw-feature weights must be ~50x larger,
        // so the same penalty shrinks them far harder than it shrinks weights on standardised features.
        var (x, y) = SyntheticProbeData.Logistic(400, 4, 2, 2, seed: 9);
        using var small = x * 0.02f;
        using var raw = LinearProbe.Fit(small, y, 2, 1e-2);
        using var std = LinearProbe.Fit(small, y, 2, 1e-2, ProbeFitOptions.Default with { Standardize = true });
        Assert.Equal(Enumerable.Repeat(1.0, 4), raw.FeatureStd.data<double>().ToArray());
        Assert.All(std.FeatureStd.data<double>().ToArray(), s => Assert.InRange(s, 0.015, 0.025));
        var lossRaw = raw.Evaluate(small, y).Loss;
        var lossStd = std.Evaluate(small, y).Loss;
        Assert.True(lossRaw > lossStd + 0.1, $"raw {lossRaw} vs standardised {lossStd}");
    }

    [Fact]
    public void RejectsBadInputs()
    {
        var (x, y) = SyntheticProbeData.Blobs(30, 4, 3, 3, seed: 8);
        Assert.Throws<ArgumentException>(() => LinearProbe.Fit(x.reshape(30, 2, 2), y, 3, 0));
        Assert.Throws<ArgumentException>(() => LinearProbe.Fit(x, y[..20], 3, 0));
        Assert.Throws<ArgumentException>(() => LinearProbe.Fit(x, y, 2, 0)); // label 2 out of range
        using var neg = y - 1;
        Assert.Throws<ArgumentException>(() => LinearProbe.Fit(x, neg, 3, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => LinearProbe.Fit(x, y, 3, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => LinearProbe.Fit(x, y, 3, double.NaN));
        using var withNan = x.clone();
        withNan[0, 0] = tensor(float.NaN);
        Assert.Throws<ArgumentException>(() => LinearProbe.Fit(withNan, y, 3, 0));
        using var empty = zeros(0, 4);
        using var emptyY = zeros(0, dtype: int64);
        Assert.Throws<ArgumentException>(() => LinearProbe.Fit(empty, emptyY, 3, 0));
        using var probe = LinearProbe.Fit(x, y, 3, 0);
        using var wrongDim = zeros(5, 3);
        using var five = zeros(5, dtype: int64);
        Assert.Throws<ArgumentException>(() => probe.Evaluate(wrongDim, five));
    }
}
