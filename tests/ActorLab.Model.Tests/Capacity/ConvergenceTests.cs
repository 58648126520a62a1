using ActorLab.Model.Capacity;
using ActorLab.Model.Qa;

namespace ActorLab.Model.Tests.Capacity;

public class ConvergenceTests
{
    [Fact]
    public void Gradient_matches_numpy_on_an_uneven_grid()
    {
        // numpy.gradient([0, 1, 9], [0, 1, 3]) == [1, 2, 4]: exact 2x inside for x^2, one-sided at the ends.
        var g = Convergence.Gradient([0.0, 1, 9], [0.0, 1, 3]);
        Assert.Equal([1.0, 2, 4], g, new ToleranceComparer(1e-12));
        // A line has its slope everywhere.
        var line = Convergence.Gradient([5.0, 4.5, 3.0, 2.0], [0.0, 1, 4, 6]);
        Assert.All(line, d => Assert.Equal(-0.5, d, 12));
    }

    static List<LossPoint> Curve(Func<double, double> loss, long from, long to, long every) =>
        Enumerable.Range(0, (int)((to - from) / every) + 1).Select(i => from + i * every).Select(s => new LossPoint(s, loss(s))).ToList();

    [Fact]
    public void Windows_use_only_the_last_50_points_after_step_1e6()
    {
        // 100 points from 1e5 to 1e7: 90 are after 1e6, the last 50 are kept: 36 windows of 15.
        var curve = Curve(s => 3 - 1e-7 * s, 100_000, 10_000_000, 100_000);
        var d = Convergence.SmoothedDerivatives(curve);
        Assert.Equal(36, d.Count);
        // The last 50 steps are 5.1e6..1e7; the first window's middle point is the 8th: 5.8e6.
        Assert.Equal(5_800_000, d[0].Step);
        Assert.Equal(9_300_000, d[^1].Step);
        Assert.All(d, p => Assert.Equal(-1e-7, p.Smoothed, 15));
        Assert.All(d, p => Assert.False(p.BelowThreshold));
    }

    [Fact]
    public void Rolling_mean_of_three_starts_with_fewer()
    {
        // 17 points -> 3 windows. A curve whose slope changes makes the window means differ.
        var curve = Curve(s => 1e-15 * (s - 1e6) * (s - 1e6), 1_100_000, 2_700_000, 100_000);
        var d = Convergence.SmoothedDerivatives(curve);
        Assert.Equal(3, d.Count);
        Assert.Equal(d[0].Smoothed, d[0].Rolling, 15);
        Assert.Equal((d[0].Smoothed + d[1].Smoothed) / 2, d[1].Rolling, 15);
        Assert.Equal((d[0].Smoothed + d[1].Smoothed + d[2].Smoothed) / 3, d[2].Rolling, 15);
        Assert.True(d[1].Smoothed > d[0].Smoothed);
    }

    [Fact]
    public void A_flattening_curve_converges_and_a_steady_decline_does_not()
    {
        // 0.5 + 2e5/s: slope -2e5/s^2 is -2.2e-8 at 3e6 and -5.6e-9 at 6e6.
        var flattening = Curve(s => 0.5 + 2e5 / s, 100_000, 6_000_000, 100_000);
        var declining = Curve(s => 4 - 1e-7 * s, 100_000, 6_000_000, 100_000);
        var converged = Convergence.Assess(
            new Dictionary<EvalMode, IReadOnlyList<LossPoint>> { [EvalMode.TrainOnehop] = flattening, [EvalMode.TrainTwohop] = flattening },
            [EvalMode.TrainOnehop, EvalMode.TrainTwohop]);
        Assert.True(converged.Converged);
        Assert.Null(converged.Reason);
        // First step where the rolling mean of |d| < 2e-8: slope 2e5/s^2 < 2e-8 needs s > 3.16e6.
        Assert.InRange(converged.FirstConvergedStep!.Value, 3_100_000, 3_600_000);

        var oneFlat = Convergence.Assess(
            new Dictionary<EvalMode, IReadOnlyList<LossPoint>> { [EvalMode.TrainOnehop] = flattening, [EvalMode.TrainTwohop] = declining },
            [EvalMode.TrainOnehop, EvalMode.TrainTwohop]);
        Assert.False(oneFlat.Converged);
        Assert.Contains("never below", oneFlat.Reason);
        Assert.All(oneFlat.Derivatives[EvalMode.TrainTwohop], p => Assert.Equal(-1e-7, p.Rolling, 14));
    }

    [Fact]
    public void Too_few_points_after_1e6_is_not_converged_with_a_reason()
    {
        var shortCurve = Curve(s => 1.0, 100_000, 2_000_000, 100_000); // 10 points after 1e6
        var r = Convergence.Assess(
            new Dictionary<EvalMode, IReadOnlyList<LossPoint>> { [EvalMode.TrainOnehop] = shortCurve },
            [EvalMode.TrainOnehop]);
        Assert.False(r.Converged);
        Assert.Contains("10 eval points", r.Reason);
        // A missing required mode is reported too.
        var missing = Convergence.Assess(
            new Dictionary<EvalMode, IReadOnlyList<LossPoint>> { [EvalMode.TrainOnehop] = Curve(_ => 1.0, 1_100_000, 5_000_000, 100_000) },
            [EvalMode.TrainOnehop, EvalMode.TrainTwohop]);
        Assert.False(missing.Converged);
        Assert.Contains("train_twohop has 0 eval points", missing.Reason);
    }
}
