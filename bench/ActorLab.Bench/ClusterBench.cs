using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ActorLab.Actors.Config;
using ActorLab.Actors.Control;
using ActorLab.Host.Security;
using ActorLab.Host.Tests.Infrastructure;
using Npgsql;

namespace ActorLab.Bench;

/// <summary>
/// The cluster (issue 10 targets), with real `actorlab node` processes on 127.0.0.1-3, one PostgreSQL journal and the
/// stand-in trainer: failover time after kill -9 of the coordinator's node (until a console answers, until the next
/// run starts), requeue time of a killed trainer node's run, and sweep throughput (run steps per second) with 1, 2
/// and 3 nodes of one CPU slot each (target: K nodes >= 0.9 x K x one node). Repeated; medians and spread.
/// Args: [--rounds R] [--runs N] [--steps S] [--step-ms MS] [--only throughput|tls]. `--only tls`: sweep throughput
/// of 2 nodes with mutual TLS on vs off, interleaved per round (issue 14's target: TLS costs under 5 %), written to
/// bench/results/cluster-tls.md.
/// </summary>
public static class ClusterBench
{
    public static int Run(string[] args)
    {
        int rounds = 3, runs = 12, steps = 300, stepMs = 20;
        var only = "";
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            if (args[i] == "--only") { only = args[i + 1]; continue; }
            var v = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--rounds": rounds = v; break;
                case "--runs": runs = v; break;
                case "--steps": steps = v; break;
                case "--step-ms": stepMs = v; break;
                default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
            }
        }
        var root = Path.Combine(Path.GetTempPath(), "actorlab-bench-cluster-" + Guid.NewGuid().ToString("N")[..6]);
        using var pg = PostgresServer.Start(Path.Combine(root, "pg"));
        if (only == "tls")
        {
            try { return TlsThroughput(root, pg, rounds, runs, steps, stepMs); }
            finally { try { Directory.Delete(root, true); } catch { /* best effort */ } }
        }
        var throughput = new Dictionary<int, List<double>>();
        var failover = new List<(double Answered, double NextStart)>();
        var requeue = new List<double>();
        try
        {
            for (var round = 0; round < rounds; round++)
            {
                foreach (var k in new[] { 1, 2, 3 })
                {
                    var t = Throughput(pg, k, runs, steps, stepMs);
                    Console.WriteLine($"round {round + 1}: {k} node(s): {t:F1} run steps/s");
                    (throughput.TryGetValue(k, out var l) ? l : throughput[k] = []).Add(t);
                }
                if (only == "throughput") continue;
                var (answered, next, requeued) = Failover(pg, stepMs);
                Console.WriteLine($"round {round + 1}: failover: console answered {answered:F1} s, next run started {next:F1} s; trainer lost: run requeued {requeued:F1} s");
                failover.Add((answered, next));
                requeue.Add(requeued);
            }
        }
        finally
        {
            try { Directory.Delete(root, true); } catch { /* best effort */ }
        }

        static double Median(IEnumerable<double> xs) { var l = xs.Order().ToList(); return l[l.Count / 2]; }
        static string Spread(IEnumerable<double> xs, string f) => $"{xs.Min().ToString(f, CultureInfo.InvariantCulture)}-{xs.Max().ToString(f, CultureInfo.InvariantCulture)}";
        var one = Median(throughput[1]);
        var md = new StringBuilder();
        md.AppendLine("# Cluster benchmark");
        md.AppendLine();
        md.AppendLine($"`dotnet run --project bench/ActorLab.Bench -c Release -- cluster --rounds {rounds} --runs {runs} --steps {steps} --step-ms {stepMs}` on {BenchResults.Machine()}.");
        md.AppendLine($"Real `actorlab node` processes on 127.0.0.1-3, PostgreSQL 15 journal on loopback, the stand-in trainer ({stepMs} ms a step), " +
                      $"{runs} runs x {steps} steps per throughput sweep; {rounds} rounds, median (min-max).");
        md.AppendLine();
        md.AppendLine("| metric | median | spread | target |");
        md.AppendLine("|---|---|---|---|");
        foreach (var (k, ts) in throughput.OrderBy(x => x.Key))
        {
            var m = Median(ts);
            md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| sweep throughput, {k} node(s) x 1 slot (run steps/s) | {m:F1} ({m / one:F2} x one node) | {Spread(ts, "F1")} | {(k == 1 ? "" : $">= {0.9 * k:F1} x")} |"));
        }
        if (failover.Count == 0) { Console.Write(md); return 0; } // --only throughput: a partial table, not written to bench/results
        md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| kill -9 of the coordinator's node -> a console answers | {Median(failover.Select(f => f.Answered)):F1} s | {Spread(failover.Select(f => f.Answered), "F1")} s | < 15 s |"));
        md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| kill -9 of the coordinator's node -> next run started | {Median(failover.Select(f => f.NextStart)):F1} s | {Spread(failover.Select(f => f.NextStart), "F1")} s | |"));
        md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| kill -9 of a trainer node -> its run requeued | {Median(requeue):F1} s | {Spread(requeue, "F1")} s | |"));
        Console.Write(md);
        Console.WriteLine($"wrote {BenchResults.Write("cluster", md.ToString())}");
        return 0;
    }

    static string Sweep(string name, int runs, int steps) => $$"""
        sweep {
          name = {{name}}
          grid { layers = [1], param-budgets = [330000], relations = [2], n-profiles = [20], orders = [[1]], seeds = [{{string.Join(", ", Enumerable.Range(0, runs))}}] }
          vocab-size = 300
          batch-size = 4
          seq-len = 64
          max-steps = {{steps}}
          eval.steps = [{{steps}}]
          checkpoint.every = 50
        }
        """;

    static string NewDatabase(PostgresServer pg)
    {
        var name = "bench_" + Guid.NewGuid().ToString("N")[..10];
        using (var c = new NpgsqlConnection(pg.Connection))
        {
            c.Open();
            using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", c);
            cmd.ExecuteNonQuery();
        }
        return new NpgsqlConnectionStringBuilder(pg.Connection) { Database = name }.ConnectionString;
    }

    static ClusterHarness Cluster(PostgresServer pg, int nodes, int stepMs, string standIn) => Cluster(NewDatabase(pg), nodes, stepMs, standIn);

    /// <param name="ca">A CA folder of `certs init` with node-bench and console-bench certificates: every node speaks mutual TLS.</param>
    static ClusterHarness Cluster(string connection, int nodes, int stepMs, string standIn, string? ca = null)
    {
        var tls = ca is null ? "" :
            $"actorlab.tls {{ enabled = on, ca = {HoconText.Quote(Path.Combine(ca, ClusterCertificates.CaCertificate))}, certificate = {HoconText.Quote(Path.Combine(ca, "node-bench.pfx"))} }}";
        var h = new ClusterHarness(connection, [standIn], TimeSpan.FromMilliseconds(stepMs), extra: tls);
        string[] roles = ["coordinator,trainer", "coordinator,trainer", "trainer"];
        for (var i = 0; i < nodes; i++)
            h.Define(new($"n{i}", $"127.0.0.{i + 1}", ClusterHarness.FreePort($"127.0.0.{i + 1}"), roles[i]));
        h.UseSeeds(nodes == 1 ? ["n0"] : ["n0", "n1"]);
        if (h.InitJournal().Exit != 0) throw new InvalidOperationException("db init failed");
        for (var i = 0; i < nodes; i++) h.Start($"n{i}");
        return h;
    }

    /// <summary>Sweep throughput of 2 nodes, TLS off and on in turn each round; medians, spread and the on/off ratio per round.</summary>
    static int TlsThroughput(string root, PostgresServer pg, int rounds, int runs, int steps, int stepMs)
    {
        var ca = Path.Combine(root, "ca");
        ClusterCertificates.Init(ca);
        ClusterCertificates.Issue(ca, "node", "bench");
        ClusterCertificates.Issue(ca, "console", "bench");
        var off = new List<double>();
        var on = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            // alternate which goes first, so a machine getting busier or quieter does not favour one
            foreach (var tls in round % 2 == 0 ? new[] { false, true } : [true, false])
            {
                var t = Throughput(pg, 2, runs, steps, stepMs, tls ? ca : null);
                Console.WriteLine($"round {round + 1}: TLS {(tls ? "on" : "off")}: {t:F1} run steps/s");
                (tls ? on : off).Add(t);
            }
        }
        static double Median(IEnumerable<double> xs) { var l = xs.Order().ToList(); return l[l.Count / 2]; }
        var ratios = off.Zip(on, (a, b) => b / a).ToList();
        var md = new StringBuilder();
        md.AppendLine("# Cluster benchmark: sweep throughput with mutual TLS on and off");
        md.AppendLine();
        md.AppendLine($"`dotnet run --project bench/ActorLab.Bench -c Release -- cluster --only tls --rounds {rounds} --runs {runs} --steps {steps} --step-ms {stepMs}` on {BenchResults.Machine()}.");
        md.AppendLine($"2 real `actorlab node` processes (127.0.0.1-2, one CPU slot each, both coordinator and trainer), PostgreSQL 15 journal, the stand-in trainer ({stepMs} ms a step), " +
                      $"{runs} runs x {steps} steps per sweep, submitted by a console (TLS on: console certificate too); off and on alternate, {rounds} rounds, median (min-max).");
        md.AppendLine();
        md.AppendLine("| TLS | run steps/s | spread |");
        md.AppendLine("|---|---:|---|");
        md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| off | {Median(off):F1} | {off.Min():F1}-{off.Max():F1} |"));
        md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| on | {Median(on):F1} | {on.Min():F1}-{on.Max():F1} |"));
        md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| **on / off, per round** | **{Median(ratios):F3}** | {ratios.Min():F3}-{ratios.Max():F3} (target: >= 0.95) |"));
        Console.Write(md);
        Console.WriteLine($"wrote {BenchResults.Write("cluster-tls", md.ToString())}");
        return 0;
    }

    /// <summary>Run steps per second of a stand-in sweep from submission to all runs completed.</summary>
    static double Throughput(PostgresServer pg, int nodes, int runs, int steps, int stepMs, string? ca = null)
    {
        var connection = NewDatabase(pg);
        using var h = Cluster(connection, nodes, stepMs, "tp", ca);
        using var client = ConsoleClient.Connect(h.Contacts, "bench-console",
            ca is null ? null : new TlsSettings(true, Path.Combine(ca, ClusterCertificates.CaCertificate), Path.Combine(ca, "console-bench.pfx"), "", ""));
        Until(() => client.Ask<StatusReply>(new GetStatus()).Nodes.Count(n => n.Slots == 1) == nodes, TimeSpan.FromMinutes(2));
        var submitted = DateTimeOffset.UtcNow;
        var sw = Stopwatch.StartNew();
        var reply = client.Ask<CommandReply>(new SubmitSweepFile("tp.conf", Sweep("tp", runs, steps)), TimeSpan.FromSeconds(90));
        if (!reply.Ok) throw new InvalidOperationException(reply.Message);
        Until(() => client.Ask<StatusReply>(new GetStatus()).Sweeps.Single().Completed == runs, TimeSpan.FromMinutes(10), 100);
        var elapsed = sw.Elapsed.TotalSeconds;
        if (Environment.GetEnvironmentVariable("ACTORLAB_BENCH_TIMELINE") == "1") PrintTimeline(connection, submitted);
        return runs * steps / elapsed;
    }

    /// <summary>Where a throughput sweep's time went: each lease, start and completion, seconds after submission.</summary>
    static void PrintTimeline(string connection, DateTimeOffset submitted)
    {
        using var c = new NpgsqlConnection(connection);
        c.Open();
        using var cmd = new NpgsqlCommand("SELECT created_at, manifest, convert_from(payload, 'UTF8') FROM event_journal WHERE manifest NOT IN ('checkpoint-recorded@2') ORDER BY ordering", c);
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            var t = (new DateTimeOffset(r.GetInt64(0), TimeSpan.Zero) - submitted).TotalSeconds;
            var p = JsonDocument.Parse(r.GetString(2)).RootElement;
            string Get(string k) => p.TryGetProperty(k, out var v) ? v.ToString() : "";
            var id = Get("runId").Length > 0 ? Get("runId") : Get("jobId");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {t,7:F2} s {r.GetString(1),-22} {(id.Length > 40 ? id[^40..] : id)} {Get("nodeId")}"));
        }
    }

    /// <summary>
    /// Three nodes, a long stand-in sweep: kill -9 the coordinator's node and time a console's first answer from the new
    /// coordinator and the next run-started event; then kill -9 the trainer node and time its run's requeue event.
    /// Event times come from the journal (created_at, DateTime ticks in UTC), console answers are polled every 100 ms.
    /// </summary>
    static (double Answered, double NextStart, double Requeued) Failover(PostgresServer pg, int stepMs)
    {
        using var h = Cluster(pg, 3, stepMs, "fo");
        using var client = ConsoleClient.Connect(h.Contacts, "bench-console");
        Until(() => client.Ask<StatusReply>(new GetStatus()).Nodes.Count(n => n.Slots == 1) == 3, TimeSpan.FromMinutes(2));
        var reply = client.Ask<CommandReply>(new SubmitSweepFile("fo.conf", Sweep("fo", 30, 2000)), TimeSpan.FromSeconds(90));
        if (!reply.Ok) throw new InvalidOperationException(reply.Message);
        Until(() => client.Ask<RunsReply>(new GetRuns(null)).Runs.Count(r => r.State == "running" && r.CheckpointStep > 0) == 3, TimeSpan.FromMinutes(2));

        // 1. the coordinator's node
        var old = client.Ask<StatusReply>(new GetStatus()).CoordinatorAddress;
        h.Kill9("n0");
        var killedAt = DateTimeOffset.UtcNow;
        var sw = Stopwatch.StartNew();
        Until(() =>
        {
            try { return client.Ask<StatusReply>(new GetStatus(), TimeSpan.FromSeconds(2)).CoordinatorAddress != old; }
            catch (ActorLab.Model.Common.UserInputException) { return false; }
        }, TimeSpan.FromMinutes(2), 100);
        var answered = sw.Elapsed.TotalSeconds;
        var nextStart = PollTime(() => FirstEventAfter(h.Connection, "run-started@2", killedAt), TimeSpan.FromMinutes(2), 100);

        // 2. a trainer node holding a lease
        var onTrainer = Poll(() => client.Ask<RunsReply>(new GetRuns(null)).Runs.FirstOrDefault(r => r.State == "running" && (r.Node ?? "").StartsWith(h.Node("n2").Contact)),
            TimeSpan.FromMinutes(2));
        h.Kill9("n2");
        var trainerKilledAt = DateTimeOffset.UtcNow;
        var requeued = PollTime(() => FirstEventAfter(h.Connection, "run-requeued@2", trainerKilledAt, onTrainer.RunId), TimeSpan.FromMinutes(2), 100);
        return (answered, (nextStart - killedAt).TotalSeconds, (requeued - trainerKilledAt).TotalSeconds);
    }

    static DateTimeOffset? FirstEventAfter(string connection, string manifest, DateTimeOffset after, string? runId = null)
    {
        using var c = new NpgsqlConnection(connection);
        c.Open();
        using var cmd = new NpgsqlCommand("SELECT created_at, convert_from(payload, 'UTF8') FROM event_journal WHERE manifest = @m AND created_at > @t ORDER BY ordering", c);
        cmd.Parameters.AddWithValue("m", manifest);
        cmd.Parameters.AddWithValue("t", after.UtcTicks);
        using var r = cmd.ExecuteReader();
        while (r.Read())
            if (runId == null || JsonDocument.Parse(r.GetString(1)).RootElement.GetProperty("runId").GetString() == runId)
                return new DateTimeOffset(r.GetInt64(0), TimeSpan.Zero);
        return null;
    }

    static void Until(Func<bool> done, TimeSpan timeout, int pollMs = 300) =>
        Poll(() => done() ? "done" : null, timeout, pollMs);

    /// <summary>Polls until <paramref name="get"/> gives a value (a console that does not answer yet counts as none).</summary>
    static T Poll<T>(Func<T?> get, TimeSpan timeout, int pollMs = 300) where T : class
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            T? v;
            try { v = get(); }
            catch (ActorLab.Model.Common.UserInputException) { v = null; }
            if (v != null) return v;
            if (DateTime.UtcNow > until) throw new TimeoutException("the cluster never got there");
            Thread.Sleep(pollMs);
        }
    }

    static DateTimeOffset PollTime(Func<DateTimeOffset?> get, TimeSpan timeout, int pollMs)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            if (get() is { } v) return v;
            if (DateTime.UtcNow > until) throw new TimeoutException("the event never came");
            Thread.Sleep(pollMs);
        }
    }
}
