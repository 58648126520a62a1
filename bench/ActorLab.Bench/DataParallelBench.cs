using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using ActorLab.Actors.DataPlane;
using ActorLab.Actors.Training;
using ActorLab.Model.Qa;
using ActorLab.Model.Training;
using ActorLab.Model.Transformer;
using TorchSharp;

namespace ActorLab.Bench;

/// <summary>
/// Step time of a data-parallel = 2 run whose ranks reduce across nodes (two RunGroups of one rank, each reducing
/// through its own data-plane listener on loopback: the cross-node path minus the wire) against the same two ranks
/// in one node (one RunGroup, the in-process barrier), in the same process and run, at the researchers' default
/// size: a 1M-parameter budget, 4 layers, batch 32 x 512, vocab 3000. Each rank trains on its own thread with
/// one torch thread. Rounds alternate the order; the table gives median and min-max of the per-round medians and
/// of the ratio cross-node / in-node.
/// Args: [--budget 1000000] [--layers 4] [--batch 32] [--seq 512] [--vocab 3000] [--steps 5] [--rounds 3]
/// </summary>
public static class DataParallelBench
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(string[] args)
    {
        var o = TrainBench.Args(args);
        long budget = o.Int("budget", 1_000_000);
        int layers = o.Int("layers", 4), batch = o.Int("batch", 32), seq = o.Int("seq", 512), vocab = o.Int("vocab", 3000),
            steps = o.Int("steps", 5), rounds = o.Int("rounds", 3);
        torch.set_num_threads(1);
        var run = new RunConfig
        {
            RunName = "bench-dp", Profiles = "", Tokenizer = "", NProfiles = 0, Relations = 0, NParams = 0,
            ParamBudget = budget, Layers = layers, MinOrder = 1, MaxOrder = 1, BatchSize = batch, SeqLen = seq, MaxSteps = 1_000_000,
            DataParallel = 2,
        };
        var rng = new Random(0);
        var batches = Enumerable.Range(0, 2).Select(_ =>
        {
            var ids = Enumerable.Range(0, batch * seq).Select(_ => (long)rng.Next(vocab)).ToArray();
            return new TokenBatch(batch, seq, ids, ids.Select((x, i) => i % 3 == 0 ? TokenBatch.Ignore : x).ToArray(), []);
        }).ToArray();

        var inNode = new List<double>();
        var crossNode = new List<double>();
        var ratios = new List<double>();
        long parameters = 0;
        for (var round = 0; round < rounds; round++)
        {
            double a = 0, b = 0;
            foreach (var cross in round % 2 == 0 ? new[] { false, true } : [true, false])
            {
                var (ms, p) = StepMs(run, vocab, batches, steps, cross);
                parameters = p;
                if (cross) b = ms; else a = ms;
                Console.Error.WriteLine(string.Create(Inv, $"round {round + 1}: {(cross ? "cross-node" : "in-node")} {ms:F0} ms/step"));
            }
            inNode.Add(a);
            crossNode.Add(b);
            ratios.Add(b / a);
        }

        string Spread(List<double> xs, string f) => $"{Median(xs).ToString(f, Inv)} ({xs.Min().ToString(f, Inv)}-{xs.Max().ToString(f, Inv)})";
        var md = new StringBuilder()
            .AppendLine("# Cross-node against in-node data parallel (dp = 2)")
            .AppendLine()
            .AppendLine($"`dotnet run --project bench/ActorLab.Bench -c Release -- dp {string.Join(' ', args)}` on {BenchResults.Machine()}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC,")
            .AppendLine(string.Create(Inv, $"load average at the end {TrainBench.LoadAverage()}. Model: budget {budget:N0} ({parameters:N0} parameters), {layers} layers, vocab {vocab},"))
            .AppendLine(string.Create(Inv, $"batch {batch} x {seq} per rank, two ranks on their own threads with one torch thread each; median of {steps} steps after 2 warm-up steps, {rounds} rounds."))
            .AppendLine("Cross-node: two RunGroups of one rank reducing through their own data-plane listeners over loopback (handshake, ring, frames, deadline: all of the cross-node path but the wire).")
            .AppendLine("In-node: one RunGroup of two ranks (the in-process barrier).")
            .AppendLine()
            .AppendLine("| path | step ms, median (min-max of rounds) |")
            .AppendLine("|---|---:|")
            .AppendLine($"| in-node dp = 2 | {Spread(inNode, "F0")} |")
            .AppendLine($"| cross-node dp = 2 | {Spread(crossNode, "F0")} |")
            .AppendLine()
            .AppendLine($"**Step time cross-node / in-node: {Spread(ratios, "F3")}** (1.000: no overhead).");
        var path = BenchResults.Write("dp", md.ToString());
        Console.WriteLine(md.ToString());
        Console.Error.WriteLine($"wrote {path}");
        return 0;
    }

    /// <summary>Median step time of rank 0 with both ranks training at once.</summary>
    static (double Ms, long Parameters) StepMs(RunConfig run, int vocab, TokenBatch[] batches, int steps, bool cross)
    {
        var dirs = Enumerable.Range(0, 2).Select(_ => Directory.CreateTempSubdirectory("actorlab-bench-dp-").FullName).ToArray();
        DataPlaneListener[] listeners = [];
        RunGroup[] groups;
        IReplicaGroup[] ranks;
        if (cross)
        {
            listeners = [new DataPlaneListener(IPAddress.Loopback, 0), new DataPlaneListener(IPAddress.Loopback, 0)];
            var spec = new RingSpec("bench-dp", 1, [.. listeners.Select((l, i) => new RingMember($"n{i}", "127.0.0.1", l.Port))], RingSpec.NewSecret());
            groups = [.. Enumerable.Range(0, 2).Select(i => new RunGroup("bench-dp", 1, 1, i, 2,
                new RingReduce(listeners[i], spec, i, TimeSpan.FromSeconds(30)), _ => TimeSpan.FromMinutes(5)))];
            ranks = [groups[0].ForRank(0), groups[1].ForRank(0)];
        }
        else
        {
            groups = [new RunGroup("bench-dp", 1, 2)];
            ranks = [groups[0].ForRank(0), groups[0].ForRank(1)];
        }
        try
        {
            var times = new List<double>[] { [], [] };
            long parameters = 0;
            var threads = Enumerable.Range(0, 2).Select(r => new Thread(() =>
            {
                torch.set_num_threads(1);
                using var core = TrainerCore.Create(run, dirs[r], new TrainerOptions { VocabSize = vocab, Threads = 1, Gradients = ranks[r] });
                parameters = core.Model.ParameterCount;
                for (var i = 0; i < 2 + steps; i++)
                {
                    var sw = Stopwatch.StartNew();
                    core.TrainStep(batches[r]);
                    if (i >= 2) times[r].Add(sw.Elapsed.TotalMilliseconds);
                }
            })).ToArray();
            foreach (var t in threads) t.Start();
            foreach (var t in threads) t.Join();
            return (Median(times[0]), parameters);
        }
        finally
        {
            foreach (var g in groups) g.Dispose();
            foreach (var l in listeners) l.Dispose();
            foreach (var d in dirs) Directory.Delete(d, true);
        }
    }

    static double Median(List<double> xs) => TrainBench.Median(xs);
}
