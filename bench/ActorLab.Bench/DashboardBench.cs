using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using ActorLab.Actors.Config;
using ActorLab.Actors.Control;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Training;
using ActorLab.Host.Composition;
using ActorLab.Host.Dashboard;
using ActorLab.Model.Storage;
using OpenQA.Selenium.Chrome;

namespace ActorLab.Bench;

/// <summary>
/// `dashboard [--runs N] [--rounds R]`: the dashboard with a sweep of N runs (default 500) open in headless chromium:
/// page load (navigation to every run loaded and the first page of rows drawn), update latency (a progress notice published by the coordinator to
/// the row's step changed in the browser, same machine clock), and the dashboard's cost to sweep throughput: rounds
/// of the same small stand-in sweep (no step time: CPU-bound on the runtime) with and without the dashboard open,
/// alternating, each with-round against its peer without. And the node's own CPU time for the dashboard (`--cpu-window S`):
/// a node with the N-run sweep training (8 slots of the stand-in at 20 ms a step), the node process's CPU seconds per
/// wall second over windows with the page open and closed, alternating; the difference is the dashboard's serving cost,
/// which with the browser on another machine (a researcher's laptop) is all it takes from the node, against the cores
/// a real sweep keeps busy. The browser's own CPU is chromium's process, not counted.
/// </summary>
public static class DashboardBench
{
    public static int Run(string[] args)
    {
        int runs = Arg(args, "--runs", 500), rounds = Arg(args, "--rounds", 3);
        var window = Arg(args, "--cpu-window", 30);
        // `--only cpu`: the serving cost alone (more rounds of it in the time), into bench/results/dashboard-cpu.md;
        // `--only page`: page load and update latency alone (for a big sweep); a --runs other than 500 writes
        // dashboard[-cpu]-{runs}.md, so the default figures stay where the README points
        var only = Array.IndexOf(args, "--only") is var o and >= 0 && o + 1 < args.Length ? args[o + 1] : null;
        var (cpuOnly, pageOnly) = (only == "cpu", only == "page");
        var md = new StringBuilder($"# dashboard{(cpuOnly ? " serving cost" : "")}\n\n{BenchResults.Machine()}; `dashboard {string.Join(' ', args)}`; headless chromium (Debian), stand-in trainer, SQLite journal.\n\n");
        if (!cpuOnly) PageLatencyThroughput(md, runs, rounds, throughput: !pageOnly);

        foreach (var remote in pageOnly ? [] : new[] { false, true })
        {
            var (closed, open) = ServingCpu(runs, rounds, TimeSpan.FromSeconds(window), remote);
            var deltas = open.Zip(closed, (o, c) => o - c).ToList();
            var who = remote ? "the page's event stream read by curl in another process (a browser elsewhere)" : "the page open in headless chromium on the same 2 cores";
            md.Append($"\n{char.ToUpperInvariant(who[0])}{who[1..]}:\n\n| round ({window} s windows from {Settle.TotalSeconds:0} s after the page opened or closed, a {runs}-run sweep, 8 slots training) | node CPU, page closed | node CPU, page open | dashboard's serving cost |\n|---|---|---|---|\n");
            for (var i = 0; i < rounds; i++)
                md.Append($"| {i + 1} | {closed[i]:F3} cores | {open[i]:F3} cores | {deltas[i] * 1000:F1} millicores |\n");
            md.Append($"\nServing cost with {who}, median of {rounds}: {Median(deltas) * 1000:F1} millicores (range {deltas.Min() * 1000:F1} to {deltas.Max() * 1000:F1}), " +
                      $"{100 * Median(deltas) / Environment.ProcessorCount:F2} % of this machine's {Environment.ProcessorCount} cores: the throughput a sweep that keeps every core busy loses to it.\n");
        }
        Console.Write(md);
        Console.WriteLine("written: " + BenchResults.Write((cpuOnly ? "dashboard-cpu" : "dashboard") + (runs == 500 ? "" : $"-{runs}"), md.ToString()));
        return 0;
    }

    static void PageLatencyThroughput(StringBuilder md, int runs, int rounds, bool throughput)
    {
        var (loads, latencies, seen) = PageAndLatency(runs, rounds);
        md.Append($"| with {runs} runs | median | range | n |\n|---|---|---|---|\n");
        md.Append($"| page load: navigation to {runs} runs loaded, the first page of rows drawn | {Median(loads):F0} ms | {loads.Min():F0}-{loads.Max():F0} ms | {loads.Count} |\n");
        md.Append(latencies.Count == 0 ? "| update latency | no row change matched a notice | | 0 |\n"
            : $"| update latency: progress notice published -> row changed (p50 / p95) | {Median(latencies):F0} / {Percentile(latencies, 0.95):F0} ms | {latencies.Min():F0}-{latencies.Max():F0} ms | {latencies.Count} of {seen} notices |\n");

        if (!throughput) return;
        // the peer: a CPU-bound 4-run sweep with and without a page open (not the --runs sweep above)
        var ratios = new List<double>();
        md.Append("\n| round | without dashboard | with dashboard open | throughput ratio (with / without) |\n|---|---|---|---|\n");
        for (var i = 0; i < rounds; i++)
        {
            var without = Throughput(false);
            var with = Throughput(true);
            ratios.Add(with / without);
            md.Append($"| {i + 1} | {without:F0} steps/s | {with:F0} steps/s | {with / without:F3} |\n");
            Console.WriteLine($"round {i + 1}: {without:F0} vs {with:F0} steps/s");
        }
        md.Append($"\nThroughput ratio, median of {rounds}: {Median(ratios):F3} (range {ratios.Min():F3}-{ratios.Max():F3}); the dashboard's cost is 1 - ratio.\n");
    }

    static string Sweep(int runs, long steps, string name) => $$"""
        sweep {
          name = {{name}}
          grid { layers = [1, 2], param-budgets = [330000], relations = [2], n-profiles = [20, 30], orders = [[1]], seeds = [{{string.Join(", ", Enumerable.Range(0, Math.Max(1, runs / 4)))}}] }
          vocab-size = 400
          batch-size = 4
          seq-len = 64
          max-steps = {{steps}}
          eval.steps = [{{steps}}]
          checkpoint.every = 1000
        }
        """;

    static (ActorLabNode Node, string Dir) StartNode(TimeSpan stepTime, int slots)
    {
        var dir = Path.Combine(Path.GetTempPath(), "actorlab-dashboard-bench", Guid.NewGuid().ToString("N"));
        var config = ActorLabConfig.Build(dir, extraHocon: $"actorlab.node.cpu-slots = {slots}\nakka.loglevel = WARNING\nakka.stdout-loglevel = WARNING");
        var standIn = new StandInBackend(StorageSettings.From(config).Storage) { StepTime = stepTime };
        return (ActorLabNode.Start(config, new NodeEndpoint("127.0.0.1", "127.0.0.1", 0, []), standIn), dir);
    }

    static object Ask(ActorLabNode node, object m)
    {
        while (true)
        {
            var r = node.Gateway.Ask<object>(m, TimeSpan.FromSeconds(120)).GetAwaiter().GetResult();
            if (r is not NoCoordinator) return r;
            Thread.Sleep(100);
        }
    }

    static void Submit(ActorLabNode node, string sweep)
    {
        var reply = (CommandReply)Ask(node, new SubmitSweepFile("bench.conf", sweep));
        if (!reply.Ok) throw new InvalidOperationException(reply.Message);
    }

    static ChromeDriver Browser()
    {
        var options = new ChromeOptions { BinaryLocation = "/usr/bin/chromium" };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1500,1100");
        var service = ChromeDriverService.CreateDefaultService("/usr/bin", "chromedriver");
        service.SuppressInitialDiagnosticInformation = true;
        return new ChromeDriver(service, options, TimeSpan.FromSeconds(120));
    }

    static (List<double> Loads, List<double> Latencies, int Seen) PageAndLatency(int runs, int rounds)
    {
        var (node, dir) = StartNode(TimeSpan.FromMilliseconds(20), slots: 8);
        try
        {
            Submit(node, Sweep(runs, 1_000_000, "wide"));
            var total = ((StatusReply)Ask(node, new GetStatus())).Sweeps[0].Runs;
            var notices = new ConcurrentDictionary<(string, long), DateTimeOffset>();
            var recorder = node.System.ActorOf(Props.Create(() => new NoticeRecorder(notices)));
            DistributedPubSub.Get(node.System).Mediator.Tell(new Subscribe(SweepCoordinator.EventsTopic, recorder));
            using var web = DashboardServer.Start(node, new DashboardEndpoint(IPAddress.Loopback, 0)) is var s ? new Holder(s) : null;
            using var browser = Browser();
            var loads = new List<double>();
            for (var i = 0; i < rounds + 1; i++)
            {
                var sw = Stopwatch.StartNew();
                browser.Navigate().GoToUrl(web!.Server.Url);
                // every run loaded into the page, and its first page of rows drawn (only one page is in the DOM)
                while (!(bool)browser.ExecuteScript(
                           "return document.querySelector('#run-count').textContent === arguments[0] + ' runs' && " +
                           "document.querySelectorAll('#runs tbody tr').length === Math.min(arguments[0], Number(document.querySelector('#page-size').value));", total)!)
                {
                    if (sw.Elapsed > TimeSpan.FromMinutes(5)) throw new TimeoutException("the page never loaded every run");
                    Thread.Sleep(10);
                }
                if (i > 0) loads.Add(sw.Elapsed.TotalMilliseconds); // the first load warms the server's JIT
            }
            // every change of a row's step, stamped in the browser
            browser.ExecuteScript("""
                window.__changes = [];
                new MutationObserver(ms => { const t = Date.now(); for (const m of ms) window.__changes.push([m.target.dataset.id, Number(m.target.dataset.step), t]); })
                  .observe(document.querySelector('#runs tbody'), { subtree: true, attributes: true, attributeFilter: ['data-step'] });
                """);
            var since = DateTimeOffset.UtcNow;
            Thread.Sleep(TimeSpan.FromSeconds(20));
            var changes = (System.Collections.ObjectModel.ReadOnlyCollection<object>)browser.ExecuteScript("return window.__changes;")!;
            // a row's first change to a notice's step (the periodic rows event sets the same step again later)
            var first = new Dictionary<(string, long), long>();
            foreach (System.Collections.ObjectModel.ReadOnlyCollection<object> c in changes)
            {
                var key = ((string)c[0], Convert.ToInt64(c[1], CultureInfo.InvariantCulture));
                var t = Convert.ToInt64(c[2], CultureInfo.InvariantCulture);
                if (!first.TryGetValue(key, out var known) || t < known) first[key] = t;
            }
            var latencies = new List<double>();
            foreach (var (key, t) in first)
                if (notices.TryGetValue(key, out var at) && at >= since)
                    latencies.Add(DateTimeOffset.FromUnixTimeMilliseconds(t).Subtract(at).TotalMilliseconds);
            return (loads, latencies, notices.Values.Count(a => a >= since));
        }
        finally
        {
            node.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(30));
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    /// <summary>The node process's CPU (cores: CPU seconds per wall second) over windows with the page closed and open, alternating.</summary>
    static readonly TimeSpan Settle = TimeSpan.FromSeconds(5);

    /// <param name="remote">The page's one steady request, its event stream, read by curl in another process (as a
    /// browser on a researcher's laptop costs the node: nothing rendered on its cores) instead of chromium here.</param>
    static (List<double> Closed, List<double> Open) ServingCpu(int runs, int rounds, TimeSpan window, bool remote = false)
    {
        var (node, dir) = StartNode(TimeSpan.FromMilliseconds(20), slots: 8);
        var closed = new List<double>();
        var open = new List<double>();
        try
        {
            Submit(node, Sweep(runs, 1_000_000, "wide"));
            using var web = DashboardServer.Start(node, new DashboardEndpoint(IPAddress.Loopback, 0)) is var s ? new Holder(s) : null;
            using var browser = Browser();
            Thread.Sleep(TimeSpan.FromSeconds(10)); // runs leased and training: the steady state
            static double Cores(Action during, TimeSpan window)
            {
                var self = Process.GetCurrentProcess();
                during();
                // the page's load (its 500 rows and first refresh) is the load time above, not serving: the window
                // starts once the page has settled, so it holds what an open page costs over a long sweep
                Thread.Sleep(Settle);
                self.Refresh();
                var cpu = self.TotalProcessorTime;
                var sw = Stopwatch.StartNew();
                Thread.Sleep(window);
                self.Refresh();
                return (self.TotalProcessorTime - cpu).TotalSeconds / sw.Elapsed.TotalSeconds;
            }
            Process? stream = null;
            void Close()
            {
                if (!remote) browser.Navigate().GoToUrl("about:blank");
                else if (stream != null) { stream.Kill(); stream.WaitForExit(); stream.Dispose(); stream = null; }
            }
            void Open()
            {
                if (!remote) browser.Navigate().GoToUrl(web!.Server.Url);
                else stream = Process.Start(new ProcessStartInfo("curl", ["-sN", "-o", "/dev/null", new Uri(web!.Server.Url, "/api/events").ToString()]))!;
            }
            for (var i = 0; i < rounds; i++)
            {
                closed.Add(Cores(Close, window));
                open.Add(Cores(Open, window));
                Console.WriteLine($"round {i + 1}{(remote ? " (stream to curl)" : "")}: node CPU {closed[^1]:F3} cores with the page closed, {open[^1]:F3} open");
            }
            Close();
            return (closed, open);
        }
        finally
        {
            node.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(30));
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    /// <summary>Steps/s of a 4-run sweep to its end (about half a minute), CPU-bound (no step time); with the dashboard open in a browser on the same machine or not.</summary>
    static double Throughput(bool dashboard)
    {
        const long steps = 200_000;
        var (node, dir) = StartNode(TimeSpan.Zero, slots: 2);
        DashboardServer? web = null;
        ChromeDriver? browser = null;
        try
        {
            Ask(node, new GetStatus());
            if (dashboard)
            {
                web = DashboardServer.Start(node, new DashboardEndpoint(IPAddress.Loopback, 0));
                browser = Browser();
                browser.Navigate().GoToUrl(web.Url);
                Thread.Sleep(3000); // the page loaded and its event stream open: the steady state a sweep sees
            }
            var sw = Stopwatch.StartNew();
            Submit(node, Sweep(4, steps, "speed"));
            while (((StatusReply)Ask(node, new GetStatus())).Sweeps[0].State != "finished") Thread.Sleep(50);
            return 4 * steps / sw.Elapsed.TotalSeconds;
        }
        finally
        {
            browser?.Dispose();
            web?.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(10));
            node.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(30));
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    sealed class Holder(DashboardServer server) : IDisposable
    {
        public DashboardServer Server => server;
        public void Dispose() => server.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(10));
    }

    sealed class NoticeRecorder : ReceiveActor
    {
        public NoticeRecorder(ConcurrentDictionary<(string, long), DateTimeOffset> notices)
        {
            Receive<SubscribeAck>(_ => { });
            Receive<WatchNotice>(n => { if (n is { Kind: "progress", RunId: { } id, Step: { } step }) notices.TryAdd((id, step), n.At); });
        }
    }

    static int Arg(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var v) && v > 0 ? v : fallback;
    }

    static double Median(List<double> xs) => Percentile(xs, 0.5);

    static double Percentile(List<double> xs, double q)
    {
        var s = xs.Order().ToList();
        return s[(int)Math.Clamp(Math.Round(q * (s.Count - 1)), 0, s.Count - 1)];
    }
}
