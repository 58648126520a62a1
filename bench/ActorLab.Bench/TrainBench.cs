using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Training;
using ActorLab.Model.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace ActorLab.Bench;

/// <summary>
/// Training step time on CPU: ActorLab's TrainerCore.TrainStep (TorchSharp) against the PyTorch eager reference
/// bench/reference/train_step.py (same architecture, muP, schedule-free step, batch, sequence length, threads),
/// run in the same invocation, plus tokens/s, model FLOP utilisation against a measured fp32 matmul peak, and how long
/// the trainer waits on the prefetched Q&amp;A stream (target &lt; 1% of wall time).
/// Args: [--width 128] [--layers 4] [--vocab 3000] [--batch 8] [--seq 512] [--steps 10] [--threads 2] [--python /usr/bin/python3]
/// [--tag NAME] (writes bench/results/train-NAME.md instead of train.md)
/// </summary>
public static class TrainBench
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(string[] args)
    {
        var o = Args(args);
        int width = o.Int("width", 128), layers = o.Int("layers", 4), vocab = o.Int("vocab", 3000), batch = o.Int("batch", 8),
            seq = o.Int("seq", 512), steps = o.Int("steps", 10), threads = o.Int("threads", 2);
        // Debian's python3-torch lives in the system interpreter; a pyenv/venv python3 on PATH would not see it.
        var python = o.Str("python", File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
        torch.set_num_threads(threads);
        var baseWidth = LlamaMupConfig.BaseWidthFor(layers);

        var peak = MatmulPeakGflops();
        Console.Error.WriteLine($"fp32 matmul peak ~ {peak:F1} GFLOP/s on {threads} threads");
        var cs = CSharpStep(width, layers, vocab, batch, seq, steps, threads);
        Console.Error.WriteLine($"ActorLab: {JsonSerializer.Serialize(cs)}");
        var py = PythonStep(python, width, layers, baseWidth, vocab, batch, seq, steps, threads);
        Console.Error.WriteLine($"PyTorch: {py?.ToString() ?? "unavailable"}");
        var (waitFrac, streamMs, streamSteps) = StreamWait(width, layers, batch, seq, Math.Max(steps, 20), threads);
        Console.Error.WriteLine($"stream: wait {100 * waitFrac:F3}% of wall, {streamMs:F1} ms to build one batch");

        var cfg = new LlamaMupConfig { VocabSize = vocab, Width = width, Layers = layers, BaseWidth = baseWidth, MaxSeqLen = seq };
        var flops = StepFlops(cfg, batch, seq);
        double tokens = batch * seq;
        string Row(string name, double stepMs, double f, double b, double opt) => string.Create(Inv,
            $"| {name} | {stepMs:F1} | {f:F1} | {b:F1} | {opt:F1} | {tokens / (stepMs / 1000):F0} | {flops / (stepMs / 1000) / 1e9:F2} | {100 * flops / (stepMs / 1000) / 1e9 / peak:F1}% |");
        var md = new StringBuilder()
            .AppendLine("# Training step benchmark (CPU)")
            .AppendLine()
            .AppendLine($"`dotnet run --project bench/ActorLab.Bench -c Release -- train {string.Join(' ', args)}` on {BenchResults.Machine()}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC,")
            .AppendLine(string.Create(Inv, $"load average at the end {LoadAverage()}. Model d={width}, L={layers}, heads={width / 16}, vocab={vocab}, {cs.Params:N0} parameters,"))
            .AppendLine(string.Create(Inv, $"batch {batch} x {seq} tokens, schedule-free AdamW with muP groups, {threads} torch threads, median of {steps} steps after 3 warm-up steps."))
            .AppendLine("Forward/backward/optimizer columns come from a separate timed pass (same work as a step), so they need not add up to the step column on a loaded machine.")
            .AppendLine(string.Create(Inv, $"MFU = (6 N + 12 L d T) FLOPs/token (N without embeddings, T = seq len) over a measured fp32 matmul peak of {peak:F1} GFLOP/s."))
            .AppendLine()
            .AppendLine("| implementation | step ms | forward ms | backward ms | optimizer ms | tokens/s | GFLOP/s | MFU |")
            .AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|")
            .AppendLine(Row("ActorLab (TorchSharp 0.107, LibTorch 2.10)", cs.StepMs, cs.FwdMs, cs.BwdMs, cs.OptMs));
        if (py is { } p)
        {
            md.AppendLine(Row($"PyTorch eager {p.Torch}{(p.Sdpa ? "" : " (no SDPA: explicit attention)")}", p.StepMs, p.FwdMs, p.BwdMs, p.OptMs));
            md.AppendLine().AppendLine(string.Create(Inv, $"**Ratio ActorLab / PyTorch step time: {cs.StepMs / p.StepMs:F2}** (<= 1.0 means ActorLab is no slower)."));
        }
        else md.AppendLine().AppendLine($"PyTorch reference unavailable (`{python} -c 'import torch'` failed; run bench/setup-train-reference.sh).");
        md.AppendLine().AppendLine(string.Create(Inv,
            $"Data stream: {streamSteps} real training steps fed by the prefetched QaStream (2000 profiles, r4, tokenizer vocab 1000): trainer waited **{100 * waitFrac:F3}%** of wall time; building one {batch}x{seq} batch takes {streamMs:F1} ms on one thread."));
        var path = BenchResults.Write(o.Str("tag", "") is { Length: > 0 } tag ? $"train-{tag}" : "train", md.ToString());
        Console.WriteLine(md.ToString());
        Console.Error.WriteLine($"wrote {path}");
        return 0;
    }

    sealed record StepTimes(long Params, double StepMs, double FwdMs, double BwdMs, double OptMs);
    sealed record PyTimes(string Torch, bool Sdpa, double StepMs, double FwdMs, double BwdMs, double OptMs);

    static RunConfig Run(int width, int layers, int batch, int seq) => new()
    {
        RunName = "bench", Profiles = "", Tokenizer = "", NProfiles = 0, Relations = 0, NParams = 0,
        ParamBudget = 320000L + 12L * layers * width * width + 1, Layers = layers, MinOrder = 1, MaxOrder = 1,
        BatchSize = batch, SeqLen = seq, MaxSteps = 1_000_000,
    };

    static StepTimes CSharpStep(int width, int layers, int vocab, int batch, int seq, int steps, int threads)
    {
        var dir = Directory.CreateTempSubdirectory("actorlab-bench-train-").FullName;
        try
        {
            using var core = TrainerCore.Create(Run(width, layers, batch, seq), dir, new TrainerOptions { VocabSize = vocab, Threads = threads });
            var rng = new Random(0);
            var ids = Enumerable.Range(0, batch * seq).Select(_ => (long)rng.Next(vocab)).ToArray();
            var labels = ids.Select((x, i) => i % 3 == 0 ? TokenBatch.Ignore : x).ToArray();
            var b = new TokenBatch(batch, seq, ids, labels, []);
            var total = new List<double>();
            for (int i = 0; i < 3 + steps; i++)
            {
                var sw = Stopwatch.StartNew();
                core.TrainStep(b);
                if (i >= 3) total.Add(sw.Elapsed.TotalMilliseconds);
            }
            // Breakdown: the same work as TrainStep, timed in parts.
            var f = new List<double>(); var bw = new List<double>(); var op = new List<double>();
            using var idsT = tensor(ids, [batch, seq]);
            using var labelsT = tensor(labels, [batch, seq]);
            for (int i = 0; i < steps; i++)
            {
                using var scope = NewDisposeScope();
                var sw = Stopwatch.StartNew();
                core.Optimizer.ZeroGrad();
                var loss = LlamaMup.MeanLoss(core.Model.forward(idsT), labelsT);
                loss.item<float>();
                f.Add(sw.Elapsed.TotalMilliseconds); sw.Restart();
                loss.backward();
                bw.Add(sw.Elapsed.TotalMilliseconds); sw.Restart();
                core.Optimizer.Step();
                op.Add(sw.Elapsed.TotalMilliseconds);
            }
            return new StepTimes(core.Model.ParameterCount, Median(total), Median(f), Median(bw), Median(op));
        }
        finally { Directory.Delete(dir, true); }
    }

    static PyTimes? PythonStep(string python, int width, int layers, int baseWidth, int vocab, int batch, int seq, int steps, int threads)
    {
        var script = Path.Combine(Path.GetDirectoryName(BenchResults.Folder())!, "reference", "train_step.py");
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["OMP_NUM_THREADS"] = $"{threads}";
        psi.Environment["OPENBLAS_NUM_THREADS"] = $"{threads}";
        foreach (var a in new[] { script, "--width", $"{width}", "--layers", $"{layers}", "--base-width", $"{baseWidth}", "--vocab", $"{vocab}",
                     "--batch", $"{batch}", "--seq", $"{seq}", "--steps", $"{steps}", "--threads", $"{threads}" })
            psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEnd();
            var err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) { Console.Error.WriteLine($"reference failed: {err}"); return null; }
            using var doc = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
            var r = doc.RootElement;
            return new PyTimes(r.GetProperty("torch").GetString()!, r.GetProperty("sdpa").GetBoolean(), r.GetProperty("step_ms").GetDouble(),
                r.GetProperty("fwd_ms").GetDouble(), r.GetProperty("bwd_ms").GetDouble(), r.GetProperty("opt_ms").GetDouble());
        }
        catch (System.ComponentModel.Win32Exception) { return null; }
    }

    static (double WaitFraction, double BatchMs, int Steps) StreamWait(int width, int layers, int batch, int seq, int steps, int threads)
    {
        var db = ProfileGenerator.Generate(new ProfileGeneratorConfig(2000, 4, Seed: 1), ValueLists.Default);
        var tok = QaTokenizer.Train(QaCorpus.Texts(db, 0), 1000);
        var splits = HeldOutSplits.Build(db, 0);
        var opt = new QaStreamOptions([1, 2], BatchSize: batch, SeqLen: seq);
        var probe = new QaStream(db, tok, splits, opt);
        probe.Next();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < 10; i++) probe.Next();
        var batchMs = sw.Elapsed.TotalMilliseconds / 10;
        var dir = Directory.CreateTempSubdirectory("actorlab-bench-stream-").FullName;
        try
        {
            using var core = TrainerCore.Create(Run(width, layers, batch, seq), dir, new TrainerOptions { VocabSize = tok.VocabSize, Threads = threads });
            using var prefetch = new BatchPrefetcher(new QaStream(db, tok, splits, opt));
            core.TrainStep(prefetch.Take());
            var waitBefore = prefetch.WaitTime;
            sw.Restart();
            for (int i = 0; i < steps; i++) core.TrainStep(prefetch.Take());
            var wall = sw.Elapsed;
            return ((prefetch.WaitTime - waitBefore) / wall, batchMs, steps);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Forward + backward FLOPs of one step: (6 N + 12 L d T) per token, N = non-embedding parameters (PaLM appendix B).</summary>
    static double StepFlops(LlamaMupConfig c, int batch, int seq)
    {
        double n = c.ParameterCount - (double)c.VocabSize * c.Width; // embeddings are a lookup
        return (6 * n + 12.0 * c.Layers * c.Width * seq) * batch * seq;
    }

    static double MatmulPeakGflops()
    {
        using var a = randn(1024, 1024);
        using var b = randn(1024, 1024);
        for (int i = 0; i < 3; i++) { using var w = a.matmul(b); }
        var sw = Stopwatch.StartNew();
        const int n = 10;
        for (int i = 0; i < n; i++) { using var c = a.matmul(b); }
        return 2.0 * 1024 * 1024 * 1024 * n / sw.Elapsed.TotalSeconds / 1e9;
    }

    internal static double Median(List<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    internal static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; } catch { return "n/a"; }
    }

    internal sealed class Parsed(Dictionary<string, string> d)
    {
        public int Int(string k, int def) => d.TryGetValue(k, out var v) ? int.Parse(v, Inv) : def;
        public string Str(string k, string def) => d.GetValueOrDefault(k, def);
    }

    internal static Parsed Args(string[] args)
    {
        var d = new Dictionary<string, string>();
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--")) throw new ArgumentException($"expected --name value, got '{args[i]}'");
            d[args[i][2..]] = args[i + 1];
        }
        return new Parsed(d);
    }
}
