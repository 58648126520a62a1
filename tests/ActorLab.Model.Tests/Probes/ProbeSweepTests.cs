using ActorLab.Model.Common;
using ActorLab.Model.Probes;
using static TorchSharp.torch;

namespace ActorLab.Model.Tests.Probes;

public class ProbeSweepTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("probe-sweep-").FullName;
    public ProbeSweepTests() => TorchSharp.torch.set_num_threads(1);
    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>
    /// 2 layers x (name, attribute): the answer is readable only at layer 1 of "attribute"; everything else is
    /// noise. first-hop is readable at layer 1 of "name".
    /// </summary>
    internal static ActivationSet Synthetic(int n = 240, int d = 8, int hops = 2)
    {
        var rng = new Random(5);
        long[] answerTok = [40, 41, 42, 43];
        long[] hopTok = [7, 9];
        var answer = Enumerable.Range(0, n).Select(_ => rng.Next(4)).ToArray();
        var hop = Enumerable.Range(0, n).Select(_ => rng.Next(2)).ToArray();
        Tensor Noise() => randn(n, d, generator: new TorchSharp.torch.Generator((ulong)(17 + rng.Next(1000))));
        Tensor Encoding(int[] cls)
        {
            var t = Noise();
            for (int i = 0; i < n; i++) t[i, cls[i]] += 6f;
            return t;
        }
        var states = new Dictionary<(int Layer, string Position), Tensor>
        {
            [(0, "name")] = Noise(), [(0, "attribute")] = Noise(), [(0, "relation")] = Noise(),
            [(1, "name")] = Encoding(hop), [(1, "attribute")] = Encoding(answer), [(1, "relation")] = Noise(),
        };
        var targets = new Dictionary<string, long[]>
        {
            ["answer"] = answer.Select(a => answerTok[a]).ToArray(),
        };
        if (hops == 2) targets["first-hop"] = hop.Select(h => hopTok[h]).ToArray();
        else { states.Remove((0, "relation")); states.Remove((1, "relation")); }
        var loss = Enumerable.Range(0, n).Select(i => 0.1 + 0.001 * i).ToArray();
        var isEval = Enumerable.Range(0, n).Select(i => i % 4 == 0).ToArray();
        return new ActivationSet(hops, 2, states, targets, loss, isEval);
    }

    [Fact]
    public void SweepFindsWhereEachTargetIsReadable()
    {
        using var set = Synthetic();
        Assert.Equal(["name", "relation", "attribute", "all"], set.Positions);
        var jobs = ProbeSweep.Plan(set, [0, 1], ["name", "attribute", "all"], ["answer", "first-hop"]);
        Assert.Equal(12, jobs.Count);
        var opts = new ProbeSweepOptions { Seed = 3 };
        var results = jobs.Select(j => ProbeSweep.Run(set, j, opts, dir)).ToList();
        ProbeResult R(int l, string p, string t) => results.Single(r => r.Layer == l && r.Position == p && r.Target == t);

        Assert.True(R(1, "attribute", "answer").RelativeLoss < 0.3, $"{R(1, "attribute", "answer")}");
        Assert.True(R(0, "attribute", "answer").RelativeLoss > 0.9, $"{R(0, "attribute", "answer")}");
        Assert.True(R(1, "name", "answer").RelativeLoss > 0.9);
        Assert.True(R(1, "name", "first-hop").RelativeLoss < 0.3);
        Assert.True(R(1, "all", "answer").RelativeLoss < 0.4); // "all" includes the attribute state
        Assert.Equal(180, R(1, "all", "answer").NTrain);
        Assert.Equal(60, R(1, "all", "answer").NEval);
        // Model loss is the eval-split mean, and only defined for the answer target.
        var expected = Enumerable.Range(0, 240).Where(i => i % 4 == 0).Average(i => 0.1 + 0.001 * i);
        Assert.Equal(expected, R(0, "name", "answer").ModelLoss, 12);
        Assert.True(double.IsNaN(R(0, "name", "first-hop").ModelLoss));
        Assert.True(File.Exists(Path.Combine(dir, "weights", "L1_all_answer.safetensors")));
        var (probe, ids, meta) = ProbeTrainer.LoadWeights(Path.Combine(dir, "weights", "L1_all_answer.safetensors"));
        Assert.Equal(3 * 8, probe.Dim); // name + relation + attribute
        Assert.Equal(new long[] { 40, 41, 42, 43 }, ids);
        Assert.Equal("all", meta["position"]);

        var files = ProbeSweep.WriteReport(dir, results, "synthetic");
        Assert.Equal(3, files.Count);
        var back = ProbeResults.Read(Path.Combine(dir, "probes.csv"));
        Assert.Equal(12, back.Count);
        Assert.Equal(("answer", 0, "name"), (back[0].Target, back[0].Layer, back[0].Position));
    }

    [Fact]
    public void PersonSplitKeepsEachPersonOnOneSide()
    {
        var rng = new Random(2);
        var qs = Enumerable.Range(0, 500).Select(_ => ActorLab.Model.Qa.Question.OneHop(rng.Next(60), rng.Next(5))).ToList();
        var spec = new CaptureSpec { Hops = 1, EvalFraction = 0.2, Seed = 4 };
        var isEval = ActivationCapture.SplitEval(qs, spec);
        var evalPeople = qs.Where((q, i) => isEval[i]).Select(q => q.Profile).ToHashSet();
        var trainPeople = qs.Where((q, i) => !isEval[i]).Select(q => q.Profile).ToHashSet();
        Assert.Empty(evalPeople.Intersect(trainPeople));
        Assert.InRange(isEval.Count(e => e), 100, 100 + 20); // whole people until a fifth is reached
        var byQuestion = ActivationCapture.SplitEval(qs, spec with { Split = ProbeSplit.Question });
        Assert.Equal(100, byQuestion.Count(e => e));
        Assert.Throws<ActorLab.Model.Common.UserInputException>(() =>
            ActivationCapture.SplitEval([ActorLab.Model.Qa.Question.OneHop(1, 0), ActorLab.Model.Qa.Question.OneHop(1, 1)], spec));
    }

    [Fact]
    public void PlanRejectsWhatTheSetCannotAnswer()
    {
        using var set = Synthetic(hops: 1);
        Assert.Equal(["name", "attribute", "all"], set.Positions);
        var e = Assert.Throws<UserInputException>(() => ProbeSweep.Plan(set, [2], ["name"], ["answer"]));
        Assert.Contains("layer 2 is out of range", e.Message);
        Assert.Throws<UserInputException>(() => ProbeSweep.Plan(set, [-1], ["name"], ["answer"]));
        e = Assert.Throws<UserInputException>(() => ProbeSweep.Plan(set, [0], ["relation"], ["answer"]));
        Assert.Contains("relation", e.Message);
        e = Assert.Throws<UserInputException>(() => ProbeSweep.Plan(set, [0], ["name"], ["first-hop"]));
        Assert.Contains("first-hop", e.Message);
        Assert.Throws<UserInputException>(() => ProbeSweep.Plan(set, [], ["name"], ["answer"]));
    }
}
