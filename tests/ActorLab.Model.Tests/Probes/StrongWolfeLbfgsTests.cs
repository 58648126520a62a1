using ActorLab.Model.Probes;
using static TorchSharp.torch;

namespace ActorLab.Model.Tests.Probes;

public class StrongWolfeLbfgsTests
{
    public StrongWolfeLbfgsTests() => TorchSharp.torch.set_num_threads(1);

    [Fact]
    public void FindsTheMinimumOfRosenbrock()
    {
        // A curved valley a fixed-step L-BFGS overshoots; the line search must walk it to (1, 1).
        static (double, double[]) Rosenbrock(double[] p)
        {
            double x = p[0], y = p[1];
            return ((1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x),
                [-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)]);
        }
        var r = StrongWolfeLbfgs.Minimize(Rosenbrock, [-1.2, 1], new LbfgsSettings { MaxIterations = 200 });
        Assert.InRange(r.X[0], 1 - 1e-4, 1 + 1e-4);
        Assert.InRange(r.X[1], 1 - 1e-4, 1 + 1e-4);
        Assert.True(r.Value < 1e-8, $"value {r.Value}");
        Assert.True(r.Iterations < 200, $"{r.Iterations} iterations");
    }

    [Fact]
    public void StopsAtOnceWhereTheGradientIsZero()
    {
        var r = StrongWolfeLbfgs.Minimize(p => (p[0] * p[0], [2 * p[0]]), [0.0], new LbfgsSettings());
        Assert.Equal(0, r.Iterations);
        Assert.Equal(1, r.Evaluations);
    }

    [Fact]
    public void CubicStepIsTheMinimumOfAQuadraticSeenFromTwoPoints()
    {
        // f = (t - 2)^2 from t = 0 (f 4, f' -4) and t = 3 (f 1, f' 2): the cubic is the parabola itself.
        Assert.Equal(2, StrongWolfeLbfgs.Cubic(0, 4, -4, 3, 1, 2, 0, 3), 12);
        Assert.Equal(2.5, StrongWolfeLbfgs.Cubic(0, 4, -4, 3, 1, 2, 2.5, 3), 12); // clamped to the bounds
    }

    [Fact]
    public void TinyProbeLearnsALinearlySeparableTarget()
    {
        var (x, y) = SyntheticProbeData.Blobs(n: 300, dim: 6, numClasses: 3, separation: 8, seed: 1);
        var (xe, ye) = SyntheticProbeData.Blobs(n: 300, dim: 6, numClasses: 3, separation: 8, seed: 2);
        using var probe = LinearProbe.Fit(x, y, 3, penalty: 1e-4, ProbeFitOptions.Reference);
        var score = probe.Evaluate(xe, ye);
        Assert.True(score.Accuracy > 0.98, $"accuracy {score.Accuracy}");
        Assert.True(score.Loss < 0.1, $"loss {score.Loss}"); // chance is ln 3 = 1.10 nats
        // At a minimum of the convex objective: no other fit gets lower.
        using var fixedStep = LinearProbe.Fit(x, y, 3, penalty: 1e-4, ProbeFitOptions.Default with { MaxIterations = 1000 });
        Assert.True(probe.TrainObjective <= fixedStep.TrainObjective + 1e-6, $"{probe.TrainObjective} vs {fixedStep.TrainObjective}");
    }

    [Fact]
    public void TheProbeTrainerWithReferenceFitsDecodesASeparableTargetFromTokenIds()
    {
        // Classes as sparse token ids, cross-validated penalty, eval beside the baseline: the whole probe job.
        var (x, y) = SyntheticProbeData.Blobs(n: 240, dim: 5, numClasses: 4, separation: 8, seed: 3);
        var (xe, ye) = SyntheticProbeData.Blobs(n: 60, dim: 5, numClasses: 4, separation: 8, seed: 4);
        long[] tokenOf = [17, 250, 3, 99];
        var train = new ProbeSamples(x, y.data<long>().ToArray().Select(c => tokenOf[c]).ToArray());
        var eval = new ProbeSamples(xe, ye.data<long>().ToArray().Select(c => tokenOf[c]).ToArray());
        var outcome = ProbeTrainer.Train(train, eval, seed: 0, ProbeFitOptions.Reference);
        using var probe = outcome.Fit.Probe;
        Assert.True(outcome.Eval.Accuracy > 0.98, $"accuracy {outcome.Eval.Accuracy}");
        Assert.True(outcome.Eval.Loss < 0.05 * outcome.Baseline.Loss, $"probe {outcome.Eval.Loss} vs baseline {outcome.Baseline.Loss}");
        Assert.Equal([3L, 17, 99, 250], outcome.Labels.TokenIds);
    }

    [Fact]
    public void ReferenceFitIsDeterministicAndMatchesTheCrossValidatedPath()
    {
        var (x, y) = SyntheticProbeData.Logistic(200, 4, 2, 2, seed: 7);
        using var a = LinearProbe.Fit(x, y, 2, 1e-3, ProbeFitOptions.Reference);
        using var b = LinearProbe.Fit(x, y, 2, 1e-3, ProbeFitOptions.Reference);
        Assert.Equal(a.Weight.data<double>().ToArray(), b.Weight.data<double>().ToArray());
        var cv = ProbeCrossValidation.Fit(x, y, 2, seed: 0, options: ProbeFitOptions.Reference);
        using var chosen = cv.Probe;
        Assert.True(double.IsFinite(chosen.TrainObjective));
        Assert.Equal(ProbeCrossValidation.DefaultPenalties.Count, cv.Scores.Count);
    }
}
