using ActorLab.Model.Common;
using static TorchSharp.torch;

namespace ActorLab.Model.Probes;

/// <summary>Hidden states [n, d] at one (layer, position) and the token each should predict.</summary>
/// <summary>Hidden states [n, d], the token each should predict, and optionally the group (person) of each sample.</summary>
public sealed record ProbeSamples(Tensor Hidden, IReadOnlyList<long> TargetTokens, IReadOnlyList<int>? Groups = null)
{
    public int Count => TargetTokens.Count;
}

/// <summary>Everything one probe job produces, before it is tagged with its layer/position/target.</summary>
public sealed record ProbeOutcome(LabelSpace Labels, CrossValidatedProbe Fit, ProbeScore Eval, ProbeScore Baseline, int NTrain);

/// <summary>
/// One probe job: build the label space from the target tokens, choose the penalty by cross-validation on
/// the train split, refit, and score the probe and the empirical baseline on the eval split.
/// </summary>
public static class ProbeTrainer
{
    public static ProbeOutcome Train(ProbeSamples train, ProbeSamples eval, int seed,
        ProbeFitOptions? options = null, IReadOnlyList<double>? penalties = null)
    {
        if (train.Count == 0 || eval.Count == 0) throw new ArgumentException("probe needs train and eval samples");
        if (train.Hidden.shape[0] != train.Count || eval.Hidden.shape[0] != eval.Count)
            throw new ArgumentException("hidden states and target tokens disagree on the number of samples");
        var labels = new LabelSpace(train.TargetTokens.Concat(eval.TargetTokens));
        var yTrain = labels.Classes(train.TargetTokens);
        var yEval = labels.Classes(eval.TargetTokens);
        using var yt = tensor(yTrain);
        using var ye = tensor(yEval);
        var cv = ProbeCrossValidation.Fit(train.Hidden, yt, labels.Count, seed, penalties, options: options, groups: train.Groups);
        var score = cv.Probe.Evaluate(eval.Hidden, ye);
        var baseline = EmpiricalBaseline.Score(yTrain, yEval, labels.Count);
        return new ProbeOutcome(labels, cv, score, baseline, train.Count);
    }

    /// <summary>
    /// Saves a fitted probe as safetensors: weight [d, C], bias [C], feature_mean/std [d] (float64) and
    /// class_token_ids [C] (int64: column c predicts that token), plus string metadata (layer, position...).
    /// </summary>
    public static void SaveWeights(string path, ProbeOutcome outcome, IReadOnlyDictionary<string, string> metadata)
    {
        using var ids = tensor(outcome.Labels.TokenIds.ToArray());
        var meta = new Dictionary<string, string>(metadata)
        {
            ["penalty"] = outcome.Fit.Penalty.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            ["objective"] = "mean cross-entropy (nats) + penalty * ||weight||_F^2 on standardised features",
        };
        var p = outcome.Fit.Probe;
        SafeTensors.Write(path, new Dictionary<string, Tensor>
        {
            ["weight"] = p.Weight, ["bias"] = p.Bias, ["feature_mean"] = p.FeatureMean, ["feature_std"] = p.FeatureStd,
            ["class_token_ids"] = ids,
        }, meta);
    }

    /// <summary>Loads a probe saved by <see cref="SaveWeights"/> with its class token ids and metadata.</summary>
    public static (LinearProbe Probe, long[] ClassTokenIds, Dictionary<string, string> Metadata) LoadWeights(string path)
    {
        var (t, meta) = SafeTensors.Read(path);
        foreach (var k in new[] { "weight", "bias", "feature_mean", "feature_std", "class_token_ids" })
            if (!t.ContainsKey(k)) throw new UserInputException($"'{path}' is not a probe weights file (no '{k}' tensor).");
        var penalty = meta.TryGetValue("penalty", out var s) ? double.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : double.NaN;
        var probe = LinearProbe.FromTensors(t["weight"], t["bias"], t["feature_mean"], t["feature_std"], penalty);
        var ids = t["class_token_ids"].data<long>().ToArray();
        foreach (var x in t.Values) x.Dispose();
        return (probe, ids, meta);
    }
}
