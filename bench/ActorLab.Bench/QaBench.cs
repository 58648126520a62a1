using System.Diagnostics;
using System.Globalization;
using System.Text;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;

namespace ActorLab.Bench;

/// <summary>
/// Q&amp;A stream (issue 3 targets, N = 25,000, R = 17, orders 1,2, hop_ratio 0.1, length 512): held-out split build
/// time and memory (&lt; 3 s, &lt; 1 GiB) and packed, labelled tokens per second on one core and on all cores
/// (&gt;= 2M per core). Args: [--n N] [--relations R] [--batches B] [--lists-dir DIR] [--vocab-size V].
/// </summary>
public static class QaBench
{
    public static int Run(string[] args)
    {
        int n = 25_000, relations = 17, batches = 200, vocab = 3000;
        string? listsDir = null;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--n": n = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--relations": relations = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--batches": batches = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--vocab-size": vocab = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--lists-dir": listsDir = args[i + 1]; break;
                default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
            }
        }
        var lists = listsDir is null ? ValueLists.Default : ValueLists.FromDirectory(listsDir);
        var db = ProfileGenerator.Generate(new ProfileGeneratorConfig(n, relations, Seed: 1), lists);
        var rows = new List<(string Metric, string Value, string Target)>();
        string F(double x, string fmt) => x.ToString(fmt, CultureInfo.InvariantCulture);

        // --- held-out splits: time, bytes allocated while building (an upper bound on the extra peak), retained.
        HeldOutSplits.Build(TinyDb(), 0); // JIT warm-up on a tiny database
        GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
        long before = GC.GetTotalMemory(true), allocBefore = GC.GetTotalAllocatedBytes(true);
        var clock = Stopwatch.StartNew();
        var splits = HeldOutSplits.Build(db, seed: 0);
        double splitS = clock.Elapsed.TotalSeconds;
        long alloc = GC.GetTotalAllocatedBytes(true) - allocBefore;
        long retained = GC.GetTotalMemory(true) - before;
        long peakWs = Process.GetCurrentProcess().PeakWorkingSet64;
        rows.Add(("split build time", $"{F(splitS, "F2")} s", "< 3 s"));
        rows.Add(("split: bytes allocated during build (bounds its peak)", $"{F(alloc / 1048576.0, "F0")} MiB", "< 1 GiB"));
        rows.Add(("split: retained after build", $"{F(retained / 1048576.0, "F0")} MiB", ""));
        rows.Add(("process peak working set so far (runtime + profiles + split)", $"{F(peakWs / 1048576.0, "F0")} MiB", "< 1 GiB"));
        rows.Add(("tuples (N R S)", $"{splits.TupleCount:N0}", "~9M"));

        // --- tokenizer (context: one-off cost per dataset).
        clock.Restart();
        var tok = QaTokenizer.Train(QaCorpus.Texts(db, 0), vocab);
        rows.Add(($"tokenizer training (vocab {vocab})", $"{F(clock.Elapsed.TotalSeconds, "F1")} s", ""));
        clock.Restart();
        var cache = new QaTokenCache(db, tok);
        rows.Add(("token piece cache build", $"{F(clock.Elapsed.TotalSeconds, "F2")} s", ""));

        // --- stream throughput.
        var opt = new QaStreamOptions([1, 2], HopRatio: 0.1, SeqLen: 512, BatchSize: 32, Seed: 1);
        Throughput(db, tok, splits, cache, opt, threads: 1, batches);
        var (tps1, labelled1) = Throughput(db, tok, splits, cache, opt, threads: 1, batches);
        int cores = Environment.ProcessorCount;
        var (tpsAll, _) = Throughput(db, tok, splits, cache, opt, threads: cores, batches);
        rows.Add(("packed tokens/s, 1 core", $"{F(tps1 / 1e6, "F2")} M", ">= 2 M"));
        rows.Add(("  of which labelled (answer) tokens/s, 1 core", $"{F(tps1 * labelled1 / 1e6, "F2")} M", ""));
        rows.Add(($"packed tokens/s, {cores} cores", $"{F(tpsAll / 1e6, "F2")} M", ""));
        rows.Add(("packed tokens/s per core (all cores)", $"{F(tpsAll / cores / 1e6, "F2")} M", ">= 2 M"));
        var cot = Throughput(db, tok, splits, cache, opt with { Cot = true }, threads: 1, batches).TokensPerSecond;
        rows.Add(("packed tokens/s, 1 core, chain-of-thought", $"{F(cot / 1e6, "F2")} M", ""));

        var md = new StringBuilder()
            .AppendLine("# Q&A stream benchmark")
            .AppendLine()
            .AppendLine($"`dotnet run --project bench/ActorLab.Bench -c Release -- qa{(args.Length > 0 ? " " + string.Join(' ', args) : "")}` on {BenchResults.Machine()}, {DateTime.UtcNow:yyyy-MM-dd}.")
            .AppendLine($"N = {n:N0}, R = {relations}, lists {lists.Source}; stream: orders 1,2, hop_ratio 0.1, 32 x 512, {batches} batches per thread after 50 warm-up batches; the 1-core figure is the second of two runs.")
            .AppendLine()
            .AppendLine("| metric | value | target |")
            .AppendLine("|---|---:|---|");
        foreach (var (m, v, t) in rows) md.AppendLine($"| {m} | {v} | {t} |");
        var text = md.ToString();
        Console.WriteLine(text);
        Console.WriteLine($"written to {BenchResults.Write("qa", text)}");
        return 0;
    }

    /// <summary>Packed tokens per second over all threads (each thread its own worker stream) and the labelled fraction.</summary>
    static (double TokensPerSecond, double LabelledFraction) Throughput(ProfileDatabase db, QaTokenizer tok, HeldOutSplits splits,
        QaTokenCache cache, QaStreamOptions opt, int threads, int batches)
    {
        var streams = Enumerable.Range(0, threads).Select(w => new QaStream(db, tok, splits, opt with { Worker = w }, cache)).ToArray();
        foreach (var s in streams) for (int i = 0; i < 50; i++) s.Next(); // warm-up (tiered JIT reaches its optimised code, caches)
        long labelled = 0, tokens = 0;
        var clock = Stopwatch.StartNew();
        var workers = streams.Select(s => new Thread(() =>
        {
            long l = 0, t = 0;
            for (int i = 0; i < batches; i++)
            {
                var b = s.Next();
                t += b.InputIds.Length;
                foreach (var q in b.Questions) l += q.AnswerEnd - q.AnswerStart;
            }
            Interlocked.Add(ref labelled, l);
            Interlocked.Add(ref tokens, t);
        })).ToArray();
        foreach (var w in workers) w.Start();
        foreach (var w in workers) w.Join();
        double seconds = clock.Elapsed.TotalSeconds;
        return (tokens / seconds, (double)labelled / tokens);
    }

    static ProfileDatabase TinyDb() => ProfileGenerator.Generate(new ProfileGeneratorConfig(50, 2, Seed: 1), ValueLists.Default);
}
