using ActorLab.Model.Common;
using ActorLab.Model.Probes;
using static TorchSharp.torch;

namespace ActorLab.Model.Tests.Probes;

public class ProbeOutputTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("probe-out-").FullName;
    public ProbeOutputTests() => TorchSharp.torch.set_num_threads(1);
    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void LabelSpaceIsSortedAndCompact()
    {
        var ls = new LabelSpace([907, 12, 907, 450]);
        Assert.Equal(new long[] { 12, 450, 907 }, ls.TokenIds);
        Assert.Equal(new long[] { 2, 0, 1 }, ls.Classes([907, 12, 450]));
        Assert.Throws<KeyNotFoundException>(() => ls.ClassOf(13));
        Assert.Throws<ArgumentException>(() => new LabelSpace([]));
    }

    [Fact]
    public void BaselineIsSmoothedTrainFrequencyOnEvalLabels()
    {
        // Train: class 0 x3, class 1 x1; C = 3 (class 2 only in eval). alpha = 1: p = (4, 2, 1) / 7.
        var s = EmpiricalBaseline.Score([0, 0, 0, 1], [0, 1, 2], 3);
        var expected = -(Math.Log(4.0 / 7) + Math.Log(2.0 / 7) + Math.Log(1.0 / 7)) / 3;
        Assert.Equal(expected, s.Loss, 12);
        Assert.Equal(1.0 / 3, s.Accuracy, 12);
        Assert.Throws<ArgumentException>(() => EmpiricalBaseline.Score([0, 3], [0], 3));
        Assert.Throws<ArgumentException>(() => EmpiricalBaseline.Score([], [0], 3));
    }

    [Fact]
    public void TrainerBeatsBaselineOnInformativeStatesAndWeightsRoundTrip()
    {
        var (x, y) = SyntheticProbeData.Blobs(240, 8, 4, 6, seed: 21);
        var (xe, ye) = SyntheticProbeData.Blobs(120, 8, 4, 6, seed: 22);
        // Token ids as a tokenizer would produce them: sparse.
        long[] tok = [101, 7, 2999, 450];
        var train = new ProbeSamples(x, y.data<long>().ToArray().Select(c => tok[c]).ToArray());
        var eval = new ProbeSamples(xe, ye.data<long>().ToArray().Select(c => tok[c]).ToArray());
        var outcome = ProbeTrainer.Train(train, eval, seed: 1);
        Assert.Equal(new long[] { 7, 101, 450, 2999 }, outcome.Labels.TokenIds);
        Assert.True(outcome.Eval.Loss < 0.2 * outcome.Baseline.Loss, $"{outcome.Eval.Loss} vs {outcome.Baseline.Loss}");
        Assert.Equal(Math.Log(4), outcome.Baseline.Loss, 2);

        var path = Path.Combine(dir, "probe.safetensors");
        ProbeTrainer.SaveWeights(path, outcome, new Dictionary<string, string> { ["layer"] = "3" });
        var (loaded, ids, meta) = ProbeTrainer.LoadWeights(path);
        Assert.Equal(outcome.Labels.TokenIds, ids);
        Assert.Equal("3", meta["layer"]);
        Assert.Equal(outcome.Fit.Penalty, loaded.Penalty);
        using var a = outcome.Fit.Probe.forward(xe);
        using var b = loaded.forward(xe);
        Assert.Equal(a.data<double>().ToArray(), b.data<double>().ToArray());
    }

    [Fact]
    public void SafeTensorsHeaderIsStandard()
    {
        var path = Path.Combine(dir, "t.safetensors");
        using var f = tensor(new float[] { 1.5f, -2 });
        using var l = tensor(new long[] { 3, 4, 5, 6 }, 2, 2);
        SafeTensors.Write(path, new Dictionary<string, Tensor> { ["f"] = f, ["l"] = l }, new Dictionary<string, string> { ["k"] = "v" });
        var bytes = File.ReadAllBytes(path);
        var n = (int)BitConverter.ToUInt64(bytes, 0);
        Assert.Equal(0, n % 8);
        var header = System.Text.Encoding.UTF8.GetString(bytes, 8, n).TrimEnd();
        Assert.Contains("\"f\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", header);
        Assert.Contains("\"l\":{\"dtype\":\"I64\",\"shape\":[2,2],\"data_offsets\":[8,40]}", header);
        Assert.Equal(8 + n + 40, bytes.Length);
        var (t, meta) = SafeTensors.Read(path);
        Assert.Equal(new float[] { 1.5f, -2 }, t["f"].data<float>().ToArray());
        Assert.Equal(new long[] { 2, 2 }, t["l"].shape);
        Assert.Equal("v", meta["k"]);

        File.WriteAllBytes(Path.Combine(dir, "junk.safetensors"), [1, 2, 3]);
        Assert.Throws<UserInputException>(() => SafeTensors.Read(Path.Combine(dir, "junk.safetensors")));
        Assert.Throws<UserInputException>(() => SafeTensors.Read(Path.Combine(dir, "missing.safetensors")));
    }

    static List<ProbeResult> SampleRows() =>
    [
        new(0, "name", "answer", 2, 900, 300, 0, 5.5, 0.01, 5.6, double.NaN),
        new(0, "attribute", "answer", 2, 900, 300, 1e-8, 5.0, 0.05, 5.6, 0.4),
        new(1, "name", "answer", 2, 900, 300, 2.1544346900318823e-07, 2.0, 0.5, 5.6, 0.4),
        new(1, "attribute", "answer", 2, 900, 300, 1e-4, 0.5, 0.9, 5.6, 0.4),
        new(1, "relation", "first-hop", 2, 900, 300, 1e-4, 1.5, 0.7, 6.0, double.NaN),
    ];

    [Fact]
    public void CsvRoundTripsWithRelativeLoss()
    {
        var path = Path.Combine(dir, "probes.csv");
        ProbeResults.Write(path, SampleRows());
        var text = File.ReadAllLines(path);
        Assert.Equal("layer,position,target,hops,n_train,n_eval,penalty,probe_loss,probe_accuracy,baseline_loss,model_loss,relative_loss", text[0]);
        Assert.Equal("0,name,answer,2,900,300,0,5.5,0.01,5.6,," + (5.5 / 5.6).ToString("R", System.Globalization.CultureInfo.InvariantCulture), text[1]);
        var back = ProbeResults.Read(path);
        Assert.Equal(SampleRows(), back);
        Assert.Equal(0.5 / 5.6, back[3].RelativeLoss, 12);
        File.WriteAllText(Path.Combine(dir, "bad.csv"), "a,b\n1,2\n");
        Assert.Throws<UserInputException>(() => ProbeResults.Read(Path.Combine(dir, "bad.csv")));
    }

    [Fact]
    public void HeatmapIsAPngOfTheRequestedSize()
    {
        var path = Path.Combine(dir, "heat.png");
        ProbeHeatmap.Write(path, SampleRows(), "answer", "probe loss / baseline (answer)");
        var png = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        // IHDR width and height, big-endian at bytes 16..23.
        Assert.Equal(800, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)));
        Assert.Equal(600, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
        Assert.Throws<ArgumentException>(() => ProbeHeatmap.RenderPng(SampleRows(), "nope", "t"));
    }
}
