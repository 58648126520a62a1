using System.Globalization;
using ActorLab.Model.Common;
using static TorchSharp.torch;

namespace ActorLab.Model.Probes;

/// <summary>One probe to fit: read <see cref="Position"/> at <see cref="Layer"/>, predict <see cref="Target"/>.</summary>
public sealed record ProbeJob(int Layer, string Position, string Target)
{
    /// <summary>File-name-safe id, e.g. "L3_attribute_answer".</summary>
    public string Key => $"L{Layer}_{Position}_{Target}";
}

/// <summary>Settings shared by every job of a sweep.</summary>
public sealed record ProbeSweepOptions
{
    /// <summary>Seed of the cross-validation folds (the same folds for every job, so jobs compare like with like).</summary>
    public int Seed { get; init; }
    public ProbeFitOptions Fit { get; init; } = ProbeFitOptions.Default;
    public IReadOnlyList<double>? Penalties { get; init; }
}

/// <summary>
/// Plans the jobs of a probe sweep over an <see cref="ActivationSet"/> and runs one job. Jobs are independent,
/// so any executor (a loop, probe actors on several slots) can run them in any order.
/// </summary>
public static class ProbeSweep
{
    public const string ResultsFile = "probes.csv";
    public const string WeightsFolder = "weights";

    /// <summary>Every (layer, position, target) requested, checked against what the set holds.</summary>
    public static IReadOnlyList<ProbeJob> Plan(ActivationSet set, IEnumerable<int> layers, IEnumerable<string> positions, IEnumerable<string> targets)
    {
        var ls = layers.Distinct().Order().ToList();
        var ps = positions.Distinct().ToList();
        var ts = targets.Distinct().ToList();
        if (ls.Count == 0 || ps.Count == 0 || ts.Count == 0) throw new UserInputException("a probe sweep needs at least one layer, position and target");
        foreach (var l in ls)
            if (l < 0 || l >= set.LayerCount)
                throw new UserInputException($"layer {l} is out of range: this model has layers 0 (embeddings) to {set.LayerCount - 1}");
        foreach (var p in ps)
            if (!set.Positions.Contains(p))
                throw new UserInputException($"position '{p}' is not available for {set.Hops}-hop questions (available: {string.Join(", ", set.Positions)})");
        foreach (var t in ts)
            if (!set.Targets.ContainsKey(t))
                throw new UserInputException($"target '{t}' is not available for {set.Hops}-hop questions (available: {string.Join(", ", set.Targets.Keys)})");
        return (from t in ts from l in ls from p in ps select new ProbeJob(l, p, t)).ToList();
    }

    /// <summary>
    /// Fits one probe (penalty by CV on the train split), scores it on the eval split beside the baseline and the
    /// model's own loss on the set's <see cref="ActivationSet.ModelLossTarget"/> (the answer: the model never predicts
    /// the first hop's token in a plain answer, though reference probes report it as the reference does),
    /// and saves its weights under <paramref name="outDir"/>/weights/ when given.
    /// </summary>
    public static ProbeResult Run(ActivationSet set, ProbeJob job, ProbeSweepOptions options, string? outDir)
    {
        using var scope = NewDisposeScope();
        var features = set.Features(job.Layer, job.Position);
        var labels = set.Targets[job.Target];
        var trainIdx = Enumerable.Range(0, set.Count).Where(i => !set.IsEval[i]).ToArray();
        var evalIdx = Enumerable.Range(0, set.Count).Where(i => set.IsEval[i]).ToArray();
        var train = new ProbeSamples(features.index_select(0, tensor(trainIdx.Select(i => (long)i).ToArray())), trainIdx.Select(i => labels[i]).ToArray(),
            set.Groups is { } g ? trainIdx.Select(i => g[i]).ToArray() : null);
        var eval = new ProbeSamples(features.index_select(0, tensor(evalIdx.Select(i => (long)i).ToArray())), evalIdx.Select(i => labels[i]).ToArray());
        var outcome = ProbeTrainer.Train(train, eval, options.Seed, options.Fit, options.Penalties);
        using var probe = outcome.Fit.Probe;
        var modelLoss = job.Target == set.ModelLossTarget ? evalIdx.Average(i => set.ModelAnswerLoss[i]) : double.NaN;
        var result = new ProbeResult(job.Layer, job.Position, job.Target, set.Hops, train.Count, eval.Count, outcome.Fit.Penalty,
            outcome.Eval.Loss, outcome.Eval.Accuracy, outcome.Baseline.Loss, modelLoss);
        if (outDir != null)
        {
            var dir = Path.Combine(outDir, WeightsFolder);
            Directory.CreateDirectory(dir);
            var meta = new Dictionary<string, string>(set.Description)
            {
                ["layer"] = job.Layer.ToString(CultureInfo.InvariantCulture),
                ["position"] = job.Position,
                ["target"] = job.Target,
                ["hops"] = set.Hops.ToString(CultureInfo.InvariantCulture),
                ["cv_mean_losses"] = string.Join(";", outcome.Fit.Scores.Select(s =>
                    $"{s.Penalty.ToString("R", CultureInfo.InvariantCulture)}={s.MeanLoss.ToString("R", CultureInfo.InvariantCulture)}")),
            };
            ProbeTrainer.SaveWeights(Path.Combine(dir, job.Key + ".safetensors"), outcome, meta);
        }
        return result;
    }

    /// <summary>Writes probes.csv (rows sorted by target, layer, position) and one heatmap PNG per target.</summary>
    public static IReadOnlyList<string> WriteReport(string outDir, IEnumerable<ProbeResult> results, string title)
    {
        Directory.CreateDirectory(outDir);
        string[] order = [.. ProbePositions.Known];
        var rows = results.OrderBy(r => r.Target).ThenBy(r => r.Layer)
            .ThenBy(r => Array.IndexOf(order, r.Position) is var i && i < 0 ? int.MaxValue : i).ThenBy(r => r.Position).ToList();
        var written = new List<string> { Path.Combine(outDir, ResultsFile) };
        ProbeResults.Write(written[0], rows);
        var spread = ProbeHeatmap.Spread(rows); // one colour scale for every target
        foreach (var target in rows.Select(r => r.Target).Distinct())
        {
            var png = Path.Combine(outDir, $"heatmap_{target}.png");
            ProbeHeatmap.Write(png, rows, target, $"{title}: {target}", spread);
            written.Add(png);
        }
        return written;
    }
}
