using System.Globalization;
using System.Text;
using ActorLab.Actors.Config;
using ActorLab.Actors.Control;
using ActorLab.Host.Tests.Actors;
using ActorLab.Host.Tests.Infrastructure;

namespace ActorLab.Bench;

/// <summary>
/// What a flood of consoles costs a node that trains: one real `actorlab node` on loopback (CPU, one slot, SQLite)
/// training one small real run, and 20 in-process consoles (<see cref="ConsoleFlood"/>) asking `status` and `runs`
/// as fast as they can (each keeping a few asks open). Per round: a quiet window, then a flood window of the same
/// length; the run's step time in each (from its progress.eN.csv step rows' clock), the flood's answers per second,
/// busy refusals and answer latency. The consoles run on the same machine as the node, so the step-time change
/// includes their CPU. Args: [--rounds R] [--window SECONDS] [--consoles N] [--outstanding K] [--max-in-flight B]
/// (B: the node's actorlab.gateway.max-in-flight; the results then go to consoleflood-max-in-flight-B.md).
/// </summary>
public static class ConsoleFloodBench
{
    const string Sweep = """
        sweep {
          name = flood
          grid { layers = [1], param-budgets = [340000], relations = [2], n-profiles = [40], orders = [[1]], seeds = [0] }
          vocab-size = 300
          batch-size = 4
          seq-len = 64
          max-steps = 1000000
          convergence.enabled = false
          eval { steps = [1000000], questions = 20 }
          checkpoint.every = 200
        }
        """;

    sealed record Round(double QuietMs, double FloodMs, ConsoleFlood.Outcome Flood)
    {
        public double Ratio => FloodMs / QuietMs;
    }

    public static int Run(string[] args)
    {
        int rounds = 3, window = 15, consoles = 20, outstanding = 8, bound = 0;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            var v = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--rounds": rounds = v; break;
                case "--window": window = v; break;
                case "--consoles": consoles = v; break;
                case "--outstanding": outstanding = v; break;
                case "--max-in-flight": bound = v; break;
                default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
            }
        }
        var root = Path.Combine(Path.GetTempPath(), "actorlab-bench-flood-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(root);
        var sweepFile = Path.Combine(root, "flood.conf");
        File.WriteAllText(sweepFile, Sweep);
        var config = Path.Combine(root, "node.conf");
        File.WriteAllText(config, "actorlab.node.use-cuda = off\n" + (bound > 0 ? $"actorlab.gateway.max-in-flight = {bound}\n" : ""));
        var data = Path.Combine(root, "data");
        var port = ClusterHarness.FreePort();
        var contact = $"127.0.0.1:{port}";
        var windows = new List<(DateTimeOffset QuietFrom, DateTimeOffset QuietTo, DateTimeOffset FloodFrom, DateTimeOffset FloodTo, ConsoleFlood.Outcome Flood)>();
        var maxInFlight = bound > 0 ? bound : ActorLabConfig.Defaults.GetInt("actorlab.gateway.max-in-flight");
        try
        {
            using var node = new ActorLabProcess("node", "--port", port.ToString(CultureInfo.InvariantCulture), "--data-dir", data, "--slots", "1", "--config", config);
            node.WaitForLine(l => l.StartsWith("control it with", StringComparison.Ordinal), TimeSpan.FromMinutes(1));
            var (code, output) = ActorLabProcess.Run(TimeSpan.FromMinutes(1), "console", "--contact", contact, "submit", sweepFile);
            if (code != 0) throw new InvalidOperationException(output);
            using (var watcher = ConsoleClient.Connect(contact, "bench-watcher"))
                Until(() => watcher.Ask<RunsReply>(new GetRuns("flood")).Runs.Single() is { State: "running", Step: > 500 }, TimeSpan.FromMinutes(2));
            using var flood = new ConsoleFlood(contact, consoles);
            Console.WriteLine($"warm-up (every console's contact made): {flood.Burst(2, TimeSpan.FromSeconds(30))}");
            Thread.Sleep(2000);
            for (var r = 0; r < rounds; r++)
            {
                var q0 = DateTimeOffset.UtcNow;
                Thread.Sleep(TimeSpan.FromSeconds(window));
                var q1 = DateTimeOffset.UtcNow;
                var f0 = DateTimeOffset.UtcNow;
                var outcome = flood.Sustained(TimeSpan.FromSeconds(window), outstanding, TimeSpan.FromSeconds(30));
                var f1 = DateTimeOffset.UtcNow;
                windows.Add((q0, q1, f0, f1, outcome));
                Console.WriteLine($"round {r + 1}: flood {outcome}");
                Thread.Sleep(3000); // the flood's last answers and the node settle before the next quiet window
            }
            Thread.Sleep(3000); // a checkpoint flushes the progress rows of the last window
            // every lease epoch's file (a run re-leased during the bench would show as more than one)
            var progress = Directory.GetFiles(data, "progress*.csv", SearchOption.AllDirectories);
            var rows = progress.SelectMany(StepRows).OrderBy(r => r.At).ToList();
            var (a, b) = rows.Zip(rows.Skip(1)).MaxBy(p => p.Item2.At - p.Item1.At);
            Console.WriteLine($"progress: {string.Join(", ", progress.Select(Path.GetFileName))}: {rows.Count} step rows; " +
                              $"longest gap between steps {(b.At - a.At).TotalMilliseconds:F0} ms after step {a.Step} at {a.At:HH:mm:ss.fff}");
            var results = windows.Select(w => new Round(StepMs(rows, w.QuietFrom, w.QuietTo), StepMs(rows, w.FloodFrom, w.FloodTo), w.Flood)).ToList();
            using (var c = ConsoleClient.Connect(contact, "bench-cancel")) c.Ask<CommandReply>(new ActorLab.Actors.Coordinator.CancelSweep("flood"));

            var md = new StringBuilder();
            md.AppendLine($"# Console flood while a run trains ({rounds} rounds of {window} s quiet + {window} s flood; {consoles} in-process consoles, " +
                          $"{outstanding} asks open each, `status` and `runs` alternately; max-in-flight {maxInFlight}; {BenchResults.Machine()})");
            md.AppendLine();
            md.AppendLine("One `actorlab node` (CPU, 1 slot, SQLite journal) training one run (1 layer, vocab 300, batch 4, seq 64, checkpoint every 200 steps). " +
                          "Step time: the run's progress rows' clock over each window. The consoles share the machine with the node, so the flood's step-time cost includes their CPU.");
            md.AppendLine();
            md.AppendLine("| round | quiet step, ms | flood step, ms | ratio flood/quiet | answered/s | answered | refused (busy) | other | p50 latency, ms | p99 latency, ms |");
            md.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
            for (var i = 0; i < results.Count; i++)
            {
                var r = results[i];
                md.AppendLine(FormattableString.Invariant(
                    $"| {i + 1} | {r.QuietMs:F2} | {r.FloodMs:F2} | {r.Ratio:F2} | {r.Flood.AnsweredPerSecond:F0} | {r.Flood.Answered} | {r.Flood.Refused} | {r.Flood.Other.Count} | {r.Flood.Percentile(0.5):F1} | {r.Flood.Percentile(0.99):F1} |"));
            }
            md.AppendLine();
            md.AppendLine($"Median (min-max) over the rounds: step time ratio {Spread(results.Select(r => r.Ratio), "F2")}, " +
                          $"answered/s {Spread(results.Select(r => r.Flood.AnsweredPerSecond), "F0")}, " +
                          $"p50 {Spread(results.Select(r => r.Flood.Percentile(0.5)), "F1")} ms, p99 {Spread(results.Select(r => r.Flood.Percentile(0.99)), "F1")} ms, " +
                          $"refused {Spread(results.Select(r => (double)r.Flood.Refused), "F0")}.");
            Console.WriteLine();
            Console.Write(md);
            Console.WriteLine($"written: {BenchResults.Write(bound > 0 ? $"consoleflood-max-in-flight-{bound}" : "consoleflood", md.ToString())}");
            return 0;
        }
        finally
        {
            // ACTORLAB_KEEP_TEST_DIRS=1 keeps the node's logs and files for a look
            if (Environment.GetEnvironmentVariable("ACTORLAB_KEEP_TEST_DIRS") == "1") Console.WriteLine($"kept: {root}");
            else try { Directory.Delete(root, true); } catch { /* best effort */ }
        }
    }

    /// <summary>The step rows (a last row the trainer is still writing is skipped).</summary>
    static List<(long Step, DateTimeOffset At)> StepRows(string progress)
    {
        var rows = new List<(long, DateTimeOffset)>();
        using var reader = new StreamReader(new FileStream(progress, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        while (reader.ReadLine() is { } line)
        {
            var p = line.Split(',');
            if (p.Length >= 7 && p[1] == "step" && p[6].EndsWith("+00:00", StringComparison.Ordinal) && long.TryParse(p[2], CultureInfo.InvariantCulture, out var step) &&
                DateTimeOffset.TryParse(p[6], CultureInfo.InvariantCulture, DateTimeStyles.None, out var at))
                rows.Add((step, at));
        }
        return rows;
    }

    /// <summary>Mean wall-clock time per step of the steps trained within [from, to].</summary>
    static double StepMs(List<(long Step, DateTimeOffset At)> rows, DateTimeOffset from, DateTimeOffset to)
    {
        var inside = rows.Where(r => r.At >= from && r.At <= to).ToList();
        if (inside.Count < 2)
            throw new InvalidOperationException($"fewer than 2 steps trained between {from:O} and {to:O} " +
                                                $"({rows.Count} step rows, {(rows.Count > 0 ? $"{rows[0]} to {rows[^1]}" : "none")})");
        return (inside[^1].At - inside[0].At).TotalMilliseconds / (inside[^1].Step - inside[0].Step);
    }

    static void Until(Func<bool> done, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            try { if (done()) return; }
            catch (ActorLab.Model.Common.UserInputException) when (DateTime.UtcNow < until) { }
            if (DateTime.UtcNow > until) throw new TimeoutException("the run never started training");
            Thread.Sleep(300);
        }
    }

    static string Spread(IEnumerable<double> values, string format)
    {
        var v = values.OrderBy(x => x).ToList();
        string F(double x) => x.ToString(format, CultureInfo.InvariantCulture);
        return $"{F(v[v.Count / 2])} ({F(v[0])}-{F(v[^1])})";
    }
}
