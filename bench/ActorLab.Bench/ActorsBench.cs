using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using ActorLab.Actors.Config;
using ActorLab.Actors.Control;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Node;
using ActorLab.Actors.Sweeps;
using ActorLab.Actors.Training;
using ActorLab.Host.Composition;
using ActorLab.Model.Qa;
using ActorLab.Model.Storage;
using ActorLab.Model.Training;

namespace ActorLab.Bench;

/// <summary>
/// The actor runtime (issue 6 targets): steps/s of a run through the actors (a one-node cluster) vs its RunSession alone
/// (under 2% slower),
/// recovery time after kill -9 until training resumes, coordinator journal replay of 10,000 events (under 1 s).
/// Args: [--steps S] [--events E] [--rounds R] [--workers W].
/// </summary>
public static class ActorsBench
{
    const string Model = """
          grid { layers = [1], param-budgets = [450000], relations = [2], n-profiles = [200], orders = [[1, 2]] }
          vocab-size = 600
          batch-size = 16
          seq-len = 128
          convergence.enabled = false
        """;

    public static int Run(string[] args)
    {
        int steps = 200, events = 10_000, rounds = 3, workers = 1;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--steps": steps = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--events": events = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--workers": workers = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--rounds": rounds = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
            }
        }
        TorchSharp.torch.set_num_threads(1);
        var root = Path.Combine(Path.GetTempPath(), "actorlab-bench-actors-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(root);
        var rows = new List<(string Metric, string Value, string Target)>();
        try
        {
            var (core, actors, cores, actorRuns) = Throughput(root, steps, rounds, workers);
            rows.Add(($"steps/s, RunSession alone (BatchPrefetcher over QaStream), median of {rounds} ({string.Join(", ", cores.Select(c => F(c, "F1")))})", F(core, "F2"), ""));
            rows.Add(($"steps/s, through a one-node cluster (1 slot, {workers} data worker(s)), median of {rounds} ({string.Join(", ", actorRuns.Select(c => F(c, "F1")))})", F(actors, "F2"), ""));
            rows.Add(("actor overhead, from the medians (noisy: the machine is shared)", F(100 * (core - actors) / core, "F2") + " %", "< 2 %"));
            var perStep = MachineryPerStep(root);
            rows.Add(("actor machinery per step (stand-in model of 0 ms: trainer actor, data generator, feed, progress log, reports)", F(perStep * 1e6, "F1") + " us", ""));
            rows.Add(("  = share of one real step at the RunSession median", F(100 * perStep * core, "F3") + " %", "< 2 %"));
            var (started, trained) = Recovery(root);
            rows.Add(("kill -9 of `sweep run` -> run restarted (new process: start, cluster of one, recover journal, lease, reopen checkpoint)", F(started, "F2") + " s", ""));
            rows.Add(("kill -9 -> first step trained again", F(trained, "F2") + " s", ""));
            var (count, replay) = Replay(root, events);
            rows.Add(($"coordinator journal replay, {count} events (SQLite, snapshots off)", F(replay * 1000, "F0") + " ms", "< 1000 ms"));
        }
        finally
        {
            try { Directory.Delete(root, true); } catch { /* best effort */ }
        }
        var md = new StringBuilder();
        md.AppendLine("# Actor runtime benchmark");
        md.AppendLine();
        md.AppendLine($"`dotnet run --project bench/ActorLab.Bench -c Release -- actors --steps {steps} --events {events} --rounds {rounds} --workers {workers}` on {BenchResults.Machine()}.");
        md.AppendLine("Model: 1 layer, budget 450000 (d = 96), vocab 600, batch 16 x 128 tokens, orders 1+2, N = 200, 1 torch thread.");
        md.AppendLine();
        md.AppendLine("| metric | value | target |");
        md.AppendLine("|---|---|---|");
        foreach (var (m, v, t) in rows) md.AppendLine($"| {m} | {v} | {t} |");
        Console.Write(md);
        Console.WriteLine($"wrote {BenchResults.Write("actors", md.ToString())}");
        return 0;
    }

    static string F(double x, string fmt) => x.ToString(fmt, CultureInfo.InvariantCulture);

    static SweepPlan Plan(string name, long maxSteps, long evalAt, long checkpointEvery) =>
        SweepPlanner.Plan(SweepFile.Parse(SweepText(name, maxSteps, evalAt, checkpointEvery)));

    static string SweepText(string name, long maxSteps, long evalAt, long checkpointEvery) => $$"""
        sweep {
          name = {{name}}
          {{Model}}
          max-steps = {{maxSteps}}
          eval { steps = [{{evalAt}}], questions = 50 }
          checkpoint.every = {{checkpointEvery}}
        }
        """;

    /// <summary>steps/s between step <paramref name="from"/> and <paramref name="to"/> of a run's progress file(s).</summary>
    static double StepsPerSecond(string runDir, long from, long to)
    {
        var times = new RunFolder(runDir, null).ProgressFiles().SelectMany(f => File.ReadAllLines(f.Path).Skip(1))
            .Select(l => l.Split(',')).Where(p => p[1] == "step")
            .ToDictionary(p => long.Parse(p[2], CultureInfo.InvariantCulture), p => DateTimeOffset.Parse(p[^1], CultureInfo.InvariantCulture));
        return (to - from) / (times[to] - times[from]).TotalSeconds;
    }

    static void RunToTheEnd(string dataDir, ITrainingBackend backend, string sweep, int workers)
    {
        var config = ActorLabConfig.Build(dataDir, extraHocon: $"actorlab.node.cpu-slots = 1\nactorlab.data.workers = {workers}\nakka.loglevel = WARNING");
        var node = ActorLabNode.Start(config, new NodeEndpoint("127.0.0.1", "127.0.0.1", 0, []), backend);
        try
        {
            object Ask(object m)
            {
                while (true)
                {
                    var r = node.Gateway.Ask<object>(m, TimeSpan.FromSeconds(60)).GetAwaiter().GetResult();
                    if (r is not NoCoordinator) return r;
                    Thread.Sleep(100);
                }
            }
            var reply = (CommandReply)Ask(new SubmitSweepFile("bench.conf", sweep));
            if (!reply.Ok) throw new InvalidOperationException(reply.Message);
            while (((StatusReply)Ask(new GetStatus())).Sweeps[0].State != "finished") Thread.Sleep(100);
        }
        finally
        {
            node.DisposeAsync().AsTask().Wait();
        }
    }

    /// <summary>The same run twice: a plain TrainerCore loop, and a one-slot node; steps/s over steps 11..S+10.</summary>
    static double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);

    static (double Core, double Actors, List<double> Cores, List<double> ActorRuns) Throughput(string root, int steps, int rounds, int workers)
    {
        const int warm = 10;
        var text = SweepText("throughput", steps + warm, steps + warm, 1_000_000);
        var plan = SweepPlanner.Plan(SweepFile.Parse(text));
        var storage = new RunStorage(Path.Combine(root, "core"), Path.Combine(root, "core"));
        var prepared = DatasetStore.Ensure(storage, plan.Datasets[0], null);

        // the run session alone, fed by the model layer's own prefetcher; measured before and after the actors run
        double Core()
        {
            var folder = new RunFolder(Path.Combine(root, "core-" + Guid.NewGuid().ToString("N")[..6]), null);
            var data = DatasetStore.Load(prepared);
            using var session = RunSession.Open(plan.Runs[0], folder, data, new TrainerOptions { VocabSize = data.Tokenizer.VocabSize, Threads = 1 });
            using var feed = session.OpenPrefetcher();
            session.Run(feed);
            return StepsPerSecond(folder.Dir, warm, steps + warm);
        }

        // the same run through coordinator, node agent, trainer actor and data generator
        double Actors(int round)
        {
            var dataDir = Path.Combine(root, $"actors-{round}");
            RunToTheEnd(dataDir, new PipelineBackend(new RunStorage(dataDir, dataDir), 1), text, workers);
            return StepsPerSecond(Path.Combine(dataDir, "runs", "throughput", plan.Runs[0].RunName), warm, steps + warm);
        }

        // interleaved rounds: the machine is shared, so compare medians of alternating measurements
        var cores = new List<double>();
        var actorRuns = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            cores.Add(Core());
            actorRuns.Add(Actors(round));
        }
        Console.WriteLine($"TrainerCore steps/s per round: {string.Join(", ", cores.Select(c => F(c, "F2")))}");
        Console.WriteLine($"actors steps/s per round:      {string.Join(", ", actorRuns.Select(c => F(c, "F2")))}");
        return (Median(cores), Median(actorRuns), cores, actorRuns);
    }

    /// <summary>
    /// The cost the actors add to each step, measured without a model: a one-slot node trains a stand-in run whose
    /// steps take no time, so steps/s is the machinery alone (trainer actor, data generator, feed, progress, reports).
    /// </summary>
    static double MachineryPerStep(string root)
    {
        const int n = 20_000;
        var dataDir = Path.Combine(root, "noop");
        var standIn = new StandInBackend(new RunStorage(dataDir, dataDir)) { StepTime = TimeSpan.Zero };
        RunToTheEnd(dataDir, standIn, SweepText("noop", n, n, 1_000_000), 1);
        var plan = Plan("noop", n, n, 1_000_000);
        return 1 / StepsPerSecond(Path.Combine(dataDir, "runs", "noop", plan.Runs[0].RunName), 1000, n);
    }

    /// <summary>kill -9 a real `actorlab sweep run` after a checkpoint; time the rerun until the run starts and trains again.</summary>
    static (double Started, double Trained) Recovery(string root)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "actorlab.dll");
        var file = Path.Combine(root, "recovery.conf");
        File.WriteAllText(file, $$"""
            sweep {
              name = recovery
              {{Model}}
              max-steps = 100000
              eval { steps = [100000], questions = 50 }
              checkpoint.every = 20
            }
            """);
        var dataDir = Path.Combine(root, "recovery");
        string[] args = [dll, "sweep", "run", file, "--data-dir", dataDir, "--slots", "1"];
        using (var first = Launch(args, out var lines))
        {
            Wait(lines, l => l.Contains("checkpoint-recorded"), TimeSpan.FromMinutes(3));
            first.Kill(entireProcessTree: true);
            first.WaitForExit();
        }
        var runDir = Directory.GetDirectories(Path.Combine(dataDir, "runs", "recovery")).Single();
        var before = new RunFolder(runDir, null).ProgressFiles().Count;
        var sw = Stopwatch.StartNew();
        using var second = Launch(args, out var lines2);
        Wait(lines2, l => l.Contains("run-started"), TimeSpan.FromMinutes(3));
        var started = sw.Elapsed.TotalSeconds;
        // the new lease writes a progress file of its own: wait for its first step
        while (new RunFolder(runDir, null).ProgressFiles() is var files && (files.Count <= before || !File.ReadAllLines(files[^1].Path).Any(l => l.Contains(",step,"))))
        {
            if (sw.Elapsed > TimeSpan.FromMinutes(3)) throw new TimeoutException("training did not resume");
            Thread.Sleep(5);
        }
        var trained = sw.Elapsed.TotalSeconds;
        second.Kill(entireProcessTree: true);
        second.WaitForExit();
        return (started, trained);
    }

    static Process Launch(string[] args, out List<string> lines)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        var collected = new List<string>();
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (collected) collected.Add(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (collected) collected.Add(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        lines = collected;
        return p;
    }

    static void Wait(List<string> lines, Func<string, bool> match, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            lock (lines) if (lines.Any(match)) return;
            if (sw.Elapsed > timeout) throw new TimeoutException(string.Join("\n", lines));
            Thread.Sleep(5);
        }
    }

    /// <summary>Writes a realistic journal (a 100-run sweep, each run leased, checkpointed many times, completed), then times recovery.</summary>
    static (int Events, double Seconds) Replay(string root, int target)
    {
        var plan = SweepPlanner.Plan(SweepFile.Parse("""
            sweep {
              name = replay
              grid { layers = [1, 2], param-budgets = [400000, 600000, 900000, 1300000, 1800000, 2500000, 3300000, 4300000, 5500000, 7000000],
                     relations = [4], n-profiles = [1000], orders = [[1, 2]], seeds = [0, 1, 2, 3, 4] }
            }
            """));
        var state = SweepState.Empty;
        var journal = new List<ISweepEvent>();
        void Do(ISweepCommand c)
        {
            var d = state.Decide(c);
            if (d.Rejected) throw new InvalidOperationException(d.Rejection);
            journal.AddRange(d.Events);
            state = state.ApplyAll(d.Events);
        }
        Do(new SubmitSweep(plan));
        Do(new ScheduleLeases([new SlotRef("n", 0)], DateTimeOffset.UnixEpoch));
        var prep = state.Jobs.Values.Single();
        Do(new ReportJobDone(prep.JobId, prep.Lease!.Epoch, "n", null, new DatasetFingerprint("p", "t")));
        var perRun = Math.Max(1, (target - 4 + plan.Runs.Length - 1) / plan.Runs.Length - 3); // + lease, start, completion
        foreach (var run in plan.Runs)
        {
            Do(new ScheduleLeases([new SlotRef("n", 0)], DateTimeOffset.UnixEpoch));
            var epoch = state.Runs[run.RunId].Lease!.Epoch;
            Do(new ReportRunStarted(run.RunId, epoch, "n", 0));
            for (var k = 1; k <= perRun; k++) Do(new ReportCheckpoint(run.RunId, epoch, "n", k * 1000, $"sha{k}", 1.0 / k));
            Do(new ReportRunCompleted(run.RunId, epoch, "n", perRun * 1000, "step cap", "r"));
        }

        var dataDir = Path.Combine(root, "replay");
        var config = ConfigurationFactory.ParseString("akka.actor.provider = cluster\nakka.remote.dot-netty.tcp.port = 0")
            .WithFallback(ActorLabConfig.Build(dataDir, extraHocon: "akka.loglevel = WARNING\nactorlab.coordinator.snapshot-every = 1000000000"));
        using (var system = ActorSystem.Create("writer", config))
        {
            var writer = system.ActorOf(Props.Create(() => new JournalWriter()));
            foreach (var chunk in journal.Chunk(500))
                writer.Ask<string>(chunk, TimeSpan.FromMinutes(1)).GetAwaiter().GetResult();
            system.Terminate().Wait();
        }

        var times = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            using var system = ActorSystem.Create("replay", config);
            var sw = Stopwatch.StartNew();
            var coordinator = system.ActorOf(SweepCoordinator.Props(CoordinatorSettings.From(config), StorageSettings.From(config)), "coordinator");
            var status = coordinator.Ask<StatusReply>(new GetStatus(), TimeSpan.FromMinutes(1)).GetAwaiter().GetResult();
            times.Add(sw.Elapsed.TotalSeconds);
            if (status.Sweeps.Single().Completed != plan.Runs.Length) throw new InvalidOperationException("replay lost runs");
            system.Terminate().Wait();
        }
        return (journal.Count, times.Order().ElementAt(1));
    }

    /// <summary>Writes prepared events under the coordinator's persistence id.</summary>
    sealed class JournalWriter : ReceivePersistentActor
    {
        public override string PersistenceId => SweepCoordinator.JournalId;

        public JournalWriter()
        {
            Recover<object>(_ => { });
            Command<ISweepEvent[]>(events =>
            {
                var sender = Sender;
                var left = events.Length;
                PersistAll(events, _ => { if (--left == 0) sender.Tell("ok"); });
            });
        }
    }
}
