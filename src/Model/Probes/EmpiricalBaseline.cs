namespace ActorLab.Model.Probes;

/// <summary>
/// The probe's floor to beat: predict every eval label from the train label distribution alone, ignoring
/// the hidden state. p(c) = (count_train(c) + alpha) / (n_train + alpha C) over the C classes of the label
/// space (add-alpha smoothing with alpha = 1 by default, so a label never seen in training costs a finite
/// log(n_train + C) nats instead of infinity). Returns mean cross-entropy (nats) and the accuracy of always
/// guessing the most frequent train class (ties to the smaller class id).
/// </summary>
public static class EmpiricalBaseline
{
    public const double DefaultSmoothing = 1.0;

    public static ProbeScore Score(IReadOnlyList<long> trainClasses, IReadOnlyList<long> evalClasses, int numClasses,
        double smoothing = DefaultSmoothing)
    {
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses));
        if (trainClasses.Count == 0) throw new ArgumentException("no training labels");
        if (evalClasses.Count == 0) throw new ArgumentException("no eval labels");
        if (!(smoothing > 0)) throw new ArgumentOutOfRangeException(nameof(smoothing), smoothing, "smoothing must be > 0");
        var counts = new double[numClasses];
        foreach (var c in trainClasses) counts[CheckClass(c, numClasses)]++;
        var denom = trainClasses.Count + smoothing * numClasses;
        var mode = Array.IndexOf(counts, counts.Max());
        double nll = 0; int hits = 0;
        foreach (var c in evalClasses)
        {
            var k = CheckClass(c, numClasses);
            nll -= Math.Log((counts[k] + smoothing) / denom);
            if (k == mode) hits++;
        }
        return new ProbeScore(nll / evalClasses.Count, (double)hits / evalClasses.Count, evalClasses.Count);
    }

    static int CheckClass(long c, int numClasses) =>
        c >= 0 && c < numClasses ? (int)c : throw new ArgumentException($"class {c} outside [0, {numClasses})");
}
