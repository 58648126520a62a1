using System.Diagnostics;
using System.Globalization;
using System.Text;
using ActorLab.Actors.Config;
using ActorLab.Actors.Control;
using ActorLab.Actors.Coordinator;
using ActorLab.Host.Security;
using ActorLab.Host.Tests.Actors;
using ActorLab.Host.Tests.Infrastructure;

namespace ActorLab.Bench;

/// <summary>
/// What mutual TLS costs a console: one real `actorlab node` on loopback (SQLite, one slot), with TLS off and on in
/// turn, and an in-process console client. Per round and mode: the time from connect to the first answer (actor
/// system start, handshake, ClusterClient contact), the round trip of `status` asks after that (median, p90), and a
/// whole `actorlab console status` process.
/// Args: [--rounds R] [--asks N].
/// </summary>
public static class TlsBench
{
    public static int Run(string[] args)
    {
        int rounds = 3, asks = 200;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            var v = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--rounds": rounds = v; break;
                case "--asks": asks = v; break;
                default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
            }
        }
        var root = Path.Combine(Path.GetTempPath(), "actorlab-bench-tls-" + Guid.NewGuid().ToString("N")[..6]);
        var ca = Path.Combine(root, "ca");
        ClusterCertificates.Init(ca);
        ClusterCertificates.Issue(ca, "node", "n");
        var (consolePfx, _) = ClusterCertificates.Issue(ca, "console", "bench");
        var caCrt = Path.Combine(ca, ClusterCertificates.CaCertificate);
        var results = new Dictionary<bool, List<(double Connect, double Median, double P90, double Process)>> { [false] = [], [true] = [] };
        try
        {
            for (var round = 0; round < rounds; round++)
                foreach (var tls in new[] { false, true })
                {
                    var r = Measure(root, round, tls, asks, caCrt, Path.Combine(ca, "node-n.pfx"), consolePfx);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"round {round + 1}: TLS {(tls ? "on " : "off")}: first answer {r.Connect:F0} ms, status round trip median {r.Median:F2} ms, p90 {r.P90:F2} ms; `console status` process {r.Process:F0} ms"));
                    results[tls].Add(r);
                }
        }
        finally
        {
            try { Directory.Delete(root, true); } catch { /* best effort */ }
        }
        var md = new StringBuilder();
        md.AppendLine($"# Console round trip, TLS off vs on ({rounds} rounds, {asks} `status` asks each; {BenchResults.Machine()})");
        md.AppendLine();
        md.AppendLine("| TLS | connect to first answer, ms (median, min-max) | status round trip median, ms (median, min-max) | p90, ms (median, min-max) | `actorlab console status` process, ms (median of 3 per round: median, min-max) |");
        md.AppendLine("|---|---|---|---|---|");
        foreach (var (tls, list) in results)
            md.AppendLine($"| {(tls ? "on" : "off")} | {Spread(list.Select(x => x.Connect), "F0")} | {Spread(list.Select(x => x.Median), "F2")} | {Spread(list.Select(x => x.P90), "F2")} | {Spread(list.Select(x => x.Process), "F0")} |");
        Console.WriteLine();
        Console.Write(md);
        Console.WriteLine($"written: {BenchResults.Write("tls", md.ToString())}");
        return 0;
    }

    static (double Connect, double Median, double P90, double Process) Measure(string root, int round, bool tls, int asks, string ca, string nodePfx, string consolePfx)
    {
        var port = ClusterHarness.FreePort();
        string[] flags = tls ? ["--tls-certificate", nodePfx, "--tls-ca", ca] : [];
        using var node = new ActorLabProcess(["node", "--port", port.ToString(CultureInfo.InvariantCulture), "--data-dir",
            Path.Combine(root, $"node-{round}-{tls}"), "--slots", "1", .. flags]);
        node.WaitForLine(l => l.StartsWith("control it with", StringComparison.Ordinal), TimeSpan.FromMinutes(1));
        // the coordinator answers once the node agent has registered: wait for that with a throwaway client
        using (var warm = ConsoleClient.Connect($"127.0.0.1:{port}", "bench-warm", tls ? new TlsSettings(true, ca, consolePfx, "", "") : null))
            Until(() => warm.Ask<StatusReply>(new GetStatus()).Nodes.Count() == 1, TimeSpan.FromMinutes(1));

        var sw = Stopwatch.StartNew();
        using var client = ConsoleClient.Connect($"127.0.0.1:{port}", "bench-console", tls ? new TlsSettings(true, ca, consolePfx, "", "") : null);
        client.Ask<StatusReply>(new GetStatus());
        var connect = sw.Elapsed.TotalMilliseconds;
        var times = new List<double>();
        for (var i = 0; i < asks; i++)
        {
            sw.Restart();
            client.Ask<StatusReply>(new GetStatus());
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        // what a researcher waits for: a whole `actorlab console status` process, start to exit
        string[] consoleFlags = tls ? ["--tls-certificate", consolePfx, "--tls-ca", ca] : [];
        var processes = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            sw.Restart();
            var (code, output) = ActorLabProcess.Run(TimeSpan.FromMinutes(1), ["console", "--contact", $"127.0.0.1:{port}", .. consoleFlags, "status"]);
            if (code != 0) throw new InvalidOperationException(output);
            processes.Add(sw.Elapsed.TotalMilliseconds);
        }
        processes.Sort();
        return (connect, times[times.Count / 2], times[(int)(times.Count * 0.9)], processes[1]);
    }

    static void Until(Func<bool> done, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            try { if (done()) return; }
            catch (ActorLab.Model.Common.UserInputException) when (DateTime.UtcNow < until) { }
            if (DateTime.UtcNow > until) throw new TimeoutException("the node never answered");
            Thread.Sleep(200);
        }
    }

    static string Spread(IEnumerable<double> values, string format)
    {
        var v = values.OrderBy(x => x).ToList();
        string F(double x) => x.ToString(format, CultureInfo.InvariantCulture);
        return $"{F(v[v.Count / 2])} ({F(v[0])}-{F(v[^1])})";
    }
}
