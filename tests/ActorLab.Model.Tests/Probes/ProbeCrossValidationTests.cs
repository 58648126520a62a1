using ActorLab.Model.Probes;
using static TorchSharp.torch;

namespace ActorLab.Model.Tests.Probes;

public class ProbeCrossValidationTests
{
    public ProbeCrossValidationTests() => TorchSharp.torch.set_num_threads(1);

    [Fact]
    public void DefaultGridIsZeroPlusLogspace()
    {
        var p = ProbeCrossValidation.DefaultPenalties;
        Assert.Equal(5, p.Count);
        Assert.Equal(0, p[0]);
        double[] numpyLogspace = [1e-8, 2.1544346900318823e-07, 4.641588833612773e-06, 1e-4];
        for (int i = 0; i < 4; i++) Assert.Equal(numpyLogspace[i], p[i + 1], 1e-12 * numpyLogspace[i] * 1e6);
    }

    [Fact]
    public void FoldsAreBalancedDisjointAndSeeded()
    {
        var a = ProbeCrossValidation.FoldAssignment(100, 3, seed: 1);
        Assert.Equal(a, ProbeCrossValidation.FoldAssignment(100, 3, seed: 1));
        Assert.NotEqual(a, ProbeCrossValidation.FoldAssignment(100, 3, seed: 2));
        var sizes = a.GroupBy(f => f).OrderBy(g => g.Key).Select(g => g.Count()).ToArray();
        Assert.Equal(new[] { 34, 33, 33 }, sizes);
        // Not simply i % 3: the shuffle mixes neighbours.
        Assert.NotEqual(Enumerable.Range(0, 100).Select(i => i % 3).ToArray(), a);
    }

    [Fact]
    public void GroupFoldsKeepEveryGroupInOneFold()
    {
        var rng = new Random(3);
        var groups = Enumerable.Range(0, 200).Select(_ => rng.Next(17)).ToArray();
        var fold = ProbeCrossValidation.GroupFoldAssignment(groups, 3, seed: 1);
        foreach (var g in groups.Distinct())
            Assert.Single(Enumerable.Range(0, 200).Where(i => groups[i] == g).Select(i => fold[i]).Distinct());
        Assert.Equal(3, fold.Distinct().Count());
        Assert.Equal(fold, ProbeCrossValidation.GroupFoldAssignment(groups, 3, seed: 1));
        Assert.Throws<ArgumentException>(() => ProbeCrossValidation.GroupFoldAssignment([1, 1, 2], 3, 0));
    }

    [Fact]
    public void HeavyPenaltyWinsWithFewSamplesAndManyNoisyDims()
    {
        // 45 samples, 150 dims of which 1 carries signal: unpenalised logistic regression separates the
        // training folds with noise and predicts held-out folds with wild confidence.
        var (x, y) = SyntheticProbeData.Logistic(n: 45, dim: 150, signalDims: 1, scale: 1.5, seed: 11);
        var cv = ProbeCrossValidation.Fit(x, y, 2, seed: 3);
        AssertChoiceMatchesIndependentFoldLosses(x, y, 2, 3, ProbeCrossValidation.DefaultPenalties, cv);
        Assert.Equal(1e-4, cv.Penalty);
        var zero = cv.Scores.Single(s => s.Penalty == 0).MeanLoss;
        var best = cv.Scores.Single(s => s.Penalty == 1e-4).MeanLoss;
        Assert.True(best < 0.7 * zero, $"1e-4 fold loss {best} vs unpenalised {zero}");
    }

    [Fact]
    public void ZeroPenaltyWinsWhenDataIsPlentifulAndTheSignalStrong()
    {
        // 900 samples, 3 dims, steep true logistic model: shrinkage of the size in this grid biases the
        // probabilities towards 1/2 more than it saves in variance.
        var (x, y) = SyntheticProbeData.Logistic(n: 900, dim: 3, signalDims: 3, scale: 4, seed: 12);
        double[] grid = [0, 1e-2, 1e-1, 1];
        var cv = ProbeCrossValidation.Fit(x, y, 2, seed: 4, penalties: grid);
        AssertChoiceMatchesIndependentFoldLosses(x, y, 2, 4, grid, cv);
        Assert.Equal(0, cv.Penalty);
        Assert.True(cv.Scores[0].MeanLoss < cv.Scores[^1].MeanLoss - 0.02);
        // The refit uses all data at the chosen penalty.
        Assert.Equal(0, cv.Probe.Penalty);
    }

    [Fact]
    public void SameSeedSameChoiceAndWeights()
    {
        var (x, y) = SyntheticProbeData.Logistic(60, 40, 2, 1, seed: 13);
        var a = ProbeCrossValidation.Fit(x, y, 2, seed: 5);
        var b = ProbeCrossValidation.Fit(x, y, 2, seed: 5);
        Assert.Equal(a.Penalty, b.Penalty);
        Assert.Equal(a.Scores.Select(s => s.MeanLoss), b.Scores.Select(s => s.MeanLoss));
        Assert.Equal(a.Probe.Weight.data<double>().ToArray(), b.Probe.Weight.data<double>().ToArray());
    }

    [Fact]
    public void RejectsBadInputs()
    {
        var (x, y) = SyntheticProbeData.Blobs(10, 3, 2, 2, seed: 14);
        Assert.Throws<ArgumentException>(() => ProbeCrossValidation.Fit(x, y, 2, 0, penalties: []));
        Assert.Throws<ArgumentOutOfRangeException>(() => ProbeCrossValidation.Fit(x, y, 2, 0, penalties: [0, -1e-3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ProbeCrossValidation.Fit(x, y, 2, 0, folds: 1));
        Assert.Throws<ArgumentException>(() => ProbeCrossValidation.Fit(x[..2], y[..2], 2, 0));
    }

    /// <summary>
    /// Recomputes every fold loss with plain LinearProbe fits on the same folds and checks that the CV
    /// reported the same losses and chose their argmin.
    /// </summary>
    static void AssertChoiceMatchesIndependentFoldLosses(Tensor x, Tensor y, int classes, int seed,
        IReadOnlyList<double> grid, CrossValidatedProbe cv)
    {
        var fold = ProbeCrossValidation.FoldAssignment((int)x.shape[0], 3, seed);
        var means = new double[grid.Count];
        for (int j = 0; j < grid.Count; j++)
        {
            for (int k = 0; k < 3; k++)
            {
                using var tr = tensor(Enumerable.Range(0, fold.Length).Where(i => fold[i] != k).Select(i => (long)i).ToArray());
                using var te = tensor(Enumerable.Range(0, fold.Length).Where(i => fold[i] == k).Select(i => (long)i).ToArray());
                using var p = LinearProbe.Fit(x.index_select(0, tr), y.index_select(0, tr), classes, grid[j]);
                var loss = p.Evaluate(x.index_select(0, te), y.index_select(0, te)).Loss;
                Assert.Equal(loss, cv.Scores[j].FoldLosses[k], 9);
                means[j] += loss / 3;
            }
        }
        var argmin = Array.IndexOf(means, means.Min());
        Assert.Equal(grid[argmin], cv.Penalty);
    }
}
