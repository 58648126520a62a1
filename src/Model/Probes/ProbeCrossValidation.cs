using static TorchSharp.torch;

namespace ActorLab.Model.Probes;

/// <summary>Mean held-out-fold cross-entropy of one penalty, with the per-fold values.</summary>
public sealed record PenaltyScore(double Penalty, IReadOnlyList<double> FoldLosses)
{
    public double MeanLoss => FoldLosses.Average();
}

/// <summary>What cross-validation chose, the evidence for it, and the probe refitted on all data.</summary>
public sealed record CrossValidatedProbe(double Penalty, IReadOnlyList<PenaltyScore> Scores, LinearProbe Probe);

/// <summary>
/// Chooses the L2 penalty of a <see cref="LinearProbe"/> by k-fold cross-validation (SPEC 6: 3 folds over
/// {0} + logspace(-8, -4, 4)): for each penalty, fit on k-1 folds and score cross-entropy on the held-out
/// fold; pick the penalty with the lowest mean fold loss (ties go to the earlier, smaller penalty), then refit
/// on all the training data. Folds are a seeded shuffle dealt round-robin (of samples, or of whole groups when
/// groups are given), so they are the same for every penalty and every run with the same seed.
/// </summary>
public static class ProbeCrossValidation
{
    /// <summary>{0} + numpy.logspace(-8, -4, 4) = 0, 1e-8, 2.15e-7, 4.64e-6, 1e-4.</summary>
    public static IReadOnlyList<double> DefaultPenalties { get; } =
        [0.0, .. Enumerable.Range(0, 4).Select(i => Math.Pow(10, -8 + 4.0 * i / 3))];

    public const int DefaultFolds = 3;

    /// <summary>Fold index (0..folds-1) of each of n samples.</summary>
    public static int[] FoldAssignment(int n, int folds, int seed)
    {
        if (folds < 2) throw new ArgumentOutOfRangeException(nameof(folds), folds, "need at least 2 folds");
        if (n < folds) throw new ArgumentException($"{n} samples cannot be split into {folds} folds");
        var perm = Enumerable.Range(0, n).ToArray();
        new Random(seed).Shuffle(perm);
        var fold = new int[n];
        for (int i = 0; i < n; i++) fold[perm[i]] = i % folds;
        return fold;
    }

    /// <summary>
    /// Fold of each sample when samples come in groups (the person a question is about): whole groups, in a seeded
    /// shuffle, dealt round-robin, so a fold's held-out samples never share a group with its training samples.
    /// </summary>
    public static int[] GroupFoldAssignment(IReadOnlyList<int> groups, int folds, int seed)
    {
        if (folds < 2) throw new ArgumentOutOfRangeException(nameof(folds), folds, "need at least 2 folds");
        var distinct = groups.Distinct().Order().ToArray();
        if (distinct.Length < folds) throw new ArgumentException($"{distinct.Length} groups cannot be split into {folds} folds");
        new Random(seed).Shuffle(distinct);
        var foldOf = new Dictionary<int, int>();
        for (int i = 0; i < distinct.Length; i++) foldOf[distinct[i]] = i % folds;
        return groups.Select(g => foldOf[g]).ToArray();
    }

    public static CrossValidatedProbe Fit(Tensor x, Tensor y, int numClasses, int seed,
        IReadOnlyList<double>? penalties = null, int folds = DefaultFolds, ProbeFitOptions? options = null,
        IReadOnlyList<int>? groups = null)
    {
        penalties ??= DefaultPenalties;
        if (penalties.Count == 0) throw new ArgumentException("no penalties to choose from");
        foreach (var p in penalties)
            if (!(p >= 0) || double.IsInfinity(p)) throw new ArgumentOutOfRangeException(nameof(penalties), p, "penalties must be finite and >= 0");
        LinearProbe.Validate(x, y, numClasses);
        var n = (int)x.shape[0];
        if (groups != null && groups.Count != n) throw new ArgumentException($"{groups.Count} groups for {n} samples");
        var fold = groups is null ? FoldAssignment(n, folds, seed) : GroupFoldAssignment(groups, folds, seed);

        var losses = penalties.Select(_ => new double[folds]).ToArray();
        for (int k = 0; k < folds; k++)
        {
            using var scope = NewDisposeScope();
            var trainIdx = tensor(Enumerable.Range(0, n).Where(i => fold[i] != k).Select(i => (long)i).ToArray(), device: x.device);
            var testIdx = tensor(Enumerable.Range(0, n).Where(i => fold[i] == k).Select(i => (long)i).ToArray(), device: x.device);
            var xTrain = x.index_select(0, trainIdx);
            var yTrain = y.index_select(0, trainIdx.to(y.device));
            var xTest = x.index_select(0, testIdx);
            var yTest = y.index_select(0, testIdx.to(y.device));
            for (int j = 0; j < penalties.Count; j++)
            {
                using var probe = LinearProbe.Fit(xTrain, yTrain, numClasses, penalties[j], options);
                losses[j][k] = probe.Evaluate(xTest, yTest).Loss;
            }
        }

        var scores = penalties.Select((p, j) => new PenaltyScore(p, losses[j])).ToList();
        var best = 0;
        for (int j = 1; j < scores.Count; j++)
            if (scores[j].MeanLoss < scores[best].MeanLoss) best = j;
        var chosen = penalties[best];
        return new CrossValidatedProbe(chosen, scores, LinearProbe.Fit(x, y, numClasses, chosen, options));
    }
}
